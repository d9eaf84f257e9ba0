#!/usr/bin/env bash
# Installs what is missing, builds a release into build/, starts a private redis-server
# (loopback, its own port, data and AOF under var/redis) and then dispatchd with
# deploy/dispatchd.conf. Ctrl-C or SIGTERM stops everything cleanly; a second run reuses the data.
#
# With the live demo (the default; docs/demo.md): before dispatchd starts, the demo admin is
# created if missing; once dispatchd is healthy, the demo data set (Hailar) is loaded over HTTP
# and a simulated fleet of handsets (deploy/demo/) drives, delivers and breaks the rules, while
# this script prints what happens and where to look. dispatchd's log then goes to
# var/log/dispatchd.log. LPG_DEMO=0: dispatchd alone, in the foreground, as before.
#
# Encrypted and authenticated as in production: a private CA and a server certificate for
# 127.0.0.1 and localhost under var/tls/ (made on the first run, reused after), HTTPS and TLS
# on the handset port, the vehicle units and simulated handsets verifying dispatchd against the
# CA; Redis with a random password in var/redis.password (made on the first run), given to Redis
# and dispatchd through files readable by this user only (never on a command line). The audit
# chain's checkpoints signed with an Ed25519 key made on the first run (var/audit-signing.key,
# 0600); its public key is printed at every start.
#
# Environment: LPG_REDIS_PORT (default 6390), LPG_HTTP_PORT (8080), LPG_HANDSET_PORT (7070),
#              LPG_JT808_PORT (7808: JT/T 808 terminals, plain TCP as terminals speak it),
#              LPG_BUILD_DIR (build/), LPG_VAR_DIR (var/: Redis data, logs, demo state),
#              LPG_DEMO (1: the live demo; 0: none).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
# A path as the reader types it: relative to the checkout when inside it.
rel() { case $1 in "$top"/*) printf '%s' "${1#"$top"/}" ;; *) printf '%s' "$1" ;; esac; }

redis_port=${LPG_REDIS_PORT:-6390}
http_port=${LPG_HTTP_PORT:-8080}
handset_port=${LPG_HANDSET_PORT:-7070}
jt808_port=${LPG_JT808_PORT:-7808}
build_dir=${LPG_BUILD_DIR:-$top/build}
var_dir=${LPG_VAR_DIR:-$top/var}
demo=${LPG_DEMO:-1}
demo_dir=$var_dir/demo
demo_admin=demo-admin
# Debian's python3 explicitly: a python3 earlier on PATH (pyenv...) lacks python3-protobuf.
python=/usr/bin/python3

# Progress, step by step: a first run installs packages and builds for a minute or more.
echo "run: [1/4] packages: checking (deploy/install-deps.sh)"
"$top/deploy/install-deps.sh"

echo "run: [2/4] build: configuring a release build in $build_dir (cmake)"
mkdir -p "$build_dir"
if ! cmake -S "$top" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DLPG_BUILD_TESTS=OFF \
     >"$build_dir/configure.log" 2>&1; then
  tail -n 30 "$build_dir/configure.log" >&2
  echo "run: error: cmake could not configure the build (all of it in $build_dir/configure.log)" >&2
  exit 1
fi
if ! cmake --build "$build_dir" -j "$(nproc)" 2>&1 |
     "$top/deploy/build-progress.sh" "$build_dir/build.log" run; then
  tail -n 30 "$build_dir/build.log" >&2
  echo "run: error: the build failed (all of its output in $build_dir/build.log)" >&2
  exit 1
fi
dispatchd="$build_dir/dispatch/dispatchd"

mkdir -p "$var_dir/redis" "$var_dir/log"

# ---- TLS: a private CA and dispatchd's certificate (openssl CLI), kept for later runs ----
tls_dir=$var_dir/tls
ca=$tls_dir/ca.pem
server_cert=$tls_dir/server.pem
server_key=$tls_dir/server.key
make_tls() {
  mkdir -p "$tls_dir"
  chmod 700 "$tls_dir"
  (
    umask 077
    cd "$tls_dir"
    if [ ! -s ca.pem ] || [ ! -s ca.key ]; then
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
        -out ca.pem -days 3650 -subj "/CN=lpg-dispatch private CA ($(uname -n))" 2>/dev/null
      rm -f server.pem server.key
      echo "run: created a private CA in $tls_dir/ca.pem (clients verify dispatchd with it)"
    fi
    # A certificate that no longer verifies (expired, or from an older CA) is made again.
    if [ ! -s server.pem ] || [ ! -s server.key ] ||
       ! openssl verify -CAfile ca.pem server.pem >/dev/null 2>&1 ||
       ! openssl x509 -in server.pem -noout -checkend 86400 >/dev/null; then
      printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "extendedKeyUsage=serverAuth" \
        "basicConstraints=critical,CA:FALSE" >server.ext
      openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
        -out server.csr -subj "/CN=localhost" 2>/dev/null
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
        -extfile server.ext -out server.pem 2>/dev/null
      rm -f server.csr server.ext
      echo "run: created dispatchd's certificate $tls_dir/server.pem (127.0.0.1, localhost)"
    fi
  )
}
make_tls

# ---- Redis password: random on the first run, in files only this user reads ----
if [ ! -s "$var_dir/redis.password" ]; then
  (umask 077 && "$python" -c 'import secrets; print(secrets.token_urlsafe(24))' \
    >"$var_dir/redis.password")
  echo "run: created a Redis password in $var_dir/redis.password"
fi
redis_password=$(cat "$var_dir/redis.password")
(umask 077 && printf 'requirepass "%s"\n' "$redis_password" >"$var_dir/redis-auth.conf")
(umask 077 && printf 'redis_password = "%s"\n' "$redis_password" >"$var_dir/dispatchd-secrets.conf")
# redis-cli takes the password from the environment (not from its command line, which ps shows).
export REDISCLI_AUTH=$redis_password

# ---- the audit signing key (docs/audit.md, "Checkpoints"): made on the first run, kept ----
# dispatchd signs the audit chain's head with it (GET /v1/audit/checkpoint); auditors verify
# those checkpoints with the public key printed here (also GET /v1/audit/key).
signing_key=$var_dir/audit-signing.key
if [ ! -s "$signing_key" ]; then
  "$dispatchd" --create-signing-key "$signing_key" >/dev/null
  echo "run: created the audit signing key $(rel "$signing_key") (mode 0600)"
fi
openssl pkey -in "$signing_key" -pubout -out "$var_dir/audit-signing.pub.pem"
signing_key_id=$(openssl pkey -in "$signing_key" -pubout -outform DER | tail -c 32 | sha256sum |
                 cut -d' ' -f1)
echo "run: audit checkpoints are signed by key_id $signing_key_id;" \
  "its public key ($(rel "$var_dir")/audit-signing.pub.pem):"
sed 's/^/  /' "$var_dir/audit-signing.pub.pem"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$redis_port" "$http_port" "$handset_port" "$jt808_port"; do
  if port_in_use "$p"; then
    echo "run: error: port $p on 127.0.0.1 is already in use (another run.sh, or a system" >&2
    echo "     service?). Stop it, or choose ports with LPG_REDIS_PORT / LPG_HTTP_PORT /" >&2
    echo "     LPG_HANDSET_PORT / LPG_JT808_PORT." >&2
    exit 1
  fi
done

redis_pid=""
dispatchd_pid=""
fleet_pid=""
agent_pids=()
replay_pids=()
stop_all() {
  trap - INT TERM EXIT
  # The handsets and vehicle units first (they talk to dispatchd), then dispatchd, then Redis.
  for pid in "${agent_pids[@]}" $fleet_pid; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  # gpsfake's engine stops its gpsd on SIGINT (SIGTERM would leave it running).
  for pid in "${replay_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -INT "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [ -n "$fleet_pid" ]; then echo "run: demo fleet stopped"; fi
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
echo "run: [3/4] starting redis-server on 127.0.0.1:$redis_port (data: $(rel "$var_dir")/redis," \
  "log: $(rel "$var_dir")/log/redis.log)"
setsid redis-server "$top/deploy/redis.conf" --port "$redis_port" --dir "$var_dir/redis" \
  --logfile "$var_dir/log/redis.log" --include "$var_dir/redis-auth.conf" &
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

# The demo admin is created before dispatchd starts: a running dispatchd loaded its users at
# start and would not see a user created meanwhile (docs/http-api.md, quick tour).
prepare_demo() {
  mkdir -p "$demo_dir"
  chmod 700 "$demo_dir"
  local prefix
  prefix=$(sed -n 's/^redis_key_prefix *= *//p' "$top/deploy/dispatchd.conf")
  if [ ! -s "$demo_dir/admin.password" ] ||
     [ "$(redis-cli -p "$redis_port" EXISTS "${prefix}user:$demo_admin")" != 1 ]; then
    (umask 077 && "$python" -c 'import secrets; print(secrets.token_urlsafe(18))' \
      >"$demo_dir/admin.password")
    "$dispatchd" --config "$top/deploy/dispatchd.conf" --config "$var_dir/dispatchd-secrets.conf" \
      --redis-port="$redis_port" --create-admin "$demo_admin" <"$demo_dir/admin.password" >/dev/null
    echo "run: demo: created the admin user $demo_admin (password in $demo_dir/admin.password)"
  fi
  # The handset client's protobuf modules, generated at run time, never into the source tree.
  rm -rf "$demo_dir/gen"
  mkdir -p "$demo_dir/gen"
  (cd "$top/proto" && protoc --proto_path=. --python_out="$demo_dir/gen" lpg/v1/*.proto)
}

# The vehicle units: a real recorded drive per reserved vehicle of the data set
# (dataset.AGENT_FLEET), moved into its zone and to now, replayed by gpsfake's engine
# (tests/agent/gps_replay.py, python3-gps) into a private gpsd, which lpg-agent reads and reports
# to dispatchd with the unit's device secret -- the same path as a delivery vehicle's Linux unit
# (docs/agent.md). Their pids go to agent_pids and replay_pids, so stop_all stops them.
start_vehicle_units() {
  local unit zone track skip secret gpsd_port centre
  for spec in "unit-201 hlr-hulun mtk_logger_m241.gpx 90" "unit-202 hlr-bayanhan dg100.gpx 0"; do
    read -r unit zone track skip <<<"$spec"
    secret=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])'       "$demo_dir/devices.json" "$unit") || { echo "run: demo: no secret for $unit" >&2; return 1; }
    (umask 077 && printf '%s\n' "$secret" >"$demo_dir/$unit.secret")
    centre=$("$python" -c 'import sys; sys.path.insert(0, sys.argv[1]); import dataset
lon, lat = dataset.zone_centre(sys.argv[2]); print("%s,%s" % (lat, lon))' "$top/deploy/demo" "$zone")
    "$python" "$top/tests/agent/gpx_to_nmea.py" "$top/tests/data/tracks/$track" \
      "$demo_dir/$unit-drive" --center "$centre" --skip "$skip" --start "$(date +%s)" >/dev/null
    gpsd_port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$demo_dir/tmp-$unit"
    rm -f "$demo_dir/$unit.go"
    # one NMEA sentence every 1/3 s: the GPX gives three per second of the drive (RMC, GGA, GSA)
    TMPDIR="$demo_dir/tmp-$unit" setsid "$python" "$top/tests/agent/gps_replay.py" \
      --port "$gpsd_port" --log "$demo_dir/$unit-drive.1.nmea" --delay 0.333 \
      --go "$demo_dir/$unit.go" --linger 86400 >"$var_dir/log/replay-$unit.log" 2>&1 &
    replay_pids+=($!)
    setsid "$build_dir/dispatch/lpg-agent" --device-id="$unit" \
      --credential-file="$demo_dir/$unit.secret" --spool-dir="$demo_dir/spool-$unit" \
      --gpsd-port="$gpsd_port" --server-port="$handset_port" --tls-ca="$ca" --batch-max-age=2000 \
      --status-interval=30 >>"$var_dir/log/agent-$unit.log" 2>&1 &
    agent_pids+=($!)
    for _ in $(seq 1 100); do
      grep -q "gpsd is streaming" "$var_dir/log/agent-$unit.log" 2>/dev/null && break
      sleep 0.1
    done
    touch "$demo_dir/$unit.go"
    echo "run: demo: vehicle unit $unit: $track in $zone -> gpsd :$gpsd_port -> lpg-agent"
  done
}

# The JT/T 808 truck (dataset.JT808_FLEET): lpg-jt808-sim (tests/jt808sim) is its satellite
# terminal. It registers (0x0100, the plate of its vehicle), authenticates with the code of
# 0x8100, inserts its driver's card (0x0702, the certificate of the person bound to the truck)
# and replays a real recorded drive (tests/data/tracks/mtk_logger_m241.gpx, moved into its zone
# by tests/agent/gpx_to_nmea.py) at its recorded pace; after two minutes its link drops for 45 s
# (a blind area) and it backfills what it kept as 0x0704. Its pid goes to agent_pids (stop_all).
start_jt808_terminal() {
  local -a v
  mapfile -t v < <("$python" -c 'import sys; sys.path.insert(0, sys.argv[1]); import dataset
t = dataset.JT808_FLEET[0]; lon, lat = dataset.zone_centre(t["zone"])
for x in (t["vehicle"], t["terminal"], t["plate"], t["name"], dataset.certificate(t),
          t["zone"], "%s,%s" % (lat, lon)): print(x)' "$top/deploy/demo")
  local vehicle=${v[0]} terminal=${v[1]} plate=${v[2]} name=${v[3]} cert=${v[4]} zone=${v[5]}
  "$python" "$top/tests/agent/gpx_to_nmea.py" "$top/tests/data/tracks/mtk_logger_m241.gpx" \
    "$demo_dir/$vehicle-drive" --center "${v[6]}" >/dev/null
  setsid "$build_dir/tests/jt808sim/lpg-jt808-sim" --port="$jt808_port" --terminal="$terminal" \
    --register --plate="$plate" --track="$demo_dir/$vehicle-drive.csv" --driver-name="$name" \
    --certificate="$cert" --backfill=120:45 >>"$var_dir/log/jt808-$vehicle.log" 2>&1 &
  agent_pids+=($!)
  echo "run: demo: JT/T 808 truck $vehicle: lpg-jt808-sim, terminal $terminal, $name's card"
}

wait_healthy() {
  for _ in $(seq 1 300); do
    if [ "$(curl -s --cacert "$ca" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$http_port/healthz")" = 200 ]
    then return 0; fi
    kill -0 "$dispatchd_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# The where-to-look guide, in $demo_dir/guide.txt: demo.py prints it at the start, again once
# every scripted episode has happened, and on demand (a key here, or SIGUSR1 to this script).
# Its indented lines are a shell snippet to paste (tests/deploy/test_run_demo.py runs every
# command of it against the demo and checks that it shows what its comment says). Lines at
# most 100 columns with the default directories.
write_demo_guide() {
  local again="kill -USR1 $$ prints this guide again"
  if [ -t 0 ]; then again="press g (or Enter) here, or: kill -USR1 $$, to see this guide again"; fi
  local v d b
  v=$(rel "$var_dir")
  d=$(rel "$demo_dir")
  b=$(rel "$build_dir")
  cat >"$demo_dir/guide.txt" <<MSG
run: the demo is running: 8 simulated handsets, 2 vehicle units (gpsd + lpg-agent) and a JT/T
  808 truck (lpg-jt808-sim) in Hailar. Below: one line per event that matters (every detail
  in $v/log/demo.log); $again.
  Where to look, from another terminal (tokens valid 8 h; this guide: $d/guide.txt):
    cd $top
    CA=$v/tls/ca.pem; API=https://127.0.0.1:$http_port; FROM=\$(date -u -d -1hour +%FT%TZ)
    TOKEN=\$(cat $d/token); ADMIN=\$(cat $d/admin-token)
    api() { curl -s --cacert "\$CA" -H "Authorization: Bearer \$TOKEN" "\$@"; }
    adm() { curl -s --cacert "\$CA" -H "Authorization: Bearer \$ADMIN" "\$@"; }
    api \$API/v1/orders                   # the orders: delivered, failed, one waiting
    api "\$API/v1/orders?state=created"   # the order waiting for a licensed person, and why
    api \$API/v1/alerts                   # overspeed, roadside_sale, hazard, load_mismatch
    api \$API/v1/hazards                  # the hazard ledger: c-1601's notice, closed
    api \$API/v1/customers/c-1601         # supplied again after its re-inspection: "active"
    api \$API/v1/vehicles/v-103/position  # the speeding vehicle's newest fix
    api "\$API/v1/vehicles/v-103/route?from=\$FROM&to=\$(date -u -d +1min +%FT%TZ)&format=geojson"
    api \$API/v1/vehicles/v-101/load      # what a vehicle carries, its trip
    api \$API/v1/vehicles/v-301/position  # the JT/T 808 truck's newest fix, from its terminal
    api \$API/v1/terminals/013800000301   # its terminal (JT/T 808, 127.0.0.1:$jt808_port)
    api \$API/v1/cylinders/CY-HLR-0001-OVERDUE      # the cylinder overdue for inspection
    adm "\$API/v1/audit/entries?kind=scan_refused"  # scans refused: overdue, moving, away
    adm \$API/v1/audit/verify             # the audit chain: {"ok":true,...}
    api -N \$API/v1/events                # the live feed (Ctrl-C ends it)
    curl -s --cacert "\$CA" \$API/metrics | grep '^lpg_'      # Prometheus metrics
    $b/dispatch/lpg-agent --status --spool-dir=$d/spool-unit-201   # a vehicle unit
    REDISCLI_AUTH=\$(cat $v/redis.password) redis-cli -p $redis_port --scan --pattern 'lpg:*'
  (the last: what the service stored in Redis, which has a password). The console, in a
  browser: https://127.0.0.1:$http_port/console/ (trust $v/tls/ca.pem, or accept the warning),
  user demo-dispatcher, password in $d/dispatcher.password (docs/console.md). TLS: HTTPS
  and the handset port with $v/tls/server.pem, from the private CA $v/tls/ca.pem (plain
  http:// gets no answer). Logs in $v/log/: dispatchd.log, redis.log, demo.log,
  jt808-v-301.log, agent-unit-201.log. Ctrl-C stops everything; LPG_DEMO=0 runs dispatchd
  without the demo.
MSG
}

# glibc's per-thread malloc cache off, as the systemd unit runs it (dispatch/dispatchd.c,
# tune_malloc); an operator's own GLIBC_TUNABLES is kept.
dispatchd_tunables="${GLIBC_TUNABLES:-glibc.malloc.tcache_count=0}"
dispatchd_args=(--config "$top/deploy/dispatchd.conf" --config "$var_dir/dispatchd-secrets.conf"
                --redis-port="$redis_port" --http-port="$http_port" --handset-port="$handset_port"
                --jt808-port="$jt808_port"
                --http-tls-cert="$server_cert" --http-tls-key="$server_key"
                --handset-tls-cert="$server_cert" --handset-tls-key="$server_key"
                --audit-signing-key="$signing_key")
if [ "$demo" != 0 ]; then
  prepare_demo
  echo "run: [4/4] starting dispatchd (config deploy/dispatchd.conf, log:" \
    "$(rel "$var_dir")/log/dispatchd.log)"
  # In its own session (see below); its log to a file, so the terminal shows the demo.
  GLIBC_TUNABLES="$dispatchd_tunables" setsid "$dispatchd" "${dispatchd_args[@]}" >>"$var_dir/log/dispatchd.log" 2>&1 &
  dispatchd_pid=$!
  if ! wait_healthy; then
    echo "run: error: dispatchd did not become healthy; see $var_dir/log/dispatchd.log" >&2
    tail -n 20 "$var_dir/log/dispatchd.log" >&2 || true
    exit 1
  fi
  export PYTHONPATH="$demo_dir/gen:$top/tests/python${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1
  if ! "$python" "$top/deploy/demo/demo.py" load --http-port "$http_port" --ca "$ca" \
       --state-dir "$demo_dir" --admin "$demo_admin" --log "$var_dir/log/demo.log"; then
    echo "run: error: the demo data could not be loaded (LPG_DEMO=0 runs without it)" >&2
    exit 1
  fi
  write_demo_guide
  start_vehicle_units
  start_jt808_terminal
  setsid "$python" "$top/deploy/demo/demo.py" run --http-port "$http_port" --ca "$ca" \
    --handset-port "$handset_port" --state-dir "$demo_dir" --guide "$demo_dir/guide.txt" \
    --log "$var_dir/log/demo.log" &
  fleet_pid=$!
else
cat <<MSG
run: [4/4] starting dispatchd (config deploy/dispatchd.conf); Ctrl-C stops everything.

  Where to look:
    curl -s --cacert $ca https://127.0.0.1:$http_port/healthz   service and Redis health (JSON)
    curl -s --cacert $ca https://127.0.0.1:$http_port/metrics   Prometheus metrics
    https://127.0.0.1:$http_port/console/ in a browser: the console (docs/console.md; CA $ca)
    REDISCLI_AUTH=\$(cat $var_dir/redis.password) redis-cli -p $redis_port --scan --pattern 'lpg:*'
    handset protocol over TLS on 127.0.0.1:$handset_port (proto/README.md; CA $ca)
    JT/T 808 terminals on 127.0.0.1:$jt808_port (plain TCP; docs/jt808.md)
    logs: dispatchd below; Redis in $var_dir/log/redis.log

MSG
# dispatchd in its own session too: the terminal's Ctrl-C reaches only this script, which
# forwards exactly one SIGTERM (a second signal would make dispatchd skip its drain).
GLIBC_TUNABLES="$dispatchd_tunables" setsid "$dispatchd" "${dispatchd_args[@]}" &
dispatchd_pid=$!
fi
# The demo's guide on demand: a key on the terminal (g or Enter), or SIGUSR1 to this script,
# forwarded to demo.py, which owns the narration's lines. Without a terminal, wait is what
# SIGUSR1 interrupts; a key read ending in EOF (Ctrl-D, stdin closed) falls back to that too.
if [ "$demo" != 0 ]; then
  trap 'kill -USR1 "$fleet_pid" 2>/dev/null || true' USR1
  keys=0
  [ -t 0 ] && keys=1
  while kill -0 "$dispatchd_pid" 2>/dev/null; do
    if [ $keys = 1 ]; then
      key=""
      set +e
      IFS= read -r -s -n 1 -t 1 key
      rc=$?
      set -e
      if [ $rc = 0 ]; then
        case $key in g | G | "") kill -USR1 "$fleet_pid" 2>/dev/null || true ;; esac
      elif [ $rc -le 128 ]; then
        keys=0
      fi
    else
      wait "$dispatchd_pid" || true
    fi
  done
fi
set +e
wait "$dispatchd_pid"
status=$?
set -e
dispatchd_pid=""
echo "run: dispatchd exited with status $status"
exit $status
