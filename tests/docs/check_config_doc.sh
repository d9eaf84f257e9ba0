#!/usr/bin/env bash
# Fails when a settings document (docs/configuration.md for dispatchd, docs/agent.md for
# lpg-agent) does not list every setting of the binary with its current default, as printed by
# `BINARY --print-config`.
# Usage: check_config_doc.sh BINARY DOC
set -euo pipefail
dispatchd=$1
doc=$2
missing=0
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  name=${line%% = *}
  value=${line#* = }
  if ! grep -qF "| \`$name\` |" "$doc"; then
    echo "docs: setting $name is not documented in $doc" >&2
    missing=1
  elif ! grep -F "| \`$name\` |" "$doc" | grep -qF "| \`$value\` |"; then
    echo "docs: default of $name is $value in the binary but not in $doc" >&2
    missing=1
  fi
done < <("$dispatchd" --print-config)
count=$("$dispatchd" --print-config | grep -c ' = ')
[ "$missing" -eq 0 ] && echo "docs: all $count settings documented with their defaults"
exit "$missing"
