#!/usr/bin/env bash
# Shows the progress of a build whose output (cmake --build, Makefiles or Ninja) comes on
# standard input, instead of minutes of silence, and keeps the whole output in LOG.
#   on a terminal: one line, rewritten in place: "run: building  45% dispatch/http/http_server.c"
#   in a pipe or file: a line at every tenth of the way ("run: building  40% ...")
# Ends the line with how long it took, or "up to date" when nothing was built.
# Usage: cmake --build DIR 2>&1 | deploy/build-progress.sh LOG [PREFIX]   (PREFIX: "run")
set -uo pipefail
log=$1
prefix=${2:-run}
: >"$log"
tty=0
[ -t 1 ] && tty=1
start=$SECONDS
last_step=-1
built=0
shown=0
while IFS= read -r line; do
  printf '%s\n' "$line" >>"$log"
  pct=""
  # Makefiles: "[ 45%] Building C object dispatch/CMakeFiles/lpg_http.dir/http/http_server.c.o"
  # Ninja:     "[12/140] Building C object dispatch/CMakeFiles/lpg_http.dir/http/http_server.c.o"
  if [[ $line =~ ^\[\ *([0-9]+)%\]\ (.*)$ ]]; then
    pct=${BASH_REMATCH[1]}
    what=${BASH_REMATCH[2]}
  elif [[ $line =~ ^\[([0-9]+)/([0-9]+)\]\ (.*)$ ]] && [ "${BASH_REMATCH[2]}" -gt 0 ]; then
    pct=$(( BASH_REMATCH[1] * 100 / BASH_REMATCH[2] ))
    what=${BASH_REMATCH[3]}
  fi
  [ -n "$pct" ] || continue
  case $what in
    Building*|Linking*|Generating*|Running*) built=1 ;;
    *) continue ;;   # "Built target x": nothing was done for it
  esac
  # "Building C object dir/CMakeFiles/t.dir/sub/file.c.o" -> "dir/sub/file.c"
  target=${what##* }
  if [[ $target =~ ^(.*)CMakeFiles/[^/]*\.dir/(.*)\.o$ ]]; then
    target=${BASH_REMATCH[1]}${BASH_REMATCH[2]}
  fi
  if [ $tty = 1 ]; then
    printf '\r\033[K%s: building %3d%% %.60s' "$prefix" "$pct" "$target"
    shown=1
  elif [ $(( pct / 10 )) -gt "$last_step" ]; then
    last_step=$(( pct / 10 ))
    printf '%s: building %3d%% %s\n' "$prefix" "$pct" "$target"
  fi
done
[ $tty = 1 ] && [ $shown = 1 ] && printf '\r\033[K'
if [ $built = 1 ]; then
  echo "$prefix: built in $(( SECONDS - start )) s (output in $log)"
else
  echo "$prefix: build up to date"
fi
