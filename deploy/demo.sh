#!/usr/bin/env bash
# The live demo, started by deploy/run.sh once dispatchd runs (LPG_DEMO=0 turns it off): loads
# a demo enterprise in Hailar (Hulunbuir) -- zones, delivery staff with certificates (one
# expired), vehicles, customers (one underground) -- through the HTTP API, then runs a vehicle
# unit: a real gpsd fed by tests/agent/gps_replay.py (gpsfake's engine) with a real recorded
# drive moved to Hailar's north zone, and lpg-agent sending its positions to dispatchd. It
# places three orders (assigned, refused, waiting), then prints what happens every 10 s:
# positions arriving, the orders, alerts (the drive goes over the zone's 40 km/h within about
# a minute). SIGTERM/SIGINT stop the agent and gpsd.
#
# Not in this demo yet: cylinders (loading, hand-over, safety checks) and a simulator for a
# larger fleet.
#
# Environment (set by run.sh): LPG_HTTP_PORT, LPG_HANDSET_PORT, LPG_BUILD_DIR, LPG_VAR_DIR,
# LPG_DEMO_ADMIN, LPG_DEMO_PASSWORD (the admin run.sh created before dispatchd started).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
http_port=${LPG_HTTP_PORT:-8080}
handset_port=${LPG_HANDSET_PORT:-7070}
build_dir=${LPG_BUILD_DIR:-$top/build}
var_dir=${LPG_VAR_DIR:-$top/var}
admin=${LPG_DEMO_ADMIN:-demo-admin}
password=${LPG_DEMO_PASSWORD:-demo password 2026}
api_url="http://127.0.0.1:$http_port"
demo_dir="$var_dir/demo"
py=/usr/bin/python3   # Debian's python, which has the gps module (stack notes)

mkdir -p "$demo_dir/tmp"
say() { printf 'demo: %s\n' "$*"; }

replay_pid=""
agent_pid=""
stop_demo() {
  trap - INT TERM EXIT
  if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
    kill -TERM "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
  fi
  if [ -n "$replay_pid" ] && kill -0 "$replay_pid" 2>/dev/null; then
    kill -INT "$replay_pid" 2>/dev/null || true   # gps.fake stops gpsd on SIGINT
    wait "$replay_pid" 2>/dev/null || true
  fi
}
trap stop_demo EXIT
trap 'exit 0' INT TERM

# json FIELD: prints a top-level field of the JSON on stdin ("" when absent).
json() { "$py" -c 'import json,sys
try: v = json.load(sys.stdin).get(sys.argv[1], "")
except Exception: v = ""
print("" if v is None else v)' "$1"; }

# api METHOD PATH [BODY]: prints "STATUS BODY".
token=""
api() {
  local auth=()
  [ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
  curl -s -o "$demo_dir/resp" -w '%{http_code}' -X "$1" "${auth[@]}" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} "$api_url$2" || echo -n 000
  echo -n " "
  cat "$demo_dir/resp" 2>/dev/null || true
  echo
}
# create WHAT PATH BODY: 201 created, or 409 kept from an earlier run.
create() {
  local out code
  out=$(api POST "$2" "$3")
  code=${out%% *}
  case "$code" in
    201) say "created $1" ;;
    409) say "$1 exists already (kept from an earlier run)" ;;
    *) say "creating $1 failed: $out"; exit 1 ;;
  esac
}

for _ in $(seq 1 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$api_url/healthz" || true)" = 200 ] && break
  sleep 0.1
done

token=$(api POST /v1/sessions "{\"user\":\"$admin\",\"password\":\"$password\"}" | cut -d' ' -f2- | json token)
[ -n "$token" ] || { say "cannot log in as $admin"; exit 1; }

say "loading the demo enterprise in Hailar (Hulunbuir), as in docs/http-api.md's quick tour"
create "enterprise hlr-gas" /v1/enterprises '{"id":"hlr-gas","name":"Hailar City Gas Co.",
  "licence_no":"NM-HLR-2023-0042","area":{"type":"Polygon","coordinates":[[[119.60,49.15],
  [119.90,49.15],[119.90,49.30],[119.60,49.30],[119.60,49.15]]]}}'
create "dispatcher disp.zhang" /v1/users '{"name":"disp.zhang","role":"dispatcher",
  "enterprise_id":"hlr-gas","password":"dispatch-2026!"}'
create "zone hlr-north (40 km/h)" /v1/zones '{"id":"hlr-north","enterprise_id":"hlr-gas",
  "name":"Hailar north (Hulunbuir Rd)","speed_limit_kmh":40,"shape":{"type":"Polygon",
  "coordinates":[[[119.68,49.22],[119.80,49.22],[119.80,49.27],[119.68,49.27],[119.68,49.22]]]}}'
create "zone hlr-south" /v1/zones '{"id":"hlr-south","enterprise_id":"hlr-gas",
  "name":"Hailar south","shape":{"type":"Polygon","coordinates":[[[119.68,49.17],[119.80,49.17],
  [119.80,49.22],[119.68,49.22],[119.68,49.17]]]}}'
create "vehicle v-101" /v1/vehicles '{"id":"v-101","enterprise_id":"hlr-gas","plate":"蒙E·A1234",
  "kind":"van","permit_no":"150700-DG-0101","permit_expiry":"2027-06-30","capacity":20}'
create "vehicle v-102" /v1/vehicles '{"id":"v-102","enterprise_id":"hlr-gas","plate":"蒙E·B5678",
  "kind":"tricycle","permit_no":"150700-DG-0102","permit_expiry":"2027-03-31","capacity":6}'
create "Wang Wei (north, v-101)" /v1/staff '{"id":"s-wang","enterprise_id":"hlr-gas",
  "name":"Wang Wei","role":"delivery","qualification_no":"QC-150700-0007",
  "qualification_expiry":"2028-12-31","training_no":"ST-2026-113","training_expiry":"2027-08-31",
  "zone_id":"hlr-north","vehicle_id":"v-101","on_duty":true}'
create "Li Na (south, v-102; certificate expired 2026-10-01)" /v1/staff '{"id":"s-li",
  "enterprise_id":"hlr-gas","name":"Li Na","role":"delivery","qualification_no":"QC-150700-0019",
  "qualification_expiry":"2026-10-01","training_no":"ST-2026-140","training_expiry":"2027-08-31",
  "zone_id":"hlr-south","vehicle_id":"v-102","on_duty":true}'
create "customer c-1001 (north)" /v1/customers '{"id":"c-1001","enterprise_id":"hlr-gas",
  "name":"Zhang household","kind":"household","location":{"lon":119.7412,"lat":49.2391},
  "address":"Shengli St 12-3-401","contract_no":"GC-2025-1001","contract_from":"2025-01-01",
  "contract_to":"2027-12-31"}'
create "customer c-4001 (underground premises)" /v1/customers '{"id":"c-4001",
  "enterprise_id":"hlr-gas","name":"Basement noodle shop","kind":"restaurant",
  "location":{"lon":119.7480,"lat":49.2350},"premises":["underground"],
  "contract_no":"GC-2025-4001","contract_from":"2025-01-01"}'
create "customer c-3001 (south)" /v1/customers '{"id":"c-3001","enterprise_id":"hlr-gas",
  "name":"Li household","kind":"household","location":{"lon":119.7301,"lat":49.1950},
  "contract_no":"GC-2026-3001","contract_from":"2026-01-01"}'

# The vehicle unit of v-101: a device of its driver (registering again issues a new secret).
out=$(api POST /v1/devices '{"device_id":"unit-v101","staff_id":"s-wang"}')
secret=$(echo "${out#* }" | json secret)
[ -n "$secret" ] || { say "registering the vehicle unit failed: $out"; exit 1; }
umask 077
printf '%s\n' "$secret" > "$demo_dir/unit-v101.secret"
say "registered vehicle unit unit-v101 for Wang Wei (secret in $demo_dir/unit-v101.secret)"

# A real drive (Rome, 2008, a GPS logger's 1 Hz track) moved to Hailar north and to now; gpsd
# reads it at one point a second through a pseudo-terminal, as from a receiver.
"$py" "$top/tests/agent/gpx_to_nmea.py" "$top/tests/data/tracks/mtk_logger_m241.gpx" \
  "$demo_dir/drive" --center 49.245,119.74 --skip 90 --start "$(date +%s)" >/dev/null
gpsd_port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rm -f "$demo_dir/go"
TMPDIR="$demo_dir/tmp" setsid "$py" "$top/tests/agent/gps_replay.py" --port "$gpsd_port" \
  --log "$demo_dir/drive.1.nmea" --delay 0.333 --go "$demo_dir/go" --linger 3600 \
  >"$demo_dir/replay.log" 2>&1 &
replay_pid=$!
setsid "$build_dir/dispatch/lpg-agent" --device-id=unit-v101 \
  --credential-file="$demo_dir/unit-v101.secret" --spool-dir="$demo_dir/spool-v101" \
  --gpsd-port="$gpsd_port" --server-port="$handset_port" --batch-max-age=2000 \
  --status-interval=30 >"$demo_dir/agent-v101.log" 2>&1 &
agent_pid=$!
for _ in $(seq 1 100); do
  grep -q "gpsd is streaming" "$demo_dir/agent-v101.log" 2>/dev/null && break
  sleep 0.1
done
touch "$demo_dir/go"
say "vehicle v-101 is driving: gpsd on 127.0.0.1:$gpsd_port -> lpg-agent -> dispatchd"

# Orders, as the dispatcher.
token=$(api POST /v1/sessions '{"user":"disp.zhang","password":"dispatch-2026!"}' | cut -d' ' -f2- | json token)
order() {
  local out code body
  out=$(api POST /v1/orders "$2")
  code=${out%% *}
  body=${out#* }
  case "$code" in
    201) say "order for $1: $(echo "$body" | json state), $(echo "$body" | "$py" -c 'import json,sys
o=json.load(sys.stdin); print("to %s on %s" % (o["staff_id"], o["vehicle_id"]) if o.get("staff_id") else "waiting: %s" % o.get("reason"))')" ;;
    *) say "order for $1 refused ($code): $(echo "$body" | "$py" -c 'import json,sys
e=json.load(sys.stdin)["error"]; print("%s: %s" % (e["code"], e["message"]))')" ;;
  esac
}
order "c-1001 (north)" '{"customer_id":"c-1001","items":[{"spec":"YSP-35.5","count":2}]}'
order "c-4001 (underground)" '{"customer_id":"c-4001","items":[{"spec":"YSP-12","count":1}]}'
order "c-3001 (south)" '{"customer_id":"c-3001","items":[{"spec":"YSP-35.5","count":1}]}'

cat <<MSG
demo: where to look (the dispatcher's token below is valid for this run):
  TOKEN=$token
  curl -s -H "Authorization: Bearer \$TOKEN" $api_url/v1/vehicles/v-101          # position
  curl -s -H "Authorization: Bearer \$TOKEN" "$api_url/v1/alerts?vehicle_id=v-101"  # alerts
  curl -s -H "Authorization: Bearer \$TOKEN" $api_url/v1/orders                  # orders
  curl -sN -H "Authorization: Bearer \$TOKEN" $api_url/v1/events                 # live feed
  $build_dir/dispatch/lpg-agent --status --spool-dir=$demo_dir/spool-v101
  logs: $demo_dir/agent-v101.log, $demo_dir/replay.log
MSG

while true; do
  sleep 10
  pos=$(api GET /v1/vehicles/v-101 | cut -d' ' -f2- | "$py" -c 'import json,sys
v=json.load(sys.stdin); p=v.get("position")
print("v-101 at %.5f,%.5f (%s)" % (p["lat"], p["lon"], v.get("position_at")) if p else "v-101: no position yet")' 2>/dev/null || echo "v-101: ?")
  alerts=$(api GET "/v1/alerts?vehicle_id=v-101" | cut -d' ' -f2- | "$py" -c 'import json,sys
a=json.load(sys.stdin).get("items", [])
print("%d alerts%s" % (len(a), (", last: " + a[-1].get("message", "")) if a else ""))' 2>/dev/null || echo "alerts: ?")
  st=$("$build_dir/dispatch/lpg-agent" --status --spool-dir="$demo_dir/spool-v101" 2>/dev/null | cut -d' ' -f1-6 || true)
  say "$pos; $alerts; agent: $st"
done
