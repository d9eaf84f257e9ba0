#!/usr/bin/python3
"""gpx_to_nmea.py -- turns a GPX drive into NMEA 0183 sentences a receiver would send, so a real
gpsd can replay it (the recorded GPX drives have no NMEA form).

  gpx_to_nmea.py GPX OUT_PREFIX [SPLIT]

Per track point with a time, in order: GPRMC (time, date, status A, position, speed in knots,
course when the GPX has one, else empty), GPGGA (quality 1, satellites, HDOP, altitude) and
GPGSA (the GPX <fix> as mode 2/3). Positions are written with 6 decimals of minutes (about
2 mm), speeds with 3 decimals of knots. The times are the GPX's own.

Writes OUT_PREFIX.1.nmea with the first SPLIT fraction (default 1.0) of the points,
OUT_PREFIX.2.nmea with the rest, and OUT_PREFIX.csv with one line per point:
time_ms,lat,lon,speed_m_s (speed empty when the GPX has none). Prints "points=N".
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


def local(tag):
    return tag.rsplit("}", 1)[-1]


def main():
    gpx, prefix = sys.argv[1], sys.argv[2]
    split = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    pts = []
    for el in ET.parse(gpx).getroot().iter():
        if local(el.tag) != "trkpt":
            continue
        kids = {local(k.tag): (k.text or "").strip() for k in el}
        if "time" not in kids:
            continue
        t = calendar.timegm(time.strptime(kids["time"][:19], "%Y-%m-%dT%H:%M:%S"))
        pts.append((t, float(el.get("lat")), float(el.get("lon")), kids.get("speed"),
                    kids.get("course"), kids.get("sat", "8"), kids.get("hdop", "1.0"),
                    kids.get("ele", "0"), kids.get("fix", "3d")))
    cut = int(len(pts) * split)
    outs = [open(prefix + ".1.nmea", "w", newline=""), open(prefix + ".2.nmea", "w", newline="")]
    with open(prefix + ".csv", "w") as ref:
        for i, (t, lat, lon, spd, crs, sat, hdop, ele, fix) in enumerate(pts):
            out = outs[0] if i < cut else outs[1]
            tm = time.gmtime(t)
            hms = time.strftime("%H%M%S", tm) + ".00"
            dmy = time.strftime("%d%m%y", tm)
            la, ns = dm(lat, "N", "S", 2)
            lo, ew = dm(lon, "E", "W", 3)
            knots = "%.3f" % (float(spd) / 0.514444) if spd else ""
            course = "%.1f" % float(crs) if crs else ""
            out.write(cksum("GPRMC,%s,A,%s,%s,%s,%s,%s,%s,%s,,,A"
                            % (hms, la, ns, lo, ew, knots, course, dmy)))
            out.write(cksum("GPGGA,%s,%s,%s,%s,%s,1,%02d,%s,%s,M,0.0,M,,"
                            % (hms, la, ns, lo, ew, int(sat), hdop, ele)))
            out.write(cksum("GPGSA,A,%d,,,,,,,,,,,,,1.0,%s,1.0"
                            % (2 if fix == "2d" else 3, hdop)))
            ref.write("%d,%.9f,%.9f,%s\n" % (t * 1000, lat, lon, spd or ""))
    for o in outs:
        o.close()
    print("points=%d" % len(pts))


if __name__ == "__main__":
    main()
