#!/usr/bin/env bash
# Installs what is missing, builds with AddressSanitizer + UndefinedBehaviorSanitizer into
# build-test/, and runs every test under CTest. Exits non-zero on any failure and leaves no
# process behind. CI runs exactly this (.ci/run).
#
# Environment: LPG_TEST_JOBS (parallel tests, default: number of cores),
#              LPG_TEST_ARGS (extra ctest arguments, e.g. "-R integration"),
#              LPG_TEST_CLOCK (HH:MM: run the tests with the wall clock at that UTC time today).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

"$top/deploy/install-deps.sh"

jobs=${LPG_TEST_JOBS:-$(nproc)}
build="$top/build-test"
echo "test: configuring $build (Debug, ASan+UBSan)"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DLPG_SANITIZE=ON -DLPG_BUILD_TESTS=ON >/dev/null
echo "test: building"
cmake --build "$build" -j "$jobs"

# Every test's temporary files (Redis data, logs) go under one private directory, removed at
# the end; any process still running from it is killed (the harness already makes its
# children die with the test, this is the last line of defence).
scratch=$(mktemp -d "${TMPDIR:-/tmp}/lpg-test.XXXXXX")
cleanup() {
  pkill -KILL -f -- "$scratch" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
export TMPDIR="$scratch"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# LPG_TEST_CLOCK=HH:MM runs the tests with the wall clock starting at that UTC time of today,
# shifted by one offset for every process
# (libfaketime; the monotonic clock stays real, or Python's timed waits never end), to show
# that the suite passes at any hour: the service takes days in the enterprise's time zone
# (UTC+8), so 16:00-24:00 UTC is already "tomorrow" there. Redis keeps the real clock:
# libfaketime deadlocks its allocator at start, so redis-server and redis-cli run through
# wrappers without the preload (run.sh and the Python tests find them first on PATH, the C
# harness through LPG_TEST_REDIS_SERVER); the tests depend only on relative expiries there.
clock_cmd=()
if [ -n "${LPG_TEST_CLOCK:-}" ]; then
  faketime_lib=$(dpkg -L libfaketime 2>/dev/null | grep -m1 '/faketime/libfaketime.so.1$' || true)
  if [ -z "$faketime_lib" ]; then
    echo "test: error: LPG_TEST_CLOCK needs libfaketime (apt-get install faketime)" >&2
    exit 1
  fi
  mkdir -p "$scratch/realclock"
  for prog in redis-server redis-cli; do
    printf '#!/bin/sh\nunset LD_PRELOAD FAKETIME\nexec %s "$@"\n' "$(command -v $prog)" \
      >"$scratch/realclock/$prog"
    chmod +x "$scratch/realclock/$prog"
  done
  export PATH="$scratch/realclock:$PATH" LPG_TEST_REDIS_SERVER="$scratch/realclock/redis-server"
  # Python's time.sleep under libfaketime: see tests/fakeclock/sitecustomize.py.
  export PYTHONPATH="$top/tests/fakeclock${PYTHONPATH:+:$PYTHONPATH}"
  export ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0"
  # One offset for every process: "@time" would start each process's clock at that time when
  # it starts, so a dispatchd restarted by a test would run behind the test by the time between.
  target=$(date -u -d "$(date -u +%F) ${LPG_TEST_CLOCK}:00" +%s) || exit 1
  offset=$(( target - $(date -u +%s) ))
  clock_cmd=(env LD_PRELOAD="$faketime_lib" FAKETIME="$( [ $offset -ge 0 ] && echo +)${offset}s"
             FAKETIME_DONT_FAKE_MONOTONIC=1)
  echo "test: the wall clock of the tests starts at ${LPG_TEST_CLOCK} UTC today (libfaketime)"
fi

echo "test: running ctest (-j $jobs)"
start=$(date +%s)
set +e
(cd "$build" && "${clock_cmd[@]}" ctest --output-on-failure --timeout 300 -j "$jobs" ${LPG_TEST_ARGS:-})
status=$?
set -e
echo "test: ctest finished in $(( $(date +%s) - start )) s with status $status"

# A short run of every fuzz target (tests/fuzz/README.md): 8 s each, 72 s in all, on the
# committed seed corpus, with clang's libFuzzer; a crash, leak or UB report fails the script.
# Skipped only where clang or its fuzzer runtime is missing (install-deps.sh installs both).
if command -v clang >/dev/null 2>&1 &&
   [ -n "$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null | grep /)" ] &&
   [ -f "$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a)" ]; then
  fuzz_build="$top/build-fuzz"
  echo "test: building the fuzz targets in $fuzz_build (clang, libFuzzer, ASan+UBSan)"
  CC=clang cmake -S "$top" -B "$fuzz_build" -DCMAKE_BUILD_TYPE=Debug -DLPG_FUZZ=ON \
    -DLPG_BUILD_TESTS=OFF >/dev/null
  cmake --build "$fuzz_build" -j "$jobs" --target fuzz_frame fuzz_csv fuzz_model_json \
    fuzz_geojson fuzz_import fuzz_handset fuzz_jt808 fuzz_jt808_msg fuzz_jt808_server
  echo "test: fuzzing each target for 8 s"
  # Logs and any crashing input stay in build-fuzz/last-run (the scratch directory goes).
  rm -rf "$fuzz_build/last-run"
  if ! FUZZ_WORK="$fuzz_build/last-run" "$top/tests/fuzz/run.sh" "$fuzz_build" 8; then
    echo "test: a fuzz target failed (see its log above; reproduce as in tests/fuzz/README.md)"
    status=1
  fi
else
  echo "test: clang with libFuzzer not found: fuzz targets skipped (deploy/install-deps.sh installs them)"
fi
exit $status
