#!/bin/sh
# scripts/coverage.sh DIR — the line coverage of lib/ after `make coverage`
# ran the CPU test suites with a --coverage build in DIR (default
# build/cov): one row a source file, least covered first, and the total,
# as a markdown table on stdout. Needs gcov (gcc's). Exit status: 0 done,
# 1 no coverage data in DIR.
set -u
dir=${1:-build/cov}
cd "$(dirname "$0")/.." || exit 1
command -v gcov >/dev/null 2>&1 || { echo "coverage: gcov is not on the PATH" >&2; exit 1; }
ls "$dir"/obj/lib/*/*.gcda >/dev/null 2>&1 ||
    { echo "coverage: no coverage data under $dir/obj/lib (run make coverage)" >&2; exit 1; }
echo "| file | lines | run | % |"
echo "|---|---:|---:|---:|"
for src in lib/*/*.c; do
    obj=$dir/obj/${src%.c}
    if [ -f "$obj.gcda" ]; then
        # "Lines executed:87.50% of 120" for the file itself (not its headers)
        gcov -n -o "$(dirname "$obj")" "$src" 2>/dev/null |
            awk -v f="$src" '$0 == "File '\''" f "'\''" { getline; sub(/^Lines executed:/, ""); sub(/%/, ""); print f, $1, $3 }'
    elif [ -f "$obj.gcno" ]; then
        # built but never run: count its lines as none run
        echo "$src 0 $(gcov -n -o "$(dirname "$obj")" "$src" 2>/dev/null |
            awk -v f="$src" '$0 == "File '\''" f "'\''" { getline; print $NF; exit }')"
    fi
done | awk '{ run = int($2 * $3 / 100 + 0.5); printf "%s %d %d %.1f\n", $1, $3, run, $3 ? 100 * run / $3 : 100 }' |
    sort -t' ' -k4,4n -k1,1 |
    awk '{ printf "| %s | %d | %d | %s |\n", $1, $2, $3, $4; n += $2; r += $3 }
         END { printf "| all of lib/ | %d | %d | %.1f |\n", n, r, n ? 100 * r / n : 0 }'
