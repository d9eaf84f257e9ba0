#!/usr/bin/env bash
# Checks the systemd units in deploy/systemd/ with `systemd-analyze verify` (directives,
# sections, executables), with ExecStart pointed at the binaries just built. Skipped (exit 77)
# where systemd-analyze is not installed.
# Usage: check_units.sh SRC_DIR DISPATCHD LPG_AGENT
set -euo pipefail
src=$1 dispatchd=$2 agent=$3
if ! command -v systemd-analyze >/dev/null; then
  echo "units: systemd-analyze not installed; skipped"
  exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/units.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
sed "s#/usr/local/bin/dispatchd#$dispatchd#" "$src/deploy/systemd/dispatchd.service" > "$tmp/dispatchd.service"
sed "s#/usr/local/bin/lpg-agent#$agent#" "$src/deploy/systemd/lpg-agent.service" > "$tmp/lpg-agent.service"
out=$(systemd-analyze verify "$tmp/dispatchd.service" "$tmp/lpg-agent.service" 2>&1 || true)
# Units named by Wants=/After= (redis-server, gpsd) need not exist on a build machine.
problems=$(printf '%s\n' "$out" | grep -v -e 'redis-server.service' -e 'gpsd\.' -e '^$' || true)
if [ -n "$problems" ]; then
  printf '%s\n' "$problems" >&2
  exit 1
fi
for u in dispatchd lpg-agent; do
  for key in 'ProtectSystem=strict' 'NoNewPrivileges=yes' '^User=' '^Restart='; do
    grep -q -- "$key" "$src/deploy/systemd/$u.service" || { echo "units: $u lacks $key" >&2; exit 1; }
  done
done
# dispatchd no longer tunes malloc by re-executing itself: the unit sets the tunable.
grep -q '^Environment=GLIBC_TUNABLES=glibc.malloc.tcache_count=0$' "$src/deploy/systemd/dispatchd.service" ||
  { echo "units: dispatchd lacks Environment=GLIBC_TUNABLES=glibc.malloc.tcache_count=0" >&2; exit 1; }
echo "units: dispatchd.service and lpg-agent.service verify, hardened, with a restart policy"
