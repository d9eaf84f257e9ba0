#!/usr/bin/python3
"""test_sim_flow.py -- lpg-jt808-sim against a scripted platform (this file), end to end.

The platform here frames, escapes and checks like a real one (2013 header), and checks that the
simulator does what a real terminal does:
  - --register: 0x0100 (2013 layout, plate in GBK) first, then 0x0102 with the code of 0x8100;
  - the platform's 0x8103 is answered by 0x0001 (its serial and id, result 0);
  - the driver's card (0x0702, name in GBK, certificate, expiry) once, after authentication;
  - the first 0x0200 is left unanswered: the simulator sends the SAME frame again (same serial);
  - heartbeats (0x0002);
  - --backfill: the link is dropped, the positions of the blind area come after the next
    0x0102 as 0x0704 type 1; every point of the track is reported once, 0x0200 or backfilled;
  - it exits 0 at the end of the track.
Usage: test_sim_flow.py PATH/TO/lpg-jt808-sim
"""

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

POINTS = 40


def unescape(b):
    out, i = bytearray(), 0
    while i < len(b):
        if b[i] == 0x7D:
            out.append({1: 0x7D, 2: 0x7E}[b[i + 1]])
            i += 2
        else:
            out.append(b[i])
            i += 1
    return bytes(out)


def frame(msg_id, phone, serial, body):
    props = len(body)
    head = msg_id.to_bytes(2, "big") + props.to_bytes(2, "big") + \
        bytes.fromhex(phone.rjust(12, "0")) + serial.to_bytes(2, "big")
    raw = head + body
    cs = 0
    for x in raw:
        cs ^= x
    raw += bytes([cs])
    esc = raw.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")
    return b"\x7e" + esc + b"\x7e"


class Platform:
    def __init__(self):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.port = self.srv.getsockname()[1]
        self.log = []          # (connection no, msg id, serial, body)
        self.errors = []
        self.unanswered = None  # (serial, wire) of the first 0x0200, left unanswered
        self.retransmitted = False
        self.connections = 0
        self.serial = 0
        threading.Thread(target=self.run, daemon=True).start()

    def check(self, cond, what):
        if not cond:
            self.errors.append(what)

    def run(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.serve, args=(c, self.connections), daemon=True).start()

    def send(self, c, msg_id, phone, body):
        self.serial += 1
        c.sendall(frame(msg_id, phone, self.serial, body))
        return self.serial

    def ack(self, c, phone, serial, msg_id, result=0):
        self.send(c, 0x8001, phone, serial.to_bytes(2, "big") + msg_id.to_bytes(2, "big") +
                  bytes([result]))

    def serve(self, c, conn_no):
        buf = b""
        set_params_serial = None
        while True:
            try:
                data = c.recv(4096)
            except OSError:
                return
            if not data:
                return
            buf += data
            while True:
                s = buf.find(b"\x7e")
                e = buf.find(b"\x7e", s + 1) if s >= 0 else -1
                if e < 0:
                    break
                wire = buf[s:e + 1]
                raw = unescape(buf[s + 1:e])
                buf = buf[e + 1:]
                cs = 0
                for x in raw[:-1]:
                    cs ^= x
                self.check(cs == raw[-1], "bad checksum")
                msg_id = int.from_bytes(raw[0:2], "big")
                blen = int.from_bytes(raw[2:4], "big") & 0x3FF
                phone = raw[4:10].hex()
                serial = int.from_bytes(raw[10:12], "big")
                body = raw[12:-1]
                self.check(len(body) == blen, "body length 0x%04x" % msg_id)
                self.log.append((conn_no, msg_id, serial, body))
                if msg_id == 0x0100:
                    self.check(body[0:2] == b"\x00\x0f" and body[2:4] == (700).to_bytes(2, "big"),
                               "province/city")
                    self.check(body[36] == 2, "plate colour")
                    self.check(body[37:].decode("gbk") == "蒙E·J0042", "plate %r" % body[37:])
                    self.send(c, 0x8100, phone, serial.to_bytes(2, "big") + b"\x00CODE42")
                elif msg_id == 0x0102:
                    self.check(body == b"CODE42", "auth code %r" % body)
                    self.ack(c, phone, serial, msg_id)
                    # parameters: max speed 60 km/h, heartbeat 1 s
                    set_params_serial = self.send(
                        c, 0x8103, phone, bytes([2]) + (0x55).to_bytes(4, "big") + b"\x04" +
                        (60).to_bytes(4, "big") + (0x01).to_bytes(4, "big") + b"\x04" +
                        (1).to_bytes(4, "big"))
                elif msg_id == 0x0001:
                    self.check(body == set_params_serial.to_bytes(2, "big") + b"\x81\x03\x00",
                               "0x0001 %r" % body)
                elif msg_id == 0x0200:
                    if self.unanswered is None:
                        self.unanswered = (serial, wire)
                        continue
                    if serial == self.unanswered[0]:
                        self.check(wire == self.unanswered[1], "retransmission differs")
                        self.retransmitted = True
                    self.ack(c, phone, serial, msg_id)
                elif msg_id == 0x0702:
                    self.check(body[0] == 1 and body[7] == 0, "card status/read result")
                    n = body[8]
                    self.check(body[9:9 + n].decode("gbk") == "测试", "driver name")
                    self.check(body[9 + n:29 + n].rstrip(b"\0") == b"QC-150700-0042",
                               "certificate")
                    self.check(body[-4:] == b"\x20\x28\x12\x31", "expiry")
                    self.ack(c, phone, serial, msg_id)
                elif msg_id == 0x0704:
                    self.check(body[2] == 1, "0x0704 type %d" % body[2])
                    self.ack(c, phone, serial, msg_id)
                else:
                    self.ack(c, phone, serial, msg_id)


def main():
    sim = sys.argv[1]
    p = Platform()
    with tempfile.TemporaryDirectory() as tmp:
        track = os.path.join(tmp, "track.csv")
        t0 = int(time.time()) * 1000
        with open(track, "w") as f:
            for i in range(POINTS):  # 1 s apart, ~10 m/s north
                f.write("%d,%.6f,119.76,10.0\n" % (t0 + 1000 * i, 49.2 + i * 0.00009))
        # 40 s of track in 4 s; the link cut from 20 to 28 s of track time
        cmd = [sim, "--port=%d" % p.port, "--terminal=13800000042", "--register",
               "--plate=蒙E·J0042", "--track=" + track, "--speedup=10", "--timeout=0.3",
               "--heartbeat=0.5", "--driver-name=测试", "--certificate=QC-150700-0042",
               "--backfill=20:8"]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = r.stdout.decode("utf-8", "replace")
    ids = [m[1] for m in p.log]
    fails = list(p.errors)
    if r.returncode != 0:
        fails.append("exit status %d" % r.returncode)
    if ids[:2] != [0x0100, 0x0102]:
        fails.append("did not start with 0x0100, 0x0102: %s" % ["%04x" % i for i in ids[:4]])
    if ids.count(0x0100) != 1:
        fails.append("0x0100 %d times (the code is kept)" % ids.count(0x0100))
    if ids.count(0x0102) != 2 or p.connections != 2:
        fails.append("expected 2 connections with 0x0102: %d, %d" % (ids.count(0x0102),
                                                                      p.connections))
    if ids.count(0x0001) != 2:
        fails.append("0x8103 answered %d times (want one per authentication)" % ids.count(1))
    if ids.count(0x0702) != 1:
        fails.append("0x0702 %d times" % ids.count(0x0702))
    if not p.retransmitted:
        fails.append("the unanswered 0x0200 was not sent again with its serial")
    if 0x0002 not in ids:
        fails.append("no heartbeat")
    positions = len({m[2] for m in p.log if m[1] == 0x0200})
    backfilled = sum(int.from_bytes(m[3][0:2], "big") for m in p.log if m[1] == 0x0704)
    if backfilled < 5 or positions + backfilled != POINTS:
        fails.append("positions %d + backfilled %d != %d points" % (positions, backfilled,
                                                                     POINTS))
    second = [m[1] for m in p.log if m[0] == 2]
    live = [i for i, m in enumerate(second) if m == 0x0200]
    if second[:1] != [0x0102] or 0x0704 not in second or (live and live[0] < second.index(0x0704)):
        fails.append("the backfill did not follow the second 0x0102: %s" %
                     ["%04x" % i for i in second[:4]])
    if fails:
        print(out)
        for f in fails:
            print("FAIL:", f)
        return 1
    print("ok: %d messages, %d positions live and %d backfilled" % (len(ids), positions,
                                                                   backfilled))
    return 0


if __name__ == "__main__":
    sys.exit(main())
