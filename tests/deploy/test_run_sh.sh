#!/usr/bin/env bash
# deploy/run.sh end to end, in a private build and data directory on free ports:
#   1. it builds, starts Redis and dispatchd, and /healthz answers 200;
#   2. SIGTERM (what run.sh gets from a service manager; Ctrl-C takes the same path) stops
#      dispatchd and Redis, leaving no process behind;
#   3. a second run reuses the data written during the first;
#   4. Redis runs with deploy/redis.conf's maxmemory and noeviction.
# Without the demo (LPG_DEMO=0: dispatchd alone, in the foreground); the demo has its own test,
# test_run_demo.py.
# Usage: test_run_sh.sh SOURCE_DIR [BUILD_DIR]   (BUILD_DIR: the release build run.sh uses;
#        default a private one)
set -euo pipefail
src=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/lpg-runsh.XXXXXX")
runner_pid=""
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export LPG_REDIS_PORT=$(free_port) LPG_HTTP_PORT=$(free_port) LPG_HANDSET_PORT=$(free_port) \
  LPG_JT808_PORT=$(free_port)

cleanup() {
  # run.sh stops what it started; wait for it. Then, as a last resort, patterns only this
  # test's processes have (dispatchd's command line need not name $work with a shared build
  # directory, and redis-server rewrites its title).
  if [ -n "$runner_pid" ] && kill -0 "$runner_pid" 2>/dev/null; then
    kill -TERM "$runner_pid"
    for _ in $(seq 1 200); do kill -0 "$runner_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  for pattern in "$work" "--http-port=$LPG_HTTP_PORT " "redis-server 127.0.0.1:$LPG_REDIS_PORT"; do
    pkill -KILL -f -- "$pattern" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
export LPG_BUILD_DIR="${2:-$work/build}" LPG_VAR_DIR="$work/var" LPG_DEMO=0

fail() { echo "test_run_sh: FAIL: $*" >&2; cat "$work/run.log" >&2 || true; exit 1; }

start_run() {
  "$src/deploy/run.sh" >"$work/run.log" 2>&1 &
  runner_pid=$!
  for _ in $(seq 1 600); do
    # HTTPS, verified against the private CA run.sh made (var/tls/ca.pem).
    if curl -s --cacert "$work/var/tls/ca.pem" -o /dev/null -w '%{http_code}' \
         "https://127.0.0.1:$LPG_HTTP_PORT/healthz" 2>/dev/null | grep -q 200; then
      return 0
    fi
    kill -0 "$runner_pid" 2>/dev/null || fail "run.sh exited before /healthz answered 200"
    sleep 0.1
  done
  fail "/healthz did not answer 200 within 60 s"
}

stop_run() {
  kill -TERM "$runner_pid"
  for _ in $(seq 1 100); do
    kill -0 "$runner_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$runner_pid" 2>/dev/null && fail "run.sh did not stop within 10 s of SIGTERM"
  wait "$runner_pid" || true
  runner_pid=""
  if pgrep -f -- "$work" >/dev/null; then fail "processes left behind: $(pgrep -af -- "$work")"; fi
  # dispatchd's command line need not name $work (a shared build directory), nor does
  # redis-server's (it rewrites its title): their ports tell.
  for p in "$LPG_REDIS_PORT" "$LPG_HTTP_PORT" "$LPG_HANDSET_PORT" "$LPG_JT808_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then fail "port $p still answers"; fi
  done
  grep -q "dispatchd stopped (exit 0)" "$work/run.log" || fail "dispatchd did not stop cleanly"
}

start_run
echo "test_run_sh: first run up on https $LPG_HTTP_PORT, redis $LPG_REDIS_PORT"
# Plain HTTP gets no answer, and Redis refuses a client without its password.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LPG_HTTP_PORT/healthz" || true)
[ "$code" = 000 ] || fail "plain HTTP answered $code on the TLS port"
redis-cli -p "$LPG_REDIS_PORT" PING 2>&1 | grep -q NOAUTH || fail "Redis answered without a password"
export REDISCLI_AUTH
REDISCLI_AUTH=$(cat "$work/var/redis.password")
redis-cli -p "$LPG_REDIS_PORT" SET lpg:test:run_sh_marker kept >/dev/null
# Redis runs with the shipped ceiling (deploy/redis.conf), refusing writes rather than evicting.
maxmem=$(redis-cli -p "$LPG_REDIS_PORT" CONFIG GET maxmemory | sed -n 2p)
[ "$maxmem" = "4294967296" ] || fail "redis maxmemory is '$maxmem', want 4gb from deploy/redis.conf"
policy=$(redis-cli -p "$LPG_REDIS_PORT" CONFIG GET maxmemory-policy | sed -n 2p)
[ "$policy" = "noeviction" ] || fail "redis maxmemory-policy is '$policy', want noeviction"
stop_run
echo "test_run_sh: first run stopped cleanly"

start_run
got=$(redis-cli -p "$LPG_REDIS_PORT" GET lpg:test:run_sh_marker)
[ "$got" = "kept" ] || fail "second run did not reuse the data (got '$got')"
stop_run
echo "test_run_sh: second run reused the data and stopped cleanly: PASS"
