#!/usr/bin/env bash
# check_format.sh -- every C source and header of the project matches its .clang-format.
# Usage: check_format.sh REPO_ROOT      (clang-format from Debian's clang-format package)
# To fix what it reports: clang-format -i FILE...
set -euo pipefail
root=${1:?usage: check_format.sh REPO_ROOT}
cf=$(command -v clang-format || command -v clang-format-14 || true)
if [ -z "$cf" ]; then
  echo "check_format: clang-format is not installed (deploy/install-deps.sh installs it)" >&2
  exit 1
fi
cd "$root"
mapfile -t files < <(find dispatch geo proto tests -name '*.[ch]' -not -path '*/build*' | sort)
# One process for the whole tree; a file that differs is named in its "error:" lines.
mapfile -t bad < <("$cf" --dry-run --Werror "${files[@]}" 2>&1 |
  sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u)
if [ ${#bad[@]} -gt 0 ]; then
  printf 'check_format: not formatted: %s\n' "${bad[@]}"
  echo "check_format: ${#bad[@]} of ${#files[@]} files differ from .clang-format; run: clang-format -i ${bad[*]}"
  exit 1
fi
echo "check_format: ${#files[@]} files match .clang-format"
