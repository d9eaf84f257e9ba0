"""narrate.py -- the demo's narration (docs/demo.md): what the terminal shows, what the log keeps.

One line per event that matters, at most WIDTH (100) columns, on standard output; colour when
that is a terminal and NO_COLOR is not set (https://no-color.org), none in a pipe or file.
Every line, the details included (each scan, each cylinder handed over, the trips closed) and
unshortened, also goes to the log file (var/log/demo.log), without colour. LPG_DEMO_VERBOSE=1
shows the details on the terminal too.

The live feed's events are filtered here (Narrator.feed_event): an alert whose episode started
before this run of the demo (a vehicle unit's spooled fixes, a violation left open when the
last run stopped) is not news: it goes to the log only. Orders the demo itself created or
cancelled are narrated by the dispatcher and the handsets, so the feed adds only what they do
not say (a waiting order assigned later, orders of other clients).

No import beyond the standard library, so that tests/deploy/test_narration.py can test it.
"""

import datetime
import os
import sys
import threading
import time

WIDTH = 100
WHO_WIDTH = 13
# ANSI SGR colours per tone of a line.
TONES = {"alert": "31", "refused": "33", "waiting": "33", "good": "32", "info": ""}
# How far before this run's start an alert's episode may begin and still be this run's: the
# clocks of the demo and of dispatchd are the same, the slack covers the start-up itself.
OLD_SLACK_S = 5.0


def parse_instant(text):
    """Seconds since the epoch of "2026-11-28T22:33:54.891Z"; None if not that shape."""
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


def alert_text(a):
    """An alert of the live feed as narrated: "v-103 overspeed: 75.0 km/h over ..." (the rule
    named once: most messages start with it)."""
    rule, msg = a.get("rule") or "", a.get("message") or ""
    if msg.lower().startswith(rule.replace("_", " ")):
        return "%s %s" % (a.get("vehicle_id"), msg)
    return "%s %s: %s" % (a.get("vehicle_id"), rule, msg)


class Narrator:
    def __init__(self, out=None, log_path=None, colour=None, verbose=None, run_start=None,
                 width=WIDTH):
        self.out = out if out is not None else sys.stdout
        if colour is None:
            colour = bool(getattr(self.out, "isatty", lambda: False)()) and \
                not os.environ.get("NO_COLOR")
        self.colour = colour
        if verbose is None:
            verbose = os.environ.get("LPG_DEMO_VERBOSE", "") not in ("", "0")
        self.verbose = verbose
        self.width = width
        self.start_mono = time.monotonic()
        self.run_start = run_start if run_start is not None else time.time()
        self.lock = threading.Lock()
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None
        # Orders this run's dispatcher narrates itself: id -> the state it said ("posting"
        # while its request is under way, "assigned", "created", "cancelled").
        self.own_orders = {}

    def close(self):
        if self.log:
            self.log.close()
            self.log = None

    # ---- lines ----

    def line(self, who, msg, tone="info"):
        """The terminal's form: time, who, message, shortened to the width."""
        head = "%6.1fs %-*s " % (time.monotonic() - self.start_mono, WHO_WIDTH, who[:WHO_WIDTH])
        room = self.width - len(head)
        if len(msg) > room:
            msg = msg[:room - 1] + "…"
        if not self.colour:
            return head + msg
        code = TONES.get(tone, "")
        who_part = head[7:]
        text = "\033[%sm%s\033[0m" % (code, msg) if code else msg
        return "\033[2m%s\033[0m\033[1m%s\033[0m%s" % (head[:7], who_part, text)

    def say(self, who, msg, tone="info", detail=False):
        """An event (detail=False: on the terminal) or a detail (the log only, unless verbose)."""
        with self.lock:
            if self.log:
                self.log.write("%s %-*s %s%s\n" % (
                    time.strftime("%H:%M:%S"), WHO_WIDTH, who, "" if not detail else "· ", msg))
                self.log.flush()
            if detail and not self.verbose:
                return
            self.out.write(self.line(who, msg, tone) + "\n")
            self.out.flush()

    def block(self, text):
        """A block of text (the where-to-look guide), as it is, on the terminal and in the log."""
        with self.lock:
            if self.log:
                self.log.write(text if text.endswith("\n") else text + "\n")
                self.log.flush()
            self.out.write(text if text.endswith("\n") else text + "\n")
            self.out.flush()

    # ---- the live feed ----

    def is_old(self, alert):
        start = parse_instant(alert.get("start"))
        return start is not None and start < self.run_start - OLD_SLACK_S

    def feed_event(self, event, data):
        if event == "alert":
            self.feed_alert(data)
        elif event == "order":
            self.feed_order(data.get("order", {}))

    def feed_alert(self, a):
        what = alert_text(a)
        if self.is_old(a):
            self.say("alert", "(an episode from before this run, started %s) %s" %
                     (a.get("start"), what), detail=True)
            return
        kind = a.get("kind")
        if kind == "violation_end":  # the episode's record; its start was the news
            self.say("alert", what, detail=True)
        else:
            self.say("alert", what, tone="alert" if kind == "violation_start" else "waiting")

    def feed_order(self, o):
        oid, state = o.get("id"), o.get("state")
        extra = o.get("reason") or ""
        if state == "assigned":
            extra = "to %s (%s)" % (o.get("staff_id"), o.get("vehicle_id"))
        line = "order %s %s %s" % (oid, state, extra)
        said = self.own_orders.get(oid)
        if said is not None:
            # The dispatcher and the handsets say what they did; news is only a waiting order
            # of theirs that the service assigned later by itself.
            if state == "assigned" and said == "created":
                self.own_orders[oid] = "assigned"
                self.say("feed", "order %s, which waited, now assigned %s" % (oid, extra),
                         tone="good")
            else:
                self.say("feed", line, detail=True)
            return
        # Another client's order (a dispatcher trying the API); the handset steps are details.
        detail = state in ("accepted", "loaded", "en_route", "arrived")
        self.say("feed", line, tone={"failed": "alert", "created": "waiting",
                                     "delivered": "good"}.get(state, "info"), detail=detail)
