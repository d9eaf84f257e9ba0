#!/usr/bin/python3
"""test_gpx_to_nmea.py -- gpx_to_nmea.py keeps sub-second times (the points of a 1 Hz track with
fractional times are not merged) and writes <fix>none</fix> as no fix (issue 14 item 5)."""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))

GPX = """<?xml version="1.0"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>
<trkpt lat="49.2" lon="119.75"><time>2026-01-02T03:04:05.250Z</time><fix>3d</fix></trkpt>
<trkpt lat="49.2001" lon="119.75"><time>2026-01-02T03:04:05.750Z</time><fix>3d</fix></trkpt>
<trkpt lat="49.2002" lon="119.75"><time>2026-01-02T03:04:06.5Z</time><fix>none</fix></trkpt>
<trkpt lat="49.2003" lon="119.75"><time>2026-01-02T03:04:07Z</time><fix>2d</fix></trkpt>
</trkseg></trk></gpx>
"""


class GpxToNmea(unittest.TestCase):
    def convert(self):
        d = tempfile.mkdtemp()
        with open(os.path.join(d, "t.gpx"), "w") as f:
            f.write(GPX)
        out = subprocess.run([sys.executable, os.path.join(HERE, "gpx_to_nmea.py"),
                              os.path.join(d, "t.gpx"), os.path.join(d, "t")],
                             check=True, capture_output=True, text=True).stdout
        with open(os.path.join(d, "t.1.nmea"), newline="") as f:
            nmea = f.read().split("\r\n")
        with open(os.path.join(d, "t.csv")) as f:
            csv = f.read().splitlines()
        return out, nmea, csv

    def test_sub_second_times_are_kept(self):
        out, nmea, csv = self.convert()
        self.assertEqual(out.strip(), "points=4")
        rmc = [s for s in nmea if s.startswith("$GPRMC")]
        self.assertEqual([s.split(",")[1] for s in rmc],
                         ["030405.25", "030405.75", "030406.50", "030407.00"])
        self.assertEqual([line.split(",")[0] for line in csv],
                         ["1767323045250", "1767323045750", "1767323047000"])

    def test_no_fix_stays_no_fix(self):
        _, nmea, csv = self.convert()
        rmc = [s.split(",") for s in nmea if s.startswith("$GPRMC")]
        gga = [s.split(",") for s in nmea if s.startswith("$GPGGA")]
        gsa = [s.split(",") for s in nmea if s.startswith("$GPGSA")]
        self.assertEqual([r[2] for r in rmc], ["A", "A", "V", "A"])
        self.assertEqual([g[6] for g in gga], ["1", "1", "0", "1"])
        self.assertEqual([g[2] for g in gsa], ["3", "3", "1", "2"])
        self.assertEqual(len(csv), 3)  # the point without a fix is not expected to be stored


if __name__ == "__main__":
    unittest.main()
