#!/bin/sh
# scripts/bench-game-compare.sh — bench/game against an older library and
# this tree's, one after the other on the same machine, in one table.
#
#   scripts/bench-game-compare.sh OLD_COMMIT [--out DIR] [--quick]
#
# Exports OLD_COMMIT's sources (git archive) into a temporary folder, builds
# its libpol.a (cuda=0) and this tree's bench/game.c against it (the public
# game API is the same), runs it with --raw, then builds and runs this
# tree's bench/game with --before on those numbers. The table goes to
# DIR/game.md (default bench/results). Runs from the repository root.
set -eu

[ $# -ge 1 ] || { echo "usage: $0 OLD_COMMIT [--out DIR] [--quick]" >&2; exit 2; }
old=$(git rev-parse --short "$1")
shift
out=bench/results quick=
while [ $# -gt 0 ]; do
    case "$1" in
    --out) [ $# -ge 2 ] || { echo "bench-game-compare: --out needs a folder" >&2; exit 2; }
           out=$2; shift 2 ;;
    --quick) quick=--quick; shift ;;
    *) echo "bench-game-compare: unknown argument $1" >&2; exit 2 ;;
    esac
done

tmp=$(mktemp -d /tmp/polbench-game-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
echo "== building libpol at $old in $tmp"
git archive "$old" | tar -x -C "$tmp"
cp bench/game.c bench/bench.h "$tmp/bench/"
make -s -C "$tmp" cuda=0 build/bench/game >"$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log" >&2; exit 1; }
echo "== building this tree's bench/game"
make -s cuda=0 build/bench/game
echo "== bench/game at $old"
"$tmp/build/bench/game" $quick --out "$tmp/out" --raw "$tmp/before.txt"
new=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- lib include || echo '+changes')
echo "== bench/game at $new"
build/bench/game $quick --out "$out" --before "$tmp/before.txt" --before-label "$old" --label "$new"
