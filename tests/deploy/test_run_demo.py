#!/usr/bin/python3
"""test_run_demo.py -- the live demo of deploy/run.sh (docs/demo.md), end to end.

Runs deploy/run.sh with the demo on free ports, in a private data directory; checks that it
prints where to look (the endpoints, the token file), and asserts over the HTTP API, within
DEMO_DEADLINE (200 s; about 60 s on an idle machine) of the demo starting, that:
  - every simulated vehicle reported positions (GET /v1/vehicles/{id}/position), and the
    speeding vehicle's route exports as GeoJSON with its fixes; the two vehicle units (recorded
    drives replayed by gpsfake's engine into a real gpsd, read by lpg-agent) reported too, and
    so did the JT/T 808 truck v-301 (lpg-jt808-sim registering, authenticating, replaying);
  - orders were assigned and delivered (at least 5 delivered), the order in the zone of the
    expired certificate waits with that reason, the failed check's order failed (hazard);
  - the order to the underground customer was refused (422 premises_underground, narrated) and
    nothing was stored for it; the loading of the overdue cylinder was refused
    (scan_refused / overdue_inspection in the audit record);
  - alerts overspeed, roadside_sale (vehicle_moving and not_at_customer), hazard and
    load_mismatch exist; a hazard notice exists for the customer whose check failed, closed by
    the re-inspection, and the customer is active again;
  - the audit chain verifies;
then SIGTERM: run.sh stops within 15 s, dispatchd stopped cleanly, no process (lpg-agent and
gpsd included) is left and no
port answers. A second, short run on the same data reloads it (409s taken as "already there")
and gets its fleet going again (cylinders loaded for new orders).

Usage: test_run_demo.py SOURCE_DIR [BUILD_DIR]   (BUILD_DIR: the release build run.sh uses;
default a private one, which makes the test slow). LPG_KEEP_TMP=1 keeps the directory.
"""

import json
import os
import pty
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

# Seconds after the demo started for everything to have happened. The demo does it all in about
# a minute on an idle machine; the checks end as soon as they hold, so a generous deadline costs
# nothing there and keeps a busy 2-core machine (CI beside other jobs) green.
DEMO_DEADLINE = 200.0


class Failure(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Run:
    """One deploy/run.sh, its output in run.log: through a pipe, or (tty=True) on a
    pseudo-terminal, as a newcomer's terminal, whose keys press() types."""

    def __init__(self, src, env, log_path, tty=False):
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.master = None
        if tty:
            self.master, slave = pty.openpty()
            self.p = subprocess.Popen([os.path.join(src, "deploy", "run.sh")], env=env,
                                      stdin=slave, stdout=slave, stderr=slave,
                                      start_new_session=True)
            os.close(slave)
            self.copier = threading.Thread(target=self._copy, daemon=True)
            self.copier.start()
        else:
            self.p = subprocess.Popen([os.path.join(src, "deploy", "run.sh")], env=env,
                                      stdin=subprocess.DEVNULL, stdout=self.log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        self.start_offset = os.path.getsize(log_path)

    def _copy(self):
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                return
            if not data:
                return
            self.log.write(data)
            self.log.flush()

    def press(self, keys):
        os.write(self.master, keys)

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def own_text(self):
        """This run's part of run.log."""
        with open(self.log_path, "rb") as f:
            f.seek(self.start_offset)
            return f.read().decode("utf-8", "replace")

    def wait_for(self, needle, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text():
                return
            if self.p.poll() is not None:
                raise Failure("run.sh exited (%d) before printing %r" % (self.p.returncode,
                                                                         needle))
            time.sleep(0.2)
        raise Failure("run.sh did not print %r within %.0f s" % (needle, timeout))

    def stop(self, timeout=15):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
            raise Failure("run.sh did not stop within %d s of SIGTERM" % timeout)
        finally:
            if self.master is not None:
                self.copier.join(5)
                os.close(self.master)
            self.log.close()


class Api:
    """The HTTP API over HTTPS, verified against run.sh's private CA (var/tls/ca.pem)."""

    def __init__(self, port, token, ca):
        self.base = "https://127.0.0.1:%d" % port
        self.token = token
        self.tls = ssl.create_default_context(cafile=ca)

    def get(self, path):
        req = urllib.request.Request(self.base + path,
                                     headers={"Authorization": "Bearer " + self.token})
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.tls) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")


def read(path):
    with open(path) as f:
        return f.read().strip()


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "deploy", "demo"))
import narrate  # noqa: E402  (the narration's own formatting of an alert)

ANSI = re.compile(r"\033\[[0-9;]*m")
NARRATED = re.compile(r"^ *\d+\.\ds (\S+(?: \S+)?) +(.*)$")


def narration(text):
    """[(who, message)] of the narration's lines in run.sh's output, colour removed."""
    out = []
    for line in ANSI.sub("", text).splitlines():
        m = NARRATED.match(line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def need(cond, what):
    return None if cond else what


def j(out):
    try:
        return json.loads(out)
    except ValueError:
        return {}


# What each command of run.sh's guide (var/demo/guide.txt) says it shows, checked on its output
# once the demo's first minute is over: (a pattern of the command, output -> None or what is
# wrong). Every suggested command must match exactly one.
GUIDE_CHECKS = [
    (r"^api \$API/v1/orders\s", lambda o: need(
        {"delivered", "failed", "created"} <= {x["state"] for x in j(o).get("items", [])},
        "no delivered, failed and waiting orders")),
    (r"orders\?state=created", lambda o: need(
        any("qualification certificate expired" in (x.get("reason") or "")
            for x in j(o).get("items", [])), "no order waiting for the expired certificate")),
    (r"^api \$API/v1/alerts\s", lambda o: need(
        {"overspeed", "roadside_sale", "hazard", "load_mismatch"} <=
        {x["rule"] for x in j(o).get("items", [])}, "not every rule the comment names")),
    (r"/v1/hazards", lambda o: need(
        any(x["customer_id"] == "c-1601" and x["status"] == "closed"
            for x in j(o).get("items", [])), "no closed notice of c-1601")),
    (r"/v1/customers/c-1601", lambda o: need(j(o).get("status") == "active",
                                              "c-1601 not active")),
    (r"v-103/position", lambda o: need("lat" in j(o).get("fix", {}), "no fix of v-103")),
    (r"v-103/route\?.*format=geojson", lambda o: need(
        len(j(o).get("geometry", {}).get("coordinates", [])) > 10, "no route of v-103")),
    (r"v-101/load", lambda o: need("trip" in j(o), "no load of v-101")),
    (r"v-301/position", lambda o: need("lat" in j(o).get("fix", {}), "no fix of v-301")),
    (r"terminals/013800000301", lambda o: need(j(o).get("id") == "013800000301",
                                                "no terminal")),
    (r"cylinders/CY-HLR-0001-OVERDUE", lambda o: need(
        j(o).get("next_inspection", "9") < time.strftime("%Y-%m-%d"), "not overdue")),
    (r"kind=scan_refused", lambda o: need(
        {"overdue_inspection", "vehicle_moving", "not_at_customer"} <=
        {x["entry"]["data"].get("refusal") for x in j(o).get("items", [])},
        "not the three refusals")),
    (r"audit/verify", lambda o: need(j(o).get("ok") is True, "the chain does not verify")),
    (r"-N \$API/v1/events", lambda o: need(": lpg-dispatch live feed" in o and "event:" in o,
                                            "no event within 8 s")),
    (r"/metrics \| grep", lambda o: need(o.startswith("lpg_") and o.count("\n") > 20,
                                         "no metrics")),
    (r"lpg-agent --status", lambda o: need("acked=" in o and "server=up" in o,
                                           "no status of the vehicle unit")),
    (r"redis-cli .*--scan", lambda o: need(o.startswith("lpg:") and o.count("\n") > 50,
                                           "no keys")),
]


def check_guide(guide, src):
    """Runs every command of the guide with its setup lines, as a reader pastes them."""
    snippet = [l[4:] for l in guide.splitlines() if l.startswith("    ")]
    last_setup = max(i for i, l in enumerate(snippet) if "() {" in l)
    setup, commands = snippet[:last_setup + 1], [c for c in snippet[last_setup + 1:]
                                                 if not c.startswith("#")]
    if len(commands) < len(GUIDE_CHECKS):
        return ["the guide has %d commands, the test knows %d" % (len(commands),
                                                                  len(GUIDE_CHECKS))]
    bad = []
    for cmd in commands:
        checks_of = [f for pat, f in GUIDE_CHECKS if re.search(pat, cmd)]
        if len(checks_of) != 1:
            bad.append("%d checks for the guide's command %r" % (len(checks_of), cmd))
            continue
        stream = " -N " in cmd
        p = subprocess.run(["timeout", "8" if stream else "30", "bash", "--noprofile", "--norc",
                            "-c", "\n".join(setup + [cmd])], cwd=src, capture_output=True,
                           text=True)
        if p.returncode != 0 and not (stream and p.returncode == 124):
            bad.append("%r: status %d %s" % (cmd, p.returncode, p.stderr[-300:]))
            continue
        wrong = checks_of[0](p.stdout)
        if wrong:
            bad.append("%r does not show what it says: %s (output: %s)" % (cmd, wrong,
                                                                          p.stdout[:300]))
    return bad


def checks(api, admin, log_text):
    """Every assertion once; returns the list of those that do not hold (yet)."""
    bad = []
    fleet = ["v-%d" % n for n in range(101, 109)]
    for v in fleet:
        status, pos = api.get("/v1/vehicles/%s/position" % v)
        if status != 200:
            bad.append("no position of %s (HTTP %d %s)" % (v, status, pos))
    # The vehicle units: recorded drives through a real gpsd and lpg-agent.
    for v in ("v-201", "v-202"):
        status, pos = api.get("/v1/vehicles/%s/position" % v)
        if status != 200:
            bad.append("no position of vehicle unit %s (gpsd -> lpg-agent; HTTP %d %s)"
                       % (v, status, pos))
    # The JT/T 808 truck: lpg-jt808-sim registered, authenticated and reported its drive.
    status, pos = api.get("/v1/vehicles/v-301/position")
    if status != 200:
        bad.append("no position of the JT/T 808 truck v-301 (lpg-jt808-sim; HTTP %d %s)"
                   % (status, pos))
    # A window around now, not "today": the demo started minutes ago, and just after midnight
    # today's route would be nearly empty.
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    status, route = api.get("/v1/vehicles/v-103/route?from=%s&to=%s"
                            "&format=geojson" % (since, until))
    if status != 200 or len(json.dumps(route)) < 2000:
        bad.append("route of v-103 as GeoJSON: HTTP %d, %d bytes" % (status,
                                                                      len(json.dumps(route))))
    status, orders = api.get("/v1/orders?limit=1000")
    items = orders.get("items", []) if status == 200 else []
    by_state = {}
    for o in items:
        by_state.setdefault(o["state"], []).append(o)
    if len(by_state.get("delivered", [])) < 5:
        bad.append("%d orders delivered, want at least 5" % len(by_state.get("delivered", [])))
    if not any("qualification certificate expired" in (o["reason"] or "")
               for o in by_state.get("created", [])):
        bad.append("no order waiting for the expired certificate")
    if not any(o["reason"] == "hazard" for o in by_state.get("failed", [])):
        bad.append("no order failed for a hazard")
    if any(o["customer_id"] == "c-1799" for o in items):
        bad.append("an order to the underground customer c-1799 was stored")
    if "REFUSED 422 premises_underground" not in log_text:
        bad.append("the underground order's refusal (422 premises_underground) not narrated")
    status, refused = admin.get("/v1/audit/entries?kind=scan_refused&limit=1000")
    refusals = [e["entry"]["data"].get("refusal") for e in refused.get("items", [])] \
        if status == 200 else []
    for code in ("overdue_inspection", "vehicle_moving", "not_at_customer"):
        if code not in refusals:
            bad.append("no scan refused with %s in the audit record" % code)
    status, alerts = api.get("/v1/alerts?limit=500")
    rules = {a["rule"] for a in alerts.get("items", [])} if status == 200 else set()
    for rule in ("overspeed", "roadside_sale", "hazard", "load_mismatch"):
        if rule not in rules:
            bad.append("no %s alert (have %s)" % (rule, sorted(rules)))
    status, hazards = api.get("/v1/hazards?customer_id=c-1601")
    if status != 200 or not any(h["status"] == "closed" for h in hazards.get("items", [])):
        bad.append("no closed hazard notice for c-1601: %s" % (hazards,))
    status, cust = api.get("/v1/customers/c-1601")
    if status != 200 or cust.get("status") != "active":
        bad.append("c-1601 is not active again: %s" % (cust,))
    status, verdict = admin.get("/v1/audit/verify")
    if status != 200 or verdict.get("ok") is not True:
        bad.append("audit chain does not verify: HTTP %d %s" % (status, verdict))
    return bad


def main():
    src = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="lpg-rundemo.")
    ports = {"LPG_REDIS_PORT": free_port(), "LPG_HTTP_PORT": free_port(),
             "LPG_HANDSET_PORT": free_port(), "LPG_JT808_PORT": free_port()}
    env = dict(os.environ, LPG_VAR_DIR=os.path.join(work, "var"), LPG_DEMO="1",
               LPG_BUILD_DIR=os.path.abspath(sys.argv[2]) if len(sys.argv) > 2
               else os.path.join(work, "build"),
               **{k: str(v) for k, v in ports.items()})
    log_path = os.path.join(work, "run.log")
    state = os.path.join(work, "var", "demo")
    run = None
    ok = False
    try:
        t0 = time.monotonic()
        run = Run(src, env, log_path)
        run.wait_for("run: the demo is running", 300)
        started = time.monotonic()
        print("test_run_demo: demo running after %.1f s" % (started - t0), flush=True)
        for hint in ("Where to look", "/v1/alerts", "/v1/hazards", "/v1/audit/verify",
                     "format=geojson", "/metrics", os.path.join(state, "token"),
                     "https://127.0.0.1:%d" % ports["LPG_HTTP_PORT"], "--cacert",
                     "kill -USR1 %d" % run.p.pid,
                     "https://127.0.0.1:%d/console/" % ports["LPG_HTTP_PORT"],
                     "demo-dispatcher", os.path.join(state, "dispatcher.password")):
            if hint not in run.text():
                raise Failure("run.sh's guide does not mention %s" % hint)
        ca = os.path.join(work, "var", "tls", "ca.pem")
        api = Api(ports["LPG_HTTP_PORT"], read(os.path.join(state, "token")), ca)
        admin = Api(ports["LPG_HTTP_PORT"], read(os.path.join(state, "admin-token")), ca)
        # The console the guide points to: its page and Debian's Leaflet (libjs-leaflet).
        for path, kind in (("/console/", "text/html"),
                           ("/console/vendor/leaflet/leaflet.esm.js", "text/javascript")):
            with urllib.request.urlopen(api.base + path, timeout=10, context=api.tls) as r:
                if r.status != 200 or not r.headers.get("Content-Type", "").startswith(kind):
                    raise Failure("GET %s: %d %s" % (path, r.status, r.headers.get("Content-Type")))
        demo_log = os.path.join(work, "var", "log", "demo.log")
        while True:
            bad = checks(api, admin, read(demo_log))
            if not bad:
                break
            if time.monotonic() - started > DEMO_DEADLINE:
                raise Failure("after %.0f s of demo:\n  %s" % (DEMO_DEADLINE, "\n  ".join(bad)))
            time.sleep(2)
        print("test_run_demo: every assertion holds %.1f s into the demo" %
              (time.monotonic() - started), flush=True)
        # The guide again once every scripted episode has happened, and on SIGUSR1.
        run.wait_for("every episode of the first minute has happened", DEMO_DEADLINE)
        deadline = time.monotonic() + 10
        while run.text().count("run: the demo is running") < 2:
            if time.monotonic() > deadline:
                raise Failure("the guide was not printed again after the first minute")
            time.sleep(0.2)
        run.p.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while run.text().count("run: the demo is running") < 3:
            if time.monotonic() > deadline:
                raise Failure("SIGUSR1 to run.sh did not print the guide again")
            time.sleep(0.2)
        # The narration: one line per event, at most 100 columns, no colour in a pipe; the
        # first minute (to the guide's reprint) in well under the ~100 lines it used to take.
        text = run.text()
        lines = narration(text[:text.index("every episode of the first minute")])
        too_long = [l for l in ANSI.sub("", text).splitlines()
                    if NARRATED.match(l) and len(l) > 100]
        if too_long:
            raise Failure("narration lines over 100 columns: %s" % too_long[:3])
        if "\033[" in text:
            raise Failure("colour codes in a pipe")
        if not 15 <= len(lines) <= 60:
            raise Failure("%d lines of narration in the first minute, want 15-60" % len(lines))
        bad = check_guide(read(os.path.join(state, "guide.txt")), src)
        if bad:
            raise Failure("the guide's commands:\n  %s" % "\n  ".join(bad))
        print("test_run_demo: %d lines of narration in the first minute, the guide reprinted, "
              "its %d commands show what they say" % (len(lines), len(GUIDE_CHECKS)), flush=True)
        run.stop()
        stop_checks(run, work, ports)
        print("test_run_demo: stopped cleanly, nothing left behind", flush=True)

        # A second run on the same data, on a terminal: the data set is already there, the
        # fleet works again; colour; a key prints the guide; no episode of the first run is
        # narrated as news.
        before = read(demo_log).count(" loaded CY-")
        run2_start = time.time()
        run = Run(src, env, log_path, tty=True)
        run.wait_for("53 already there", 120)  # 45 entities and the 8 depots (stations)
        run.wait_for("cancelled", 90)  # orders the first run left open
        deadline = time.monotonic() + 90
        while read(demo_log).count(" loaded CY-") == before:  # orders assigned and loaded
            if time.monotonic() > deadline:
                raise Failure("no cylinder loaded in the second run within 90 s")
            time.sleep(0.5)
        if "\033[" not in run.own_text():
            raise Failure("no colour on a terminal")
        guides = run.own_text().count("run: the demo is running")
        run.press(b"g")
        deadline = time.monotonic() + 10
        while run.own_text().count("run: the demo is running") == guides:
            if time.monotonic() > deadline:
                raise Failure("the key g did not print the guide again")
            time.sleep(0.2)
        api.token = read(os.path.join(state, "token"))
        status, alerts = api.get("/v1/alerts?limit=1000")
        for who, msg in narration(run.own_text()):
            if who != "alert":
                continue
            said = msg.rstrip("…")
            same = [a for a in alerts.get("items", []) if narrate.alert_text(a).startswith(said)]
            if same and all(narrate.parse_instant(a["start"]) < run2_start - 5 for a in same):
                raise Failure("the second run narrated an episode of the first: %s" % msg)
        run.stop()
        stop_checks(run, work, ports)
        print("test_run_demo: second run reused the data and loaded cylinders: PASS", flush=True)
        ok = True
    except Failure as e:
        print("test_run_demo: FAIL: %s" % e, file=sys.stderr)
    finally:
        if run is not None and run.p.poll() is None:
            # run.sh stops what it started (its children run in sessions of their own, out of
            # reach of killpg); SIGKILL only if it does not.
            run.p.send_signal(signal.SIGTERM)
            try:
                run.p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(run.p.pid, signal.SIGKILL)
        # Last resort, by patterns only this test's processes have: the demo's state directory,
        # dispatchd's ports, redis-server's title with its port.
        for pattern in (work, "--http-port=%d " % ports["LPG_HTTP_PORT"],
                        "redis-server 127.0.0.1:%d" % ports["LPG_REDIS_PORT"]):
            subprocess.run(["pkill", "-KILL", "-f", "--", pattern], check=False)
        if not ok:
            for name in ("run.log", "var/log/dispatchd.log"):
                try:
                    tail = open(os.path.join(work, name), errors="replace").readlines()[-60:]
                except OSError:
                    continue
                sys.stderr.write("---- %s (last 60 lines) ----\n%s" % (name, "".join(tail)))
        if os.environ.get("LPG_KEEP_TMP") != "1":
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


def stop_checks(run, work, ports):
    left = subprocess.run(["pgrep", "-af", "--", work], capture_output=True, text=True).stdout
    if left.strip():
        raise Failure("processes left behind: %s" % left)
    for name, port in ports.items():
        if port_open(port):
            raise Failure("port %d (%s) still answers after run.sh stopped" % (port, name))
    dlog = read(os.path.join(work, "var", "log", "dispatchd.log"))
    if dlog.count("dispatchd stopped (exit 0)") < dlog.count("HTTP listening on") or \
            "dispatchd stopped (exit 0)" not in dlog:
        raise Failure("dispatchd did not stop cleanly")
    if "run: demo fleet stopped" not in run.text():
        raise Failure("the demo fleet was not stopped by run.sh")


if __name__ == "__main__":
    main()
