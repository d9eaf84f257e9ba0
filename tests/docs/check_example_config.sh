#!/usr/bin/env bash
# Fails when an example configuration in deploy/etc/ does not load, or does not set every
# setting of its binary (the examples promise every setting, so a new one must be added there).
# Usage: check_example_config.sh BINARY CONF [BINARY CONF]...
set -euo pipefail
status=0
while [ $# -ge 2 ]; do
  bin=$1 conf=$2
  shift 2
  if ! "$bin" --config "$conf" --print-config >/dev/null; then
    echo "examples: $conf does not load with $(basename "$bin")" >&2
    status=1
    continue
  fi
  n=0
  while IFS= read -r name; do
    n=$((n + 1))
    if ! grep -qE "^${name} = " "$conf"; then
      echo "examples: $conf does not set $name" >&2
      status=1
    fi
  done < <("$bin" --print-config | sed -n 's/^\([a-z_0-9]*\) = .*/\1/p')
  [ "$status" -eq 0 ] && echo "examples: $conf sets all $n settings of $(basename "$bin") and loads"
done
exit "$status"
