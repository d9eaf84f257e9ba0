#!/usr/bin/env bash
# dispatchd says at start whether glibc's per-thread malloc cache is off, and does not turn it
# off by re-executing itself (issue 11: that hid the tuning from operators, valgrind and gdb):
# started without GLIBC_TUNABLES it runs as it was started, with it it reports it.
# Usage: check_malloc_tuning.sh DISPATCHD
set -euo pipefail
dispatchd=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/malloc.XXXXXX")
pid=
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# Starts dispatchd with the given environment (no Redis behind port 1: it waits and retries),
# waits for its "malloc:" line, prints it, and checks the process was not replaced.
start_and_read() {
  env -u GLIBC_TUNABLES "$@" "$dispatchd" --redis-port=1 --http-port=$((20000 + RANDOM % 20000)) \
    --handset-port=$((40000 + RANDOM % 10000)) --jt808-port=$((50000 + RANDOM % 10000)) \
    >"$tmp/log" 2>&1 &
  pid=$!
  for _ in $(seq 1 400); do
    grep -q 'malloc:' "$tmp/log" && break
    sleep 0.05
  done
  line=$(grep 'malloc:' "$tmp/log" || true)
  if [ -z "$line" ]; then
    # (this runs in a command substitution: the EXIT trap does not, so stop it here)
    kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    echo "malloc: no 'malloc:' line in the start-up log:" >&2; cat "$tmp/log" >&2; exit 1
  fi
  # The environment of the running process is the one it was started with.
  if [ -r "/proc/$pid/environ" ]; then
    env_now=$(tr '\0' '\n' <"/proc/$pid/environ" | grep '^GLIBC_TUNABLES=' || true)
    printf 'env:%s\n' "$env_now"
  fi
  printf '%s\n' "$line"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  pid=
}

out=$(start_and_read)
case "$out" in
  *env:GLIBC_TUNABLES=*) echo "malloc: dispatchd set GLIBC_TUNABLES for itself: $out" >&2; exit 1 ;;
esac
case "$out" in
  *"per-thread cache on"*) ;;
  *) echo "malloc: without the tunable, expected 'per-thread cache on': $out" >&2; exit 1 ;;
esac
out=$(start_and_read GLIBC_TUNABLES=glibc.malloc.tcache_count=0)
case "$out" in
  *"per-thread cache off"*) ;;
  *) echo "malloc: with the tunable, expected 'per-thread cache off': $out" >&2; exit 1 ;;
esac
echo "malloc: dispatchd runs as started and reports the tunable both ways"
