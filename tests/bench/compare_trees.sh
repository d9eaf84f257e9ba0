#!/bin/sh
# compare_trees.sh OLD_REF [NEW_REF] - ingest throughput and match latency of two trees, measured
# in one run (issue 11 item 6: "within 5 % of the pre-move figures measured in the same run").
#
# Both refs are exported (git archive) into a temp dir and built there (Release, no sanitizers,
# -j2). The benchmark code is NEW_REF's (default HEAD) for both trees, so the same load is
# measured and only the code under test differs:
#   - bench-ingest: NEW_REF's binary, run against each tree's dispatchd (--dispatchd=PATH);
#   - bench-match: NEW_REF's tests/bench/bench_match.c, built inside each tree against that
#     tree's lpgcore (in a tree from before the move, the "core/" of its includes is dropped:
#     the headers then sat flat in dispatch/).
# Then ROUNDS (3) rounds, each old then new: bench-ingest with fixed quick-ish settings
# (INGEST_ARGS) and bench-match (seed fixed). Prints every run, then per figure the medians and
# new/old. Nothing is left running; the temp dir is removed (KEEP=1 keeps it).
#
#   tests/bench/compare_trees.sh 439cb5d            # the pre-move tree against HEAD
#   ROUNDS=5 tests/bench/compare_trees.sh 439cb5d bench
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 OLD_REF [NEW_REF]" >&2
    exit 2
fi
OLD_REF=$1
NEW_REF=${2:-HEAD}
ROUNDS=${ROUNDS:-3}
INGEST_ARGS=${INGEST_ARGS:---batches=5 --connections=500 --mem-connections=0 --warmup=3 --duration=20 --paced=3 --reps=1 --prefill-fixes=600}
ROOT=$(git rev-parse --show-toplevel)
OLD_SHA=$(git -C "$ROOT" rev-parse --short "$OLD_REF^{commit}")
NEW_SHA=$(git -C "$ROOT" rev-parse --short "$NEW_REF^{commit}")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lpg-compare-XXXXXX")
cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export_tree() { # ref dir
    mkdir -p "$2"
    git -C "$ROOT" archive "$1" | tar -x -C "$2"
}

build() { # dir targets...
    dir=$1
    shift
    cmake -S "$dir" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DLPG_BUILD_TESTS=ON \
        >"$dir/cmake.log" 2>&1 || { tail -20 "$dir/cmake.log" >&2; return 1; }
    cmake --build "$dir/build" -j2 --target "$@" >>"$dir/cmake.log" 2>&1 ||
        { tail -40 "$dir/cmake.log" >&2; return 1; }
}

echo "compare_trees: old $OLD_REF ($OLD_SHA), new $NEW_REF ($NEW_SHA); $ROUNDS rounds, old then new"
echo "  bench-ingest $INGEST_ARGS (NEW_REF's benchmark against each tree's dispatchd)"
export_tree "$OLD_REF" "$WORK/old"
export_tree "$NEW_REF" "$WORK/new"
# The new benchmark in the old tree, against the old tree's library.
if [ -f "$WORK/old/dispatch/core/match.h" ]; then
    cp "$WORK/new/tests/bench/bench_match.c" "$WORK/old/tests/bench/bench_match.c"
else
    sed 's|#include "core/\([a-z_]*\.h\)"|#include "\1"|' "$WORK/new/tests/bench/bench_match.c" \
        >"$WORK/old/tests/bench/bench_match.c"
fi
t0=$(date +%s)
build "$WORK/old" dispatchd bench_match
build "$WORK/new" dispatchd bench_ingest bench_match
echo "  built both trees in $(($(date +%s) - t0)) s"

INGEST="$WORK/new/build/tests/bench/bench-ingest"
RESULTS="$WORK/results"
: >"$RESULTS"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    for tree in old new; do
        log="$WORK/ingest-$tree-$r.log"
        # shellcheck disable=SC2086 # INGEST_ARGS is a list of options
        "$INGEST" $INGEST_ARGS --dispatchd="$WORK/$tree/build/dispatch/dispatchd" >"$log" 2>&1 ||
            echo "  (bench-ingest $tree exited $?; see below)"
        line=$(grep '^bench-ingest-batch ' "$log" | head -1)
        pps=$(echo "$line" | sed -n 's/.* positions_per_s=\([0-9.]*\).*/\1/p')
        ratio=$(echo "$line" | sed -n 's/.* redis_ratio=\([0-9.]*\).*/\1/p')
        if [ -z "$pps" ]; then
            tail -20 "$log" >&2
            exit 1
        fi
        mlog="$WORK/match-$tree-$r.log"
        "$WORK/$tree/build/tests/bench/bench-match" >"$mlog" 2>&1 || true
        med=$(sed -n 's/^bench-match median_us=\([0-9.]*\).*/\1/p' "$mlog")
        if [ -z "$med" ]; then
            tail -20 "$mlog" >&2
            exit 1
        fi
        others=$(sed -n 's/.*other processes \([0-9.]*\) cores.*/\1/p' "$log" | head -1)
        cpu=$(sed -n 's/.*CPU per position dispatchd \([0-9.]*\) us.*/\1/p' "$log" | head -1)
        echo "  round $r $tree: ingest $pps positions/s (dispatchd $cpu us CPU per position, redis_ratio $ratio, other processes $others cores), match median $med us"
        {
            echo "$tree ingest $pps"
            echo "$tree cpu $cpu"
            echo "$tree match $med"
        } >>"$RESULTS"
    done
    r=$((r + 1))
done

median() { # tree figure
    awk -v t="$1" -v f="$2" '$1 == t && $2 == f { print $3 }' "$RESULTS" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
oi=$(median old ingest)
ni=$(median new ingest)
oc=$(median old cpu)
nc=$(median new cpu)
om=$(median old match)
nm=$(median new match)
# The CPU per position is printed too: on a shared machine it moves less than the rate.
awk -v oi="$oi" -v ni="$ni" -v oc="$oc" -v nc="$nc" -v om="$om" -v nm="$nm" -v o="$OLD_SHA" \
    -v n="$NEW_SHA" 'BEGIN {
    ri = ni / oi; rc = nc / oc; rm = nm / om
    printf "ingest positions/s (median):           old %s %.0f, new %s %.0f, new/old %.3f (%s)\n",
        o, oi, n, ni, ri, (ri >= 0.95 ? "new at most 5 % slower" : "NEW MORE THAN 5 % SLOWER")
    printf "dispatchd CPU us per position (median): old %s %.2f, new %s %.2f, new/old %.3f (%s)\n",
        o, oc, n, nc, rc, (rc <= 1.05 ? "new at most 5 % more" : "NEW MORE THAN 5 % MORE")
    printf "match median us (median):              old %s %.2f, new %s %.2f, new/old %.3f (%s)\n",
        o, om, n, nm, rm, (rm <= 1.05 ? "new at most 5 % slower" : "NEW MORE THAN 5 % SLOWER")
    printf "compare-trees ingest_new_over_old=%.3f cpu_new_over_old=%.3f match_new_over_old=%.3f old=%s new=%s\n",
        ri, rc, rm, o, n
}'
