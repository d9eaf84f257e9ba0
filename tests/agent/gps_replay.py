#!/usr/bin/python3
"""gps_replay.py -- replays an NMEA log through a real gpsd, like `gpsfake`, for the agent tests.

gpsfake's engine is the gps.fake module of Debian's small python3-gps package (the gpsfake CLI
itself is in gpsd-clients, which pulls in about 440 MB). This helper uses that engine: a pseudo
terminal fed with the log (gps.fake.FakePTY) and a gpsd started and given the device through
its control socket (gps.fake.DaemonInstance, with gpsd's -n so it reads at once).

  gps_replay.py --port P --log FILE [--delay S] [--go FILE] [--linger S] [--pause FILE]

--delay  seconds between NMEA sentences (gps.fake does not pace by the log's timestamps)
--go     wait until this file exists before feeding (the test creates it once lpg-agent is
         connected to gpsd, so no fix is missed)
--pause  while this file exists, feeding stops (the log's position is kept)
--linger seconds to keep gpsd up after the last sentence, then stop

Prints "replay: fed N sentences" when done. SIGINT/SIGTERM stop gpsd and exit. Run with a
private TMPDIR: gps.fake names its control socket after the process in $TMPDIR.
"""
import argparse
import os
import signal
import sys
import time

import gps.fake as gpsfake

stop = False


def on_signal(_sig, _frame):
    global stop
    stop = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--delay", type=float, default=0.01)
    ap.add_argument("--go")
    ap.add_argument("--pause")
    ap.add_argument("--linger", type=float, default=30.0)
    a = ap.parse_args()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with open(a.log, "rb") as f:
        load = gpsfake.TestLoad(f, oneshot=True)
    pty = gpsfake.FakePTY(load, speed=115200)
    ctl = os.path.join(os.environ.get("TMPDIR", "/tmp"), "gps_replay-%d.sock" % os.getpid())
    daemon = gpsfake.DaemonInstance(control_socket=ctl)
    daemon.spawn(options="-n", port=a.port, background=True)
    daemon.wait_ready()
    daemon.add_device(pty.byname)
    print("replay: gpsd on port %d, device %s, %d sentences"
          % (a.port, pty.byname, len(load.sentences)), flush=True)
    try:
        while a.go and not os.path.exists(a.go) and not stop:
            time.sleep(0.05)
        fed = 0
        for line in load.sentences:
            while a.pause and os.path.exists(a.pause) and not stop:
                time.sleep(0.05)
            if stop or not daemon.is_alive():
                break
            pty.write(line)
            pty.read()
            fed += 1
            time.sleep(a.delay)
        print("replay: fed %d sentences" % fed, flush=True)
        end = time.time() + a.linger
        while not stop and time.time() < end and daemon.is_alive():
            pty.read()
            time.sleep(0.05)
    finally:
        daemon.kill()
        try:
            os.unlink(ctl)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
