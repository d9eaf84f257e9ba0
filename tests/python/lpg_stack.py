"""lpg_stack.py -- a private redis-server and dispatchd for the Python tests (python.wire_contract,
console.files, console.browser), and the few helpers they share.

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
    # Linux prctl(PR_SET_PDEATHSIG, SIGKILL): a child never outlives a killed test.
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
        say("started %s (pid %d): %s", name, self.p.pid, " ".join(argv))

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=15.0):
        """SIGTERM, wait, SIGKILL if needed. Returns the exit status (negative: signal)."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                say("%s (pid %d) did not stop within %.0f s; killing it", self.name, self.p.pid,
                    timeout)
                self.p.kill()
                self.p.wait()
        say("stopped %s (pid %d): exit status %d", self.name, self.p.pid, self.p.returncode)
        return self.p.returncode

    def dump_log(self, lines=40):
        try:
            with open(self.log, errors="replace") as f:
                tail = f.readlines()[-lines:]
        except OSError as e:
            tail = ["(could not read %s: %s)\n" % (self.log, e)]
        sys.stderr.write("---- last %d lines of %s (%s) ----\n" % (lines, self.name, self.log))
        sys.stderr.writelines(tail)
        sys.stderr.flush()


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
    """redis_server: the binary (default: redis-server on PATH); appendonly: Redis's AOF, for a
    test that restarts nothing but wants the shipped persistence."""

    def __init__(self, dispatchd, tmp, extra_args=(), redis_server=None, appendonly=False):
        self.bin, self.tmp, self.extra_args = dispatchd, tmp, list(extra_args)
        self.redis_server = redis_server or shutil.which("redis-server") or "/usr/bin/redis-server"
        self.appendonly = appendonly
        self.redis = self.dispatchd = None

    def start(self):
        dispatchd, tmp = self.bin, self.tmp
        self.redis_port = free_port()
        self.redis = Proc("redis-server",
                          [self.redis_server, "--port", str(self.redis_port), "--bind",
                           "127.0.0.1", "--dir", tmp, "--daemonize", "no", "--save", "",
                           "--appendonly", "yes" if self.appendonly else "no",
                           "--protected-mode", "yes"],
                          os.path.join(tmp, "redis.log"), tmp)
        wait_until("redis-server answers PING",
                   lambda: self.redis.alive() and redis_ping(self.redis_port), 20)
        say("creating admin root")
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
        """Stops both; dumps their logs' tails when failed or dispatchd's exit status is not 0
        (returned)."""
        status = 0
        if self.dispatchd is not None:
            status = self.dispatchd.stop()
            if failed or status != 0:
                self.dispatchd.dump_log()
        if self.redis is not None:
            self.redis.stop()
            if failed:
                self.redis.dump_log(10)
        return status

    def finish(self, failure, passed="PASS"):
        """The end of a test: stops the stack, counts a non-zero exit of dispatchd as a failure,
        removes the temporary directory unless the test failed or LPG_KEEP_TMP is set, and
        prints the verdict. Returns the test's exit status."""
        status = self.stop(failure is not None)
        if failure is None and status != 0:
            failure = "dispatchd exited with status %d after SIGTERM (want 0)" % status
        if failure is None and not os.environ.get("LPG_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)
        if failure:
            print("FAIL: %s (files in %s)" % (failure, self.tmp), file=sys.stderr, flush=True)
            return 1
        say(passed)
        return 0
