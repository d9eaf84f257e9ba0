"""Loaded by Python only when deploy/test.sh runs the suite under a fake wall clock
(LPG_TEST_CLOCK, libfaketime with the monotonic clock left real): libfaketime 0.9.10 makes
clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME), which time.sleep uses, fail with EINVAL.
select() with a relative timeout is not affected, so time.sleep is replaced by it. Nothing
else changes; without FAKETIME in the environment this file does nothing."""
import os

if os.environ.get("FAKETIME"):
    import select
    import time

    def _sleep(seconds):
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            select.select([], [], [], left)

    time.sleep = _sleep
