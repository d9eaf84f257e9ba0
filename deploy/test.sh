#!/usr/bin/env bash
# Installs what is missing, builds with AddressSanitizer + UndefinedBehaviorSanitizer into
# build-test/, and runs every test under CTest. Exits non-zero on any failure and leaves no
# process behind. CI runs exactly this (.ci/run).
#
# Environment: LPG_TEST_JOBS (parallel tests, default: number of cores),
#              LPG_TEST_ARGS (extra ctest arguments, e.g. "-R integration").
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

echo "test: running ctest (-j $jobs)"
start=$(date +%s)
set +e
(cd "$build" && ctest --output-on-failure --timeout 300 -j "$jobs" ${LPG_TEST_ARGS:-})
status=$?
set -e
echo "test: ctest finished in $(( $(date +%s) - start )) s with status $status"
exit $status
