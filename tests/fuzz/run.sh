#!/usr/bin/env bash
# tests/fuzz/run.sh -- runs libFuzzer targets on a copy of their committed seed corpus and
# fails on the first crash, leak, UB report or timeout of any of them (tests/fuzz/README.md).
#
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS [RUNS] [TARGET...]
#   BUILD_DIR  a build configured with CC=clang -DLPG_FUZZ=ON (targets in BUILD_DIR/tests/fuzz)
#   SECONDS    time of each target (-max_total_time)
#   RUNS       stop a target after this many executions instead (0: no limit; default 0)
#   TARGET     default: every target
# Environment: FUZZ_WORK (working corpus, logs and crash artifacts; default a temporary
#              directory, removed at the end unless something crashed), FUZZ_NICE (nice level,
#              default 0), FUZZ_FORK=N (libFuzzer's -fork=N -ignore_crashes=1: keep fuzzing
#              after a crash and collect every crashing input, e.g. while a known crash is
#              being fixed; the target still fails if any input crashed), FUZZ_TIMEOUT (seconds
#              one input may take before it is reported as a hang; default 120, generous
#              because libFuzzer measures wall-clock time and a shared machine stalls).
# Prints one line per target: executions, exec/s, result. Exit status 1 if any target failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD_DIR SECONDS [RUNS] [TARGET...]}
secs=${2:?usage: run.sh BUILD_DIR SECONDS [RUNS] [TARGET...]}
runs=${3:-0}
shift $(( $# < 3 ? $# : 3 ))
targets=("$@")
[ ${#targets[@]} -eq 0 ] &&
  targets=(fuzz_frame fuzz_csv fuzz_model_json fuzz_geojson fuzz_import fuzz_handset fuzz_jt808
    fuzz_jt808_msg fuzz_jt808_server)

keep=1
if [ -z "${FUZZ_WORK:-}" ]; then
  FUZZ_WORK=$(mktemp -d "${TMPDIR:-/tmp}/lpg-fuzz.XXXXXX")
  keep=0
fi
mkdir -p "$FUZZ_WORK"

# Per target: the largest input (the handset's exchanges and the frame codec's streams are
# longer than libFuzzer's default) and the time one input may take before it counts as a hang.
max_len() {
  case $1 in
    fuzz_frame) echo 70000 ;;
    fuzz_handset) echo 8192 ;;
    fuzz_import) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

# Sanitizers: fail on the first finding; leaks are findings too. A 16 MiB quarantine (default
# 256) still holds every block freed during one input (a use after free is caught within the
# input that frees), and halves the time of the in-process targets, which build a service per
# input: with the default, every input touches fresh pages.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1:quarantine_size_mb=16}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/$t"
  if [ ! -x "$bin" ]; then
    echo "fuzz: $t: not built ($bin)"
    failed=1
    continue
  fi
  corpus="$FUZZ_WORK/$t"
  mkdir -p "$corpus"
  cp -n "$here/corpus/$t/"* "$corpus/" 2>/dev/null
  log="$FUZZ_WORK/$t.log"
  fork=()
  [ -n "${FUZZ_FORK:-}" ] && fork=(-fork="$FUZZ_FORK" -ignore_crashes=1)
  nice -n "${FUZZ_NICE:-0}" "$bin" -max_total_time="$secs" -runs="${runs/#0/-1}" \
    -max_len="$(max_len "$t")" -timeout="${FUZZ_TIMEOUT:-120}" -rss_limit_mb=2048 -print_final_stats=1 \
    "${fork[@]}" -artifact_prefix="$FUZZ_WORK/$t-" "$corpus" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ -n "${FUZZ_FORK:-}" ]; then
    # The parent's last status line: "#N: cov: .. exec/s: R oom/timeout/crash: a/b/c ..."
    last=$(grep -E '^#[0-9]+: cov' "$log" | tail -1)
    execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
    rate=$(sed -E 's/.*exec\/s: ([0-9]+).*/\1/' <<<"$last")
    crashes=$(ls "$FUZZ_WORK/$t-"crash-* "$FUZZ_WORK/$t-"leak-* "$FUZZ_WORK/$t-"timeout-* 2>/dev/null | wc -l)
    [ "$crashes" -gt 0 ] && rc=1
    echo "fuzz: $t: $crashes crashing inputs collected (fork mode): ${last:-no status}"
  fi
  if [ $rc -eq 0 ]; then
    echo "fuzz: $t: ${execs:-?} executions, ${rate:-?} exec/s, no crash"
  else
    failed=1
    keep=1
    echo "fuzz: $t: FAILED (exit $rc) after ${execs:-?} executions; log $log:"
    grep -E 'ERROR|SUMMARY|^    #[0-9]+ .* in |Test unit written' "$log" | head -30
  fi
done
[ $keep -eq 0 ] && rm -rf "$FUZZ_WORK"
exit $failed
