#!/usr/bin/python3
"""test_narration.py -- the demo's narration (deploy/demo/narrate.py), without a demo running.

  - a line is at most 100 columns, shortened with "…";
  - colour on a terminal, none in a pipe, none on a terminal with NO_COLOR set;
  - details go to the log file only (LPG_DEMO_VERBOSE shows them);
  - an alert of the live feed whose episode started before this run is not narrated as news
    (the log keeps it), one of this run is; an episode's end is a detail;
  - orders the demo's dispatcher narrated are not narrated again from the feed, except a
    waiting one assigned later; another client's order is.

Usage: test_narration.py SOURCE_DIR
"""

import io
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.abspath(sys.argv.pop(1)), "deploy", "demo"))
import narrate  # noqa: E402


class Tty(io.StringIO):
    def isatty(self):
        return True


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


class NarrationTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.log_path = os.path.join(self.dir.name, "demo.log")
        os.environ.pop("NO_COLOR", None)
        os.environ.pop("LPG_DEMO_VERBOSE", None)

    def tearDown(self):
        self.dir.cleanup()

    def narrator(self, out, **kw):
        n = narrate.Narrator(out=out, log_path=self.log_path, **kw)
        self.addCleanup(n.close)
        return n

    def log(self):
        with open(self.log_path, encoding="utf-8") as f:
            return f.read()

    def test_width(self):
        out = io.StringIO()
        n = self.narrator(out)
        n.say("dispatcher", "order o-1207035935-underground for c-1799 (1 x YSP-35.5) REFUSED 422 "
              "premises_underground: customer c-1799's premises are underground")
        line = out.getvalue().rstrip("\n")
        self.assertEqual(len(line), 100)
        self.assertTrue(line.endswith("…"))
        self.assertIn("premises_underground: customer c-1799's premises are underground",
                      self.log())  # the log keeps it whole

    def test_colour_on_a_terminal_only(self):
        tty, pipe = Tty(), io.StringIO()
        self.narrator(tty).say("alert", "v-103 overspeed: 75.0 km/h", tone="alert")
        self.narrator(pipe).say("alert", "v-103 overspeed: 75.0 km/h", tone="alert")
        self.assertIn("\033[31m", tty.getvalue())
        self.assertNotIn("\033", pipe.getvalue())
        self.assertNotIn("\033", self.log())
        os.environ["NO_COLOR"] = "1"
        quiet = Tty()
        self.narrator(quiet).say("alert", "v-103 overspeed: 75.0 km/h", tone="alert")
        self.assertNotIn("\033", quiet.getvalue())
        self.assertLessEqual(len(tty.getvalue().replace("\033[31m", "").replace(
            "\033[2m", "").replace("\033[1m", "").replace("\033[0m", "").rstrip("\n")), 100)

    def test_details_in_the_log_only(self):
        out = io.StringIO()
        n = self.narrator(out)
        n.say("v-101 s-wang", "loaded CY-101-1", detail=True)
        self.assertEqual(out.getvalue(), "")
        self.assertIn("loaded CY-101-1", self.log())
        os.environ["LPG_DEMO_VERBOSE"] = "1"
        loud = io.StringIO()
        self.narrator(loud).say("v-101 s-wang", "loaded CY-101-2", detail=True)
        self.assertIn("loaded CY-101-2", loud.getvalue())

    def test_old_episodes_are_not_news(self):
        out = io.StringIO()
        start = time.time()
        n = self.narrator(out, run_start=start)
        old = {"vehicle_id": "v-202", "rule": "overspeed", "kind": "violation_end",
               "start": iso(start - 600), "message": "overspeed ended: max 89.0 km/h"}
        n.feed_event("alert", old)
        n.feed_event("alert", dict(old, kind="violation_start", message="overspeed: 89.0 km/h"))
        self.assertEqual(out.getvalue(), "", "an episode of an earlier run narrated as new")
        self.assertIn("before this run", self.log())
        new = dict(old, kind="violation_start", start=iso(start + 3),
                   message="overspeed: 75.0 km/h over the 60 km/h limit for 10.0 s")
        n.feed_event("alert", new)
        self.assertIn("v-202 overspeed: 75.0 km/h over the 60 km/h limit", out.getvalue())
        self.assertEqual(out.getvalue().count("\n"), 1)
        n.feed_event("alert", dict(new, kind="violation_end", message="overspeed ended"))
        self.assertEqual(out.getvalue().count("\n"), 1, "an episode's end is a detail")
        n.feed_event("alert", {"vehicle_id": "v-106", "rule": "hazard", "start": iso(start + 9),
                               "kind": "violation_start", "message": "safety check failed"})
        self.assertIn("v-106 hazard: safety check failed", out.getvalue())

    def test_orders_said_once(self):
        out = io.StringIO()
        n = self.narrator(out)
        n.own_orders["o-1"] = "posting"  # the feed's event comes before the POST's answer
        n.feed_event("order", {"order": {"id": "o-1", "state": "assigned", "staff_id": "s-wang"}})
        n.own_orders["o-2"] = "created"
        n.feed_event("order", {"order": {"id": "o-2", "state": "assigned", "staff_id": "s-li",
                                         "vehicle_id": "v-108"}})
        n.own_orders["o-3"] = "cancelled"
        n.feed_event("order", {"order": {"id": "o-3", "state": "cancelled", "reason": "x"}})
        n.feed_event("order", {"order": {"id": "x-9", "state": "created", "reason": "no staff"}})
        n.feed_event("order", {"order": {"id": "x-9", "state": "loaded"}})
        lines = out.getvalue().splitlines()
        self.assertEqual(len(lines), 2, lines)
        self.assertIn("o-2, which waited, now assigned to s-li (v-108)", lines[0])
        self.assertIn("order x-9 created no staff", lines[1])


if __name__ == "__main__":
    unittest.main(verbosity=2)
