#!/usr/bin/python3
"""check_exports.py -- an independent check of GET /v1/vehicles/{id}/route (docs/tracking-api.md).

Reads the vehicle's stored fixes of [from, to) straight from Redis (its own RESP client, the
day keys documented in dispatch/app/ingest.h), downloads the export in every format over HTTP, and
parses each with the standard library only -- json (floats kept as Decimal), xml.etree for GPX
1.1, csv for CSV -- checking that each is well-formed and holds every stored fix of the range,
in stored order, with exact coordinates and times. Shares no code with dispatchd.

Run by tests/integration/test_v1_route.c against the stack it starts:
  check_exports.py --http-port P --redis-port R --token T --vehicle V --from F --to T
Exit status 0 when every format checks out, 1 otherwise (the reasons on stderr).
"""
import argparse
import csv
import datetime
import http.client
import io
import json
import os
import socket
import sys
import urllib.parse
import xml.etree.ElementTree as ET
from decimal import Decimal

GPX_NS = "{http://www.topografix.com/GPX/1/1}"
DAY_MS = 86400000


def resp_command(sock_file, sock, *args):
    """Sends one command, returns the decoded RESP2 reply."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)
    return resp_read(sock_file)


def resp_read(f):
    line = f.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError("redis error: " + rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [resp_read(f) for _ in range(n)]
    raise RuntimeError("unexpected RESP reply %r" % line)


def parse_instant(s):
    """RFC 3339 -> UTC ms (what the test passes: Z or an offset, optional fraction)."""
    dt = datetime.datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    return int(round(dt.timestamp() * 1000))


def fmt_instant(ms):
    dt = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def e7(v):
    return Decimal(v) / Decimal(10000000)


def stored_fixes(args, from_ms, to_ms):
    sock = socket.create_connection(("127.0.0.1", args.redis_port))
    f = sock.makefile("rb")
    if args.redis_password:  # a Redis with requirepass (deploy/redis.conf)
        resp_command(f, sock, "AUTH", args.redis_password)
    fixes = []
    for day in range(from_ms // DAY_MS, (to_ms - 1) // DAY_MS + 1):
        date = datetime.datetime.fromtimestamp(day * 86400, datetime.timezone.utc)
        key = "%sroute:%s:%s" % (args.prefix, args.vehicle, date.strftime("%Y%m%d"))
        members = resp_command(f, sock, "ZRANGEBYSCORE", key, from_ms, "(%d" % to_ms)
        for m in members:
            p = m.decode().split(":")
            fixes.append({"seq": int(p[0]), "time_ms": int(p[1]), "lat_e7": int(p[2]),
                          "lon_e7": int(p[3]), "late": bool(int(p[8]) & 2)})
    sock.close()
    return fixes


def fetch(args, fmt):
    q = urllib.parse.urlencode({"from": args.from_, "to": args.to, "format": fmt})
    conn = http.client.HTTPConnection("127.0.0.1", args.http_port, timeout=60)
    conn.request("GET", "/v1/vehicles/%s/route?%s" % (args.vehicle, q),
                 headers={"Authorization": "Bearer " + args.token})
    r = conn.getresponse()
    body = r.read()  # raises IncompleteRead if the chunked stream was cut
    conn.close()
    return r.status, r.getheader("Content-Type", ""), r.getheader("Content-Disposition"), body


class Checker:
    def __init__(self):
        self.errors = []

    def expect(self, cond, what):
        if not cond:
            self.errors.append(what)
        return cond


def check_json(c, want, body):
    doc = json.loads(body, parse_float=Decimal)
    fixes = doc["fixes"]
    c.expect(doc["count"] == len(want), "json: count %s, stored %d" % (doc["count"], len(want)))
    c.expect([x["seq"] for x in fixes] == [w["seq"] for w in want], "json: seqs differ")
    for x, w in zip(fixes, want):
        if not c.expect(x["time"] == fmt_instant(w["time_ms"]) and x["lat"] == e7(w["lat_e7"])
                        and x["lon"] == e7(w["lon_e7"]) and x["late"] == w["late"],
                        "json: fix %s differs: %r vs %r" % (w["seq"], x, w)):
            break


def check_geojson(c, want, body):
    doc = json.loads(body, parse_float=Decimal)
    c.expect(doc["type"] == "Feature", "geojson: not a Feature")
    times = doc["properties"]["times"]
    c.expect(times == [fmt_instant(w["time_ms"]) for w in want], "geojson: times differ")
    g = doc["geometry"]
    positions = [[e7(w["lon_e7"]), e7(w["lat_e7"])] for w in want]
    if len(want) == 0:
        c.expect(g is None, "geojson: no fix, geometry should be null")
    elif len(want) == 1:
        c.expect(g["type"] == "Point" and g["coordinates"] == positions[0], "geojson: Point")
    else:
        c.expect(g["type"] == "LineString", "geojson: not a LineString")
        c.expect(g["coordinates"] == positions, "geojson: coordinates differ")


def check_gpx(c, want, body):
    root = ET.fromstring(body)
    c.expect(root.tag == GPX_NS + "gpx" and root.get("version") == "1.1", "gpx: root")
    c.expect(body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), "gpx: declaration")
    pts = root.findall("./%strk/%strkseg/%strkpt" % (GPX_NS, GPX_NS, GPX_NS))
    c.expect(len(pts) == len(want), "gpx: %d trkpt, stored %d" % (len(pts), len(want)))
    for p, w in zip(pts, want):
        t = p.find(GPX_NS + "time")
        if not c.expect(Decimal(p.get("lat")) == e7(w["lat_e7"]) and
                        Decimal(p.get("lon")) == e7(w["lon_e7"]) and t is not None and
                        t.text == fmt_instant(w["time_ms"]),
                        "gpx: fix %s differs" % w["seq"]):
            break


def check_csv(c, want, body):
    text = body.decode("utf-8")
    c.expect(text.endswith("# end: %d fixes\r\n" % len(want)), "csv: no end line")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    c.expect(rows[0] == ["seq", "time", "lat", "lon", "speed_kmh", "heading_deg", "accuracy_m",
                         "mode", "late", "speed_derived", "status", "alarm", "altitude_m",
                         "mileage_km", "fuel_l", "recorder_speed_kmh", "signal", "satellites"],
             "csv: header %r" % rows[0])
    c.expect(rows[-1] == ["# end: %d fixes" % len(want)], "csv: last row %r" % rows[-1])
    data = rows[1:-1]
    c.expect(len(data) == len(want), "csv: %d records, stored %d" % (len(data), len(want)))
    for r, w in zip(data, want):
        if not c.expect(r[0] == str(w["seq"]) and r[1] == fmt_instant(w["time_ms"]) and
                        Decimal(r[2]) == e7(w["lat_e7"]) and Decimal(r[3]) == e7(w["lon_e7"]) and
                        r[8] == ("true" if w["late"] else "false") and len(r) == 18,
                        "csv: fix %s differs: %r" % (w["seq"], r)):
            break


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--http-port", type=int, required=True)
    ap.add_argument("--redis-port", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--vehicle", required=True)
    ap.add_argument("--from", dest="from_", required=True)
    ap.add_argument("--to", required=True)
    ap.add_argument("--prefix", default="lpg:")
    ap.add_argument("--redis-password", default=os.environ.get("LPG_REDIS_PASSWORD"),
                    help="AUTH password of Redis (default: $LPG_REDIS_PASSWORD)")
    ap.add_argument("--min-fixes", type=int, default=0,
                    help="fail unless Redis holds at least this many fixes in the range")
    args = ap.parse_args()
    want = stored_fixes(args, parse_instant(args.from_), parse_instant(args.to))
    c = Checker()
    c.expect(len(want) >= args.min_fixes, "only %d fixes stored in the range" % len(want))
    checks = {"json": ("application/json", check_json),
              "geojson": ("application/geo+json", check_geojson),
              "gpx": ("application/gpx+xml", check_gpx),
              "csv": ("text/csv", check_csv)}
    for fmt, (ctype, fn) in checks.items():
        try:
            status, got_type, disp, body = fetch(args, fmt)
            c.expect(status == 200, "%s: status %d" % (fmt, status))
            c.expect(got_type.startswith(ctype), "%s: Content-Type %s" % (fmt, got_type))
            if fmt in ("gpx", "csv"):
                c.expect(disp is not None and disp.endswith('.%s"' % fmt),
                         "%s: Content-Disposition %s" % (fmt, disp))
            fn(c, want, body)
        except Exception as e:  # malformed documents land here
            c.errors.append("%s: %s: %s" % (fmt, type(e).__name__, e))
    for e in c.errors:
        print("check_exports: " + e, file=sys.stderr)
    print("check_exports: %s..%s: %d stored fixes, 4 formats: %s" %
          (args.from_, args.to, len(want), "FAILED" if c.errors else "ok"))
    return 1 if c.errors else 0


if __name__ == "__main__":
    sys.exit(main())
