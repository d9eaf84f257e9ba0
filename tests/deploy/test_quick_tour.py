#!/usr/bin/python3
"""test_quick_tour.py -- the quick tour of docs/http-api.md, pasted as written, against run.sh.

Starts deploy/run.sh with the demo (as a newcomer has it running) on free ports in a private
data directory, then runs every ```sh block of the "Quick tour" section of docs/http-api.md,
unchanged and in order, in one bash in the source tree, with the LPG_* settings of that run.sh
in the environment (the tour's defaults are run.sh's). After each block, the ```text block that
follows it in the markdown (what the reader should see) is checked against what the block
printed: its "HTTP nnn" lines, in order, and every "key":scalar pair it shows, except values
holding a date (the tour computes them from today), tokens and "created_ms". The tour must not use a tool
that deploy/install-deps.sh does not install (jq: checked). Then run.sh is stopped and nothing
may be left running.

Usage: test_quick_tour.py SOURCE_DIR [BUILD_DIR]   (BUILD_DIR: the release build run.sh uses)
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_run_demo import Failure, Run, free_port, stop_checks  # noqa: E402

MARK = "@@quick-tour-block %d@@"
DATE = re.compile(r"\d{4}-\d\d-\d\d")
# "key":value with a scalar value: a JSON string, number, true, false or null.
PAIR = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)":("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null)')
FLEET_STARTED = "vehicles start from their depots"
VOLATILE_KEYS = {"token", "created_ms"}


def tour_blocks(markdown):
    """[(sh_text, expected_text or None)] of the Quick tour section, in order."""
    start = markdown.index("\n## Quick tour\n")
    end = markdown.index("\n## ", start + 1)
    section = markdown[start:end]
    fences = re.findall(r"^```(\w*)\n(.*?)^```$", section, flags=re.S | re.M)
    blocks = []
    for lang, body in fences:
        if lang == "sh":
            blocks.append([body, None])
        elif lang == "text" and blocks and blocks[-1][1] is None:
            blocks[-1][1] = body
    return blocks


def expectations(expected):
    """(the HTTP status lines, the "key":value pairs to find) of an expected-output block."""
    statuses = [l.strip() for l in expected.splitlines() if re.fullmatch(r"HTTP \d{3}", l.strip())]
    pairs = []
    for key, value in PAIR.findall(expected):
        if key in VOLATILE_KEYS or DATE.search(value):
            continue
        pairs.append('"%s":%s' % (key, value))
    return statuses, pairs


def check_block(n, sh, expected, out):
    if expected is None:
        return
    statuses, pairs = expectations(expected)
    got = [l.strip() for l in out.splitlines() if re.fullmatch(r"HTTP \d{3}", l.strip())]
    if got != statuses:
        raise Failure("tour block %d: HTTP statuses %s, the doc says %s\n--- block:\n%s--- output:\n%s"
                      % (n, got, statuses, sh, out))
    for p in pairs:
        if p not in out:
            raise Failure("tour block %d: %s not in the output\n--- block:\n%s--- output:\n%s"
                          % (n, p, sh, out))


def main():
    src = os.path.abspath(sys.argv[1])
    with open(os.path.join(src, "docs", "http-api.md"), encoding="utf-8") as f:
        blocks = tour_blocks(f.read())
    work = tempfile.mkdtemp(prefix="lpg-tour.")
    ports = {"LPG_REDIS_PORT": free_port(), "LPG_HTTP_PORT": free_port(),
             "LPG_HANDSET_PORT": free_port(), "LPG_JT808_PORT": free_port()}
    env = dict(os.environ, LPG_VAR_DIR=os.path.join(work, "var"), LPG_DEMO="1",
               LPG_BUILD_DIR=os.path.abspath(sys.argv[2]) if len(sys.argv) > 2
               else os.path.join(work, "build"),
               **{k: str(v) for k, v in ports.items()})
    run = None
    ok = False
    try:
        if len(blocks) < 10 or sum(e is not None for _, e in blocks) < 10:
            raise Failure("the Quick tour has %d sh blocks, %d with their output: the extraction "
                          "convention (see the comment in the section) was not kept"
                          % (len(blocks), sum(e is not None for _, e in blocks)))
        for sh, _ in blocks:
            if re.search(r"\bjq\b", sh):
                raise Failure("the tour uses jq, which deploy/install-deps.sh does not install")
        t0 = time.monotonic()
        run = Run(src, env, os.path.join(work, "run.log"))
        run.wait_for("run: the demo is running", 300)
        t_ready = time.monotonic()
        # The fleet too (run.sh is fully started), so that the stop below stops all of it.
        run.wait_for(FLEET_STARTED, 60)
        script = "".join("printf '\\n%s\\n'\n%s" % (MARK % n, sh) for n, (sh, _) in
                         enumerate(blocks))
        script_path = os.path.join(work, "tour.sh")
        with open(script_path, "w", encoding="utf-8") as f:
            f.write(script)
        p = subprocess.run(["bash", "--noprofile", "--norc", script_path], cwd=src, env=env,
                           capture_output=True, text=True, timeout=120)
        outputs = re.split(r"\n@@quick-tour-block \d+@@\n", "\n" + p.stdout)[1:]
        if len(outputs) != len(blocks):
            raise Failure("the tour stopped after block %d of %d (bash status %d)\n%s"
                          % (len(outputs), len(blocks), p.returncode, p.stderr))
        for n, ((sh, expected), out) in enumerate(zip(blocks, outputs)):
            check_block(n, sh, expected, out)
        if p.stderr.strip():
            raise Failure("the tour wrote to stderr:\n%s" % p.stderr)
        print("test_quick_tour: run.sh ready in %.1f s; %d blocks of the tour ran as written "
              "in %.1f s, every step as the doc says" % (t_ready - t0, len(blocks),
                                                        time.monotonic() - t_ready), flush=True)
        run.stop()
        stop_checks(run, work, ports)
        print("test_quick_tour: run.sh stopped cleanly, nothing left behind: PASS", flush=True)
        ok = True
    except (Failure, subprocess.TimeoutExpired) as e:
        print("test_quick_tour: FAIL: %s" % e, file=sys.stderr)
    finally:
        if run is not None and run.p.poll() is None:
            run.p.terminate()
            try:
                run.p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(run.p.pid, 9)
        for pattern in (work, "--http-port=%d " % ports["LPG_HTTP_PORT"],
                        "redis-server 127.0.0.1:%d" % ports["LPG_REDIS_PORT"]):
            subprocess.run(["pkill", "-KILL", "-f", "--", pattern], check=False)
        if not ok:
            for name in ("run.log", "var/log/dispatchd.log"):
                try:
                    with open(os.path.join(work, name), errors="replace") as f:
                        tail = f.readlines()[-40:]
                except OSError:
                    continue
                sys.stderr.write("---- %s (last 40 lines) ----\n%s" % (name, "".join(tail)))
        if os.environ.get("LPG_KEEP_TMP") != "1":
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
