#!/usr/bin/env bash
# deploy/build-progress.sh (run.sh's build step, issue 13): fed cmake's output (Makefiles and
# Ninja styles), in a pipe it prints one progress line per tenth of the way, naming the source
# being built, ends with the time taken, keeps the whole output in its log; and says "up to
# date" when nothing was built.
# Usage: check_build_progress.sh SOURCE_DIR
set -euo pipefail
src=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/lpg-progress.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "check_build_progress: FAIL: $*" >&2; cat "$work/out" >&2 || true; exit 1; }

{
  for i in $(seq 1 50); do
    printf '[%3d%%] Building C object dispatch/CMakeFiles/lpg_core.dir/core/f%02d.c.o\n' $((i * 2 - 1)) "$i"
    printf '[%3d%%] Built target lpg_core\n' $((i * 2))
  done
  printf '[100%%] Linking C executable dispatchd\n'
} | "$src/deploy/build-progress.sh" "$work/build.log" run >"$work/out"
lines=$(grep -c '^run: building ' "$work/out") || true
[ "$lines" -ge 9 ] && [ "$lines" -le 11 ] || fail "$lines progress lines for a build, want one per 10 %"
grep -q '^run: building   1% dispatch/core/f01.c$' "$work/out" || fail "no first step naming its source"
grep -q '^run: building  5[0-9]% dispatch/core/f2[0-9].c$' "$work/out" || fail "no step at half way"
grep -q '^run: built in [0-9]* s' "$work/out" || fail "no closing line with the time taken"
[ "$(wc -l <"$work/build.log")" = 101 ] || fail "the log does not hold the whole output"

printf '[%d/%d] Building C object x/CMakeFiles/t.dir/a.c.o\n' 1 4 2 4 3 4 4 4 |
  "$src/deploy/build-progress.sh" "$work/build.log" run >"$work/out"
grep -q '^run: building  25% x/a.c$' "$work/out" || fail "Ninja's [n/m] not shown as a percentage"

printf '[ 50%%] Built target a\n[100%%] Built target dispatchd\n' |
  "$src/deploy/build-progress.sh" "$work/build.log" run >"$work/out"
[ "$(cat "$work/out")" = "run: build up to date" ] || fail "an up-to-date build not said so"
echo "check_build_progress: PASS"
