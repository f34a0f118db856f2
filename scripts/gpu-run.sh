#!/bin/sh
# scripts/gpu-run.sh — the GPU checks and benchmarks in one command, for a
# machine with an NVIDIA GPU (and nvcc): builds the CUDA backend, runs
# `make gpu-test`'s program and the GPU benchmarks, and writes everything,
# with the device named, into one folder.
#
#   scripts/gpu-run.sh [--out DIR] [--jobs N] [--skip-test] [--skip-bench] [--quick]
#
#   --out DIR      where the results go (default bench/results):
#                    DIR/gpu-test.md   the device, the commit, pol-gpu-test's
#                                      full output and its exit status;
#                    DIR/gemm_gpu.md, DIR/train_gpu.md   the benchmark tables
#                                      (bench/gemm_gpu.cu, run with --sweep:
#                                      every GEMM launch configuration too;
#                                      bench/train_gpu.cu);
#   --jobs N       parallel build jobs (default: the number of CPUs);
#   --skip-test / --skip-bench   one half only (each half fits in a few minutes
#                  on a 16-core machine once built);
#   --quick        train_gpu --quick (fewer steps in its checks).
#
# Exit status: 0 when every part that ran passed, 1 when one failed, 77 when
# there is no usable CUDA device (nothing is written then but gpu-test.md,
# which says so), 2 on bad usage.
set -u

out=bench/results
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 4)
run_test=1 run_bench=1 quick=
while [ $# -gt 0 ]; do
    case "$1" in
    --out) [ $# -ge 2 ] || { echo "gpu-run: --out needs a folder" >&2; exit 2; }; out=$2; shift 2 ;;
    --jobs) [ $# -ge 2 ] || { echo "gpu-run: --jobs needs a number" >&2; exit 2; }; jobs=$2; shift 2 ;;
    --skip-test) run_test=0; shift ;;
    --skip-bench) run_bench=0; shift ;;
    --quick) quick=--quick; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-run: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.." || exit 1
mkdir -p "$out" || exit 1

device=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
header() {
    printf '# %s\n\n- device: %s\n- commit: %s\n- date: %s\n- host CPUs: %s\n\n' \
        "$1" "${device:-none found by nvidia-smi}" "$commit" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
        "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo unknown)"
}

echo "gpu-run: building the CUDA backend (make cuda=1 -j$jobs)"
if ! make --no-print-directory cuda=1 -j"$jobs" all build/bin/pol-gpu-test gpu-benches >/dev/null; then
    echo "gpu-run: the CUDA build failed (run make cuda=1 to see why)" >&2
    exit 1
fi

status=0
if [ "$run_test" = 1 ]; then
    log=$(mktemp)
    echo "gpu-run: pol-gpu-test"
    POL_BIN=build/bin build/bin/pol-gpu-test >"$log" 2>&1
    rc=$?
    { header "make gpu-test"; printf 'exit status: %s (0 passed, 1 failed, 77 skipped)\n\n```\n' "$rc"
      cat "$log"; printf '```\n'; } >"$out/gpu-test.md"
    tail -n 5 "$log"
    rm -f "$log"
    if [ "$rc" = 77 ]; then
        echo "gpu-run: no usable CUDA device; see $out/gpu-test.md"
        exit 77
    fi
    [ "$rc" = 0 ] || status=1
fi
if [ "$run_bench" = 1 ]; then
    for b in build/bench/gemm_gpu build/bench/train_gpu; do
        echo "gpu-run: $b"
        extra=
        [ "$b" = build/bench/gemm_gpu ] && extra=--sweep
        [ "$b" = build/bench/train_gpu ] && extra=$quick
        "$b" --out "$out" $extra
        rc=$?
        [ "$rc" = 77 ] && { echo "gpu-run: no usable CUDA device"; exit 77; }
        [ "$rc" = 0 ] || status=1
    done
fi
echo "gpu-run: results in $out (exit status $status)"
exit $status
