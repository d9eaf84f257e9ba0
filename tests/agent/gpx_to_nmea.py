#!/usr/bin/python3
"""gpx_to_nmea.py -- turns a GPX drive into NMEA 0183 sentences a receiver would send, so a real
gpsd can replay it (the recorded GPX drives have no NMEA form).

  gpx_to_nmea.py GPX OUT_PREFIX [SPLIT] [--center LAT,LON] [--start EPOCH_S] [--skip S]

Per track point with a time, in order: GPRMC (time, date, status A, position, speed in knots,
course when the GPX has one, else empty), GPGGA (quality 1, satellites, HDOP, altitude) and
GPGSA (the GPX <fix> as mode 2/3). Positions are written with 6 decimals of minutes (about
2 mm), speeds with 3 decimals of knots. The times are the GPX's own, fractions of a second kept
(NMEA hhmmss.ss: to the hundredth), so the points of a track with fractional times are never
merged. A point with <fix>none</fix> is written as a receiver without a fix writes it: GPRMC
status V, GPGGA quality 0, GPGSA mode 1 (and it has no line in the CSV: nothing is stored).

Writes OUT_PREFIX.1.nmea with the first SPLIT fraction (default 1.0) of the points,
OUT_PREFIX.2.nmea with the rest, and OUT_PREFIX.csv with one line per point with a fix:
time_ms,lat,lon,speed_m_s (speed empty when the GPX has none). Prints "points=N".

For the live demo (deploy/run.sh, start_vehicle_units), the drive can be moved elsewhere and to now: --center moves
it so its bounding box is centred on LAT,LON (shapes and speeds kept); --skip drops the first S
seconds; --start re-times it to one point per second from EPOCH_S (a repeated time is
dropped), so a replay paced at one point a second never runs ahead of the clock.
"""
import calendar
import sys
import time
import xml.etree.ElementTree as ET


def cksum(body):
    c = 0
    for ch in body.encode("ascii"):
        c ^= ch
    return "$%s*%02X\r\n" % (body, c)


def dm(value, pos, neg, deg_digits):
    hemi = pos if value >= 0 else neg
    v = abs(value)
    d = int(v)
    m = (v - d) * 60.0
    return "%0*d%09.6f" % (deg_digits, d, m), hemi


def gpx_time(text):
    """Seconds since the epoch of an xsd:dateTime in UTC, with its fraction ("…:07.25Z")."""
    t = calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
    frac = text[19:].rstrip("Z")
    if frac.startswith("."):
        digits = "".join(ch for ch in frac[1:] if ch.isdigit())
        if digits:
            t += int(digits) / 10.0 ** len(digits)
    return t


def local(tag):
    return tag.rsplit("}", 1)[-1]


def main():
    args = sys.argv[1:]
    opts = {}
    for name in ("--center", "--start", "--skip"):
        if name in args:
            i = args.index(name)
            opts[name] = args[i + 1]
            del args[i:i + 2]
    gpx, prefix = args[0], args[1]
    split = float(args[2]) if len(args) > 2 else 1.0
    pts = []
    for el in ET.parse(gpx).getroot().iter():
        if local(el.tag) != "trkpt":
            continue
        kids = {local(k.tag): (k.text or "").strip() for k in el}
        if "time" not in kids:
            continue
        t = gpx_time(kids["time"])
        pts.append((t, float(el.get("lat")), float(el.get("lon")), kids.get("speed"),
                    kids.get("course"), kids.get("sat", "8"), kids.get("hdop", "1.0"),
                    kids.get("ele", "0"), kids.get("fix", "3d")))
    if "--skip" in opts:
        t0 = pts[0][0] + float(opts["--skip"])
        pts = [p for p in pts if p[0] >= t0]
    if "--center" in opts:
        clat, clon = (float(v) for v in opts["--center"].split(","))
        dlat = clat - (min(p[1] for p in pts) + max(p[1] for p in pts)) / 2
        dlon = clon - (min(p[2] for p in pts) + max(p[2] for p in pts)) / 2
        pts = [(p[0], p[1] + dlat, p[2] + dlon) + p[3:] for p in pts]
    if "--start" in opts:
        start, seen, kept = int(opts["--start"]), set(), []
        for p in pts:
            if p[0] not in seen:
                seen.add(p[0])
                kept.append(p)
        pts = [(start + i,) + p[1:] for i, p in enumerate(kept)]
    cut = int(len(pts) * split)
    outs = [open(prefix + ".1.nmea", "w", newline=""), open(prefix + ".2.nmea", "w", newline="")]
    with open(prefix + ".csv", "w") as ref:
        for i, (t, lat, lon, spd, crs, sat, hdop, ele, fix) in enumerate(pts):
            out = outs[0] if i < cut else outs[1]
            cs = int(round(t * 100))  # hundredths: NMEA's resolution
            tm = time.gmtime(cs // 100)
            hms = time.strftime("%H%M%S", tm) + ".%02d" % (cs % 100)
            dmy = time.strftime("%d%m%y", tm)
            nofix = fix == "none"
            la, ns = dm(lat, "N", "S", 2)
            lo, ew = dm(lon, "E", "W", 3)
            knots = "%.3f" % (float(spd) / 0.514444) if spd else ""
            course = "%.1f" % float(crs) if crs else ""
            out.write(cksum("GPRMC,%s,%s,%s,%s,%s,%s,%s,%s,%s,,,%s"
                            % (hms, "V" if nofix else "A", la, ns, lo, ew, knots, course, dmy,
                               "N" if nofix else "A")))
            out.write(cksum("GPGGA,%s,%s,%s,%s,%s,%d,%02d,%s,%s,M,0.0,M,,"
                            % (hms, la, ns, lo, ew, 0 if nofix else 1, int(sat), hdop, ele)))
            out.write(cksum("GPGSA,A,%d,,,,,,,,,,,,,1.0,%s,1.0"
                            % (1 if nofix else 2 if fix == "2d" else 3, hdop)))
            if not nofix:
                ref.write("%d,%.9f,%.9f,%s\n" % (cs * 10, lat, lon, spd or ""))
    for o in outs:
        o.close()
    print("points=%d" % len(pts))


if __name__ == "__main__":
    main()
