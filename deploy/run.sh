#!/usr/bin/env bash
# Installs what is missing, builds a release into build/, starts a private redis-server
# (loopback, its own port, data and AOF under var/redis) and then dispatchd in the foreground
# with deploy/dispatchd.conf. Ctrl-C or SIGTERM stops both cleanly; a second run reuses the data.
#
# With LPG_DEMO=1 (the default) it also runs the live demo (deploy/demo.sh): a demo enterprise
# in Hailar, a vehicle unit (gpsd replaying a real drive, lpg-agent), orders and alerts.
#
# Environment: LPG_REDIS_PORT (default 6390), LPG_HTTP_PORT (8080), LPG_HANDSET_PORT (7070),
#              LPG_BUILD_DIR (build/), LPG_VAR_DIR (var/: Redis data and logs),
#              LPG_DEMO (1: run the demo; 0: only Redis and dispatchd).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

redis_port=${LPG_REDIS_PORT:-6390}
http_port=${LPG_HTTP_PORT:-8080}
handset_port=${LPG_HANDSET_PORT:-7070}
build_dir=${LPG_BUILD_DIR:-$top/build}
var_dir=${LPG_VAR_DIR:-$top/var}
demo=${LPG_DEMO:-1}
export LPG_DEMO_ADMIN=demo-admin LPG_DEMO_PASSWORD="demo password 2026"

"$top/deploy/install-deps.sh"

echo "run: building release into $build_dir"
cmake -S "$top" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DLPG_BUILD_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j "$(nproc)" >/dev/null
dispatchd="$build_dir/dispatch/dispatchd"

mkdir -p "$var_dir/redis" "$var_dir/log"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$redis_port" "$http_port" "$handset_port"; do
  if port_in_use "$p"; then
    echo "run: error: port $p on 127.0.0.1 is already in use (another run.sh, or a system" >&2
    echo "     service?). Stop it, or choose ports with LPG_REDIS_PORT / LPG_HTTP_PORT /" >&2
    echo "     LPG_HANDSET_PORT." >&2
    exit 1
  fi
done

redis_pid=""
dispatchd_pid=""
demo_pid=""
stop_all() {
  trap - INT TERM EXIT
  if [ -n "$demo_pid" ] && kill -0 "$demo_pid" 2>/dev/null; then
    echo "run: stopping the demo (lpg-agent, gpsd)"
    kill -TERM "$demo_pid" 2>/dev/null || true
    wait "$demo_pid" 2>/dev/null || true
  fi
  if [ -n "$dispatchd_pid" ] && kill -0 "$dispatchd_pid" 2>/dev/null; then
    echo "run: stopping dispatchd"
    kill -TERM "$dispatchd_pid" 2>/dev/null || true
    wait "$dispatchd_pid" 2>/dev/null || true
  fi
  if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
    echo "run: stopping redis-server (data kept in $var_dir/redis)"
    kill -TERM "$redis_pid" 2>/dev/null || true   # SIGTERM: redis saves and exits
    wait "$redis_pid" 2>/dev/null || true
  fi
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Redis in its own session, so that Ctrl-C reaches dispatchd first and Redis is stopped
# after dispatchd has flushed its writes.
echo "run: starting redis-server on 127.0.0.1:$redis_port (data: $var_dir/redis, log: $var_dir/log/redis.log)"
setsid redis-server "$top/deploy/redis.conf" --port "$redis_port" --dir "$var_dir/redis" \
  --logfile "$var_dir/log/redis.log" &
redis_pid=$!
for _ in $(seq 1 100); do
  if redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; then break; fi
  if ! kill -0 "$redis_pid" 2>/dev/null; then
    echo "run: error: redis-server exited; see $var_dir/log/redis.log" >&2
    tail -n 20 "$var_dir/log/redis.log" >&2 || true
    exit 1
  fi
  sleep 0.1
done
if ! redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; then
  echo "run: error: redis-server did not answer on port $redis_port within 10 s" >&2
  exit 1
fi

if [ "$demo" = 1 ]; then
  # The demo's administrator, created before dispatchd starts (a running instance loads its
  # users at start).
  printf '%s\n' "$LPG_DEMO_PASSWORD" | "$dispatchd" --redis-port="$redis_port" \
    --create-admin "$LPG_DEMO_ADMIN" >/dev/null
fi

cat <<MSG
run: starting dispatchd (config deploy/dispatchd.conf); Ctrl-C stops everything.

  Where to look:
    curl -s http://127.0.0.1:$http_port/healthz        service and Redis health (JSON)
    curl -s http://127.0.0.1:$http_port/metrics        Prometheus metrics
    redis-cli -p $redis_port --scan --pattern 'lpg:*'   what the service stored
    handset protocol on 127.0.0.1:$handset_port (proto/README.md)
    logs: dispatchd below; Redis in $var_dir/log/redis.log

MSG
# dispatchd in its own session too: the terminal's Ctrl-C reaches only this script, which
# forwards exactly one SIGTERM (a second signal would make dispatchd skip its drain).
setsid "$dispatchd" --config "$top/deploy/dispatchd.conf" --redis-port="$redis_port" \
  --http-port="$http_port" --handset-port="$handset_port" &
dispatchd_pid=$!
if [ "$demo" = 1 ]; then
  export LPG_HTTP_PORT=$http_port LPG_HANDSET_PORT=$handset_port LPG_BUILD_DIR=$build_dir \
    LPG_VAR_DIR=$var_dir
  setsid "$top/deploy/demo.sh" &
  demo_pid=$!
fi
set +e
wait "$dispatchd_pid"
status=$?
set -e
dispatchd_pid=""
echo "run: dispatchd exited with status $status"
exit $status
