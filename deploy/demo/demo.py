#!/usr/bin/python3
"""demo.py -- the live demo of deploy/run.sh (docs/demo.md), against a running dispatchd.

  demo.py load --http-port P --state-dir DIR
      logs in as the demo admin (password in DIR/admin.password, created by run.sh with
      `dispatchd --create-admin`), loads the data set (dataset.py; idempotent), registers the
      handsets again and writes DIR/devices.json (device secrets), DIR/token (a dispatcher's
      bearer token, for the newcomer's curl) and DIR/admin-token (for /v1/audit/*).
  demo.py run --http-port P --handset-port H --state-dir DIR [--ca CA.pem] [--guide FILE]
             [--log FILE]
      the dispatcher's opening moves (an order to the underground customer and a two-phase
      cylinder to a restaurant, both refused; an order that waits for the expired
      certificate), then the fleet (fleet.py) until SIGTERM or SIGINT, narrating what the
      handsets do and what the live feed (GET /v1/events) reports: assignments, refusals,
      alerts (narrate.py: one line per event that matters; every detail in the --log file).
      The --guide file (where to look, written by run.sh) is printed at the start, again once
      every vehicle's scripted episode has happened, and whenever SIGUSR1 comes.

Needs Debian's /usr/bin/python3 with python3-protobuf, PYTHONPATH holding the protoc-generated
lpg.v1 modules and tests/python (lpg_client.py). Files in DIR are written with mode 0600.
"""

import argparse
import json
import os
import secrets
import signal
import sys
import threading
import time
import urllib.request

import dataset
import fleet
import narrate
from lpg_client import HandsetClient, JsonHttp, tls_context


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def read_file(path):
    with open(path) as f:
        return f.read().strip()


# The CA certificate (PEM) to verify dispatchd's certificate against; None: plain HTTP and TCP.
CA = None


def login(port, user, password):
    http = JsonHttp(port, ca=CA)
    status, resp = http.call("POST", "/v1/sessions", {"user": user, "password": password})
    if status != 201:
        raise RuntimeError("log in as %s: HTTP %d %s (if the password file in the state "
                           "directory was lost, remove the var/ directory to start afresh)" %
                           (user, status, resp))
    http.token = resp["token"]
    return http


def cmd_load(args):
    state = args.state_dir
    narrator = narrate.Narrator(log_path=args.log)
    admin = login(args.http_port, args.admin, read_file(os.path.join(state, "admin.password")))
    pw_file = os.path.join(state, "dispatcher.password")
    if not os.path.exists(pw_file):
        write_private(pw_file, secrets.token_urlsafe(18) + "\n")
    admin.dispatcher_password = read_file(pw_file)
    secrets_by_device = dataset.load(admin, lambda m: narrator.say("load", m))
    write_private(os.path.join(state, "devices.json"), json.dumps(secrets_by_device, indent=1))
    disp = login(args.http_port, dataset.DISPATCHER, admin.dispatcher_password)
    write_private(os.path.join(state, "token"), disp.token + "\n")
    write_private(os.path.join(state, "admin-token"), admin.token + "\n")
    narrator.say("load", "%d handsets registered; tokens in the state directory" %
                 len(secrets_by_device))
    narrator.say("load", "tokens in %s/token (dispatcher %s) and %s/admin-token (admin)" %
                 (state, dataset.DISPATCHER, state), detail=True)
    narrator.close()


def follow_feed(port, token, stop, narrator):
    """Narrates GET /v1/events (server-sent events) until the stream ends."""
    req = urllib.request.Request("%s://127.0.0.1:%d/v1/events" % ("https" if CA else "http", port),
                                 headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=60,
                                    context=tls_context(CA) if CA else None) as stream:
            event, data = None, []
            for raw in stream:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line and data:
                    narrator.feed_event(event, json.loads("\n".join(data)))
                    event, data = None, []
    except (OSError, ValueError) as e:
        if not stop.is_set():
            narrator.say("feed", "live feed ended: %s" % e, tone="alert")


def opening_moves(dispatcher):
    """The dispatcher's orders that show the order rules: two refused, one waiting."""
    underground = next(c for v in dataset.FLEET for c in v["customers"] if c[5])
    dispatcher.order(underground[0], [(dataset.HOUSEHOLD_SPEC, 1)], "underground")
    restaurant = next(c for v in dataset.FLEET for c in v["customers"]
                      if c[2] == "restaurant" and not c[5])
    dispatcher.order(restaurant[0], [("YSP-118-II", 1)], "two-phase")
    expired = next(v for v in dataset.FLEET if v["script"] == "expired")
    dispatcher.order(expired["customers"][0][0], [(dataset.HOUSEHOLD_SPEC, 1)], "waiting")


def cmd_run(args):
    state = args.state_dir
    stop = threading.Event()
    guide_wanted = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # run.sh forwards a key press or its own SIGUSR1 here: this process owns the terminal's
    # lines, so the guide is never printed in the middle of one.
    signal.signal(signal.SIGUSR1, lambda signum, frame: guide_wanted.set())

    narrator = narrate.Narrator(log_path=args.log)
    guide = read_file(args.guide) + "\n" if args.guide else None
    if guide:
        narrator.block(guide)
    token = read_file(os.path.join(state, "token"))
    device_secrets = json.loads(read_file(os.path.join(state, "devices.json")))
    dispatcher = fleet.Dispatcher(JsonHttp(args.http_port, token=token, ca=CA),
                                  narrator, time.strftime("%m%d%H%M%S", time.gmtime()))
    threading.Thread(target=follow_feed, args=(args.http_port, token, stop, narrator),
                     daemon=True).start()
    dispatcher.prepare()
    vehicles = [fleet.Vehicle(v, device_secrets[v["device"]],
                              lambda: HandsetClient("127.0.0.1", args.handset_port, ca=CA),
                              dispatcher,
                              narrator, stop)
                for v in dataset.FLEET]
    for v in vehicles:
        v.start()
    narrator.say("demo", "%d vehicles start from their depots: a handset each, a fix a second" %
                 len(vehicles))
    time.sleep(1.5)  # the vehicles' first fixes, so the opening orders rank by position
    opening_moves(dispatcher)
    episodes_done = False
    while not stop.is_set():
        stop.wait(0.2)
        if not episodes_done and all(v.first_cycle_done or not v.is_alive() for v in vehicles):
            episodes_done = True
            narrator.say("demo", "every episode of the first minute has happened; from now on "
                         "plain deliveries", tone="good")
            guide_wanted.set()
        if guide_wanted.is_set() and guide:
            guide_wanted.clear()
            narrator.block("\n" + guide)
    for v in vehicles:
        v.join(timeout=3)
    narrator.say("demo", "fleet stopped")
    narrator.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=("load", "run"))
    ap.add_argument("--http-port", type=int, default=8080)
    ap.add_argument("--handset-port", type=int, default=7070)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--admin", default="demo-admin")
    ap.add_argument("--guide", help="run: the where-to-look guide to print (a text file)")
    ap.add_argument("--log", help="append every line of the narration, details included, here")
    ap.add_argument("--ca", help="speak TLS to dispatchd (HTTPS and the handset port), "
                    "verifying its certificate against this CA certificate (PEM)")
    args = ap.parse_args()
    global CA
    CA = args.ca
    try:
        (cmd_load if args.command == "load" else cmd_run)(args)
    except (RuntimeError, OSError, KeyError, ValueError) as e:
        sys.exit("demo: error: %s" % e)


if __name__ == "__main__":
    main()
