"""console_harness.py -- a private redis-server and dispatchd for the console's tests.

Stack(dispatchd, tmp, extra_args).start() starts Redis on a free port, creates the admin `root`
(ADMIN_PASSWORD), starts dispatchd on free ports with extra_args and waits for /healthz 200.
stop() ends both (SIGTERM, then SIGKILL after a deadline) and reports dispatchd's exit status;
every child dies with the test (PR_SET_PDEATHSIG). Waits are on conditions with generous
deadlines, never fixed sleeps: the tests must pass on a loaded 2-core machine.
"""

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ADMIN_PASSWORD = "correct horse battery"
START = time.monotonic()


class TestFailure(Exception):
    pass


def say(fmt, *args):
    print("[%6.2fs] %s" % (time.monotonic() - START, fmt % args if args else fmt), flush=True)


def check(cond, fmt, *args):
    if not cond:
        raise TestFailure(fmt % args if args else fmt)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def wait_until(what, fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if fn():
                return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise TestFailure("%s: not within %.1f s" % (what, timeout))
        time.sleep(0.05)


class Proc:
    def __init__(self, name, argv, log, cwd):
        self.name, self.log = name, log
        with open(log, "ab") as out:
            self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                      stderr=subprocess.STDOUT, cwd=cwd,
                                      preexec_fn=_die_with_parent)
        say("started %s (pid %d)", name, self.p.pid)

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=15.0):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                say("%s did not stop within %.0f s; killing it", self.name, timeout)
                self.p.kill()
                self.p.wait()
        return self.p.returncode

    def dump_log(self, lines=40):
        try:
            with open(self.log, errors="replace") as f:
                tail = f.readlines()[-lines:]
        except OSError as e:
            tail = ["(could not read %s: %s)\n" % (self.log, e)]
        sys.stderr.write("---- last %d lines of %s ----\n" % (lines, self.name))
        sys.stderr.writelines(tail)


def redis_ping(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        return s.recv(64).startswith(b"+PONG")


def http_status(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


class Stack:
    def __init__(self, dispatchd, tmp, extra_args=()):
        self.bin, self.tmp, self.extra_args = dispatchd, tmp, list(extra_args)
        self.redis = self.dispatchd = None

    def start(self):
        dispatchd, tmp = self.bin, self.tmp
        redis_server = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.redis_port = free_port()
        self.redis = Proc("redis-server",
                          [redis_server, "--port", str(self.redis_port), "--bind", "127.0.0.1",
                           "--dir", tmp, "--daemonize", "no", "--save", "", "--appendonly", "no",
                           "--protected-mode", "yes"],
                          os.path.join(tmp, "redis.log"), tmp)
        wait_until("redis-server answers PING",
                   lambda: self.redis.alive() and redis_ping(self.redis_port), 20)
        r = subprocess.run([dispatchd, "--redis-port=%d" % self.redis_port, "--create-admin",
                            "root"], input=ADMIN_PASSWORD + "\n", text=True,
                           capture_output=True, timeout=60, cwd=tmp)
        check(r.returncode == 0, "dispatchd --create-admin exited %d: %s%s", r.returncode,
              r.stdout, r.stderr)
        self.http_port, self.handset_port = free_port(), free_port()
        self.dispatchd = Proc("dispatchd",
                              [dispatchd, "--http-port=%d" % self.http_port,
                               "--handset-port=%d" % self.handset_port,
                               "--jt808-port=%d" % free_port(),
                               "--redis-port=%d" % self.redis_port] + self.extra_args,
                              os.path.join(tmp, "dispatchd.log"), tmp)

        def healthy():
            check(self.dispatchd.alive(), "dispatchd exited at start")
            return http_status(self.http_port, "/healthz") == 200
        wait_until("dispatchd /healthz 200", healthy, 30)

    def stop(self, failed):
        status = 0
        if self.dispatchd is not None:
            status = self.dispatchd.stop()
            if failed or status != 0:
                self.dispatchd.dump_log()
        if self.redis is not None:
            self.redis.stop()
        return status
