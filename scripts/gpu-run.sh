#!/bin/sh
# scripts/gpu-run.sh — the GPU checks and benchmarks in one command, for a
# machine with an NVIDIA GPU (and nvcc): builds the CUDA backend, runs
# `make gpu-test`'s program and the GPU benchmarks, and writes everything,
# with the device named, into one folder.
#
#   scripts/gpu-run.sh [--out DIR] [--jobs N] [--kit ARCHIVE] [--skip-test] [--skip-bench]
#                      [--test-limit S] [--bench-limit S]
#                      [--bench NAME] [--quick] [--sanitize] [--sanitize-limit S]
#                      [--racecheck-limit S]
#                      [--ncu] [--ncu-shapes LIST] [--ncu-train LIST] [--ncu-limit S]
#
#   --out DIR      where the results go (default bench/results):
#                    DIR/gpu-test.md   the device, the commit, pol-gpu-test's
#                                      full output and its exit status;
#                    DIR/gemm_gpu.md, DIR/train_gpu.md   the benchmark tables
#                                      (bench/gemm_gpu.cu, run with --sweep:
#                                      every GEMM launch configuration too;
#                                      bench/train_gpu.cu), each with a
#                                      line naming the device, the commit
#                                      and the build under it;
#   --jobs N       parallel build jobs (default: the number of CPUs);
#   --kit ARCHIVE  build nothing: run the programs of an archive made by
#                  scripts/device-kit.sh from this same commit (for a GPU
#                  machine without libpol's build dependencies). Its
#                  libraries are loaded from the kit; CUDA's own (cudart,
#                  cuBLAS) from the program's run path, else from the first
#                  of $CUDA_HOME/lib64, /usr/local/cuda/lib64 and
#                  /usr/local/cuda/targets/x86_64-linux/lib that has them,
#                  else from where a file of that name is under /usr/local,
#                  /opt or /usr (a Python package's copy, say);
#   --skip-test / --skip-bench   one half only (each half fits in a few minutes
#                  on a 16-core machine once built);
#   --test-limit S / --bench-limit S   seconds pol-gpu-test / each benchmark
#                  may take (default 540 each: under a 600 s device call);
#                  one stopped there fails; pol-gpu-test's output is written
#                  to DIR/gpu-test.log as it runs (kept if all is stopped);
#   --bench NAME   of the benchmarks, run only NAME (gemm_gpu or train_gpu);
#   --quick        train_gpu --quick (fewer steps in its checks);
#   --sanitize     also run pol-gpu-test under compute-sanitizer (after the
#                  test, before the benchmarks), into DIR/sanitize.md, which
#                  grows tool by tool: racecheck, synccheck and initcheck on
#                  the exact kernels (--kernels-only; racecheck, which checks
#                  shared memory only, on the GEMM kernels alone, the only
#                  ones that use it), then memcheck with its leak check on
#                  the whole test with --mlp small (the training runs'
#                  pol-solver processes too);
#   --sanitize-limit S   seconds synccheck, initcheck and memcheck may each
#                  take (default 150); one that takes longer is stopped and
#                  counts as failed;
#   --racecheck-limit S  the same for racecheck (default 420: on an H100 it
#                  took 287 s);
#   --ncu          also profile the GEMM kernels (and training steps, see
#                  --ncu-train) with Nsight Compute (ncu, clocks left alone),
#                  after the sanitizer, before the benchmarks:
#                  `gemm_gpu --profile N` (each kernel once:
#                  the exact GEMM under every launch configuration, cuBLAS
#                  fp32 and TF32) for each shape N of --ncu-shapes, into
#                  DIR/ncu/shape-N.ncu-rep and .csv (ncu's raw page) and a
#                  table a shape in DIR/ncu.md: time, registers, achieved
#                  occupancy, issue slots busy, FMA pipe, shared-memory bank
#                  conflicts and the main stall reasons, per kernel. Metrics
#                  this ncu does not offer are left out (and named). A
#                  profiler that fails is reported there, and does not fail
#                  the round; an exact output that differs does;
#   --ncu-shapes LIST   gemm_gpu's shape numbers (gemm_gpu --help; default
#                  3,6,11: 4096^3 and two GEMMs of the MLP's training step);
#   --ncu-train LIST   after the GEMMs, one training step a profile:
#                  `train_gpu --profile TASK:MODE` for each of LIST (default
#                  mlp:exact,mlp:fp32: the MLP's step exact and with cuBLAS
#                  FP32; "" for none), each tabled with the sum of its
#                  kernels' times;
#   --ncu-limit S  seconds each profile may take (default 240).
#
# Exit status: 0 when every part that ran passed, 1 when one failed, 77 when
# there is no usable CUDA device (nothing is written then but gpu-test.md,
# sanitize.md or ncu.md, which says so), 2 on bad usage.
set -u

out=bench/results
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 4)
run_test=1 run_bench=1 quick= kit= only= sanitize=0 san_limit=150 test_limit=540 bench_limit=540
ncu=0 ncu_shapes=3,6,11 ncu_limit=240 ncu_train=mlp:exact,mlp:fp32 race_limit=420
# OPTION VALUE: exits with status 2 unless VALUE is a whole number of seconds > 0
seconds() {
    case "$2" in ''|*[!0-9]*|0) echo "gpu-run: $1 needs a number of seconds" >&2; exit 2 ;; esac
}
while [ $# -gt 0 ]; do
    case "$1" in
    --out) [ $# -ge 2 ] || { echo "gpu-run: --out needs a folder" >&2; exit 2; }; out=$2; shift 2 ;;
    --jobs) [ $# -ge 2 ] || { echo "gpu-run: --jobs needs a number" >&2; exit 2; }; jobs=$2; shift 2 ;;
    --kit) [ $# -ge 2 ] || { echo "gpu-run: --kit needs an archive" >&2; exit 2; }; kit=$2; shift 2 ;;
    --skip-test) run_test=0; shift ;;
    --skip-bench) run_bench=0; shift ;;
    --bench) [ $# -ge 2 ] || { echo "gpu-run: --bench needs gemm_gpu or train_gpu" >&2; exit 2; }
             case "$2" in gemm_gpu|train_gpu) only=$2 ;;
             *) echo "gpu-run: --bench: no benchmark $2 (gemm_gpu or train_gpu)" >&2; exit 2 ;; esac
             shift 2 ;;
    --quick) quick=--quick; shift ;;
    --test-limit) seconds "$1" "${2:-}"; test_limit=$2; shift 2 ;;
    --bench-limit) seconds "$1" "${2:-}"; bench_limit=$2; shift 2 ;;
    --sanitize) sanitize=1; shift ;;
    --sanitize-limit) seconds "$1" "${2:-}"; san_limit=$2; shift 2 ;;
    --racecheck-limit) seconds "$1" "${2:-}"; race_limit=$2; shift 2 ;;
    --ncu) ncu=1; shift ;;
    --ncu-shapes)
        case "${2:-}" in ''|*[!0-9,]*|,*|*,|*,,*) echo "gpu-run: --ncu-shapes needs shape numbers, such as 3,6,11" >&2; exit 2 ;; esac
        ncu_shapes=$2; shift 2 ;;
    --ncu-limit) seconds "$1" "${2:-}"; ncu_limit=$2; shift 2 ;;
    --ncu-train)
        case "${2:-}" in *[!a-z0-9:,]*) echo "gpu-run: --ncu-train needs TASK:MODE,... (train_gpu --profile), or nothing" >&2; exit 2 ;; esac
        ncu_train=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -u$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-run: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$kit" in
""|/*) ;;
*) kit=$(pwd)/$kit ;;
esac
cd "$(dirname "$0")/.." || exit 1
mkdir -p "$out" || exit 1

device=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
header() {
    printf '# %s\n\n- device: %s\n- commit: %s\n- build: %s\n- date: %s\n- host CPUs: %s\n\n' \
        "$1" "${device:-none found by nvidia-smi}" "$commit" "$built" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
        "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo unknown)"
}

bin=build/bin bench=build/bench built="here (make cuda=1)"
if [ -n "$kit" ]; then
    [ -f "$kit" ] || { echo "gpu-run: no kit archive at $kit" >&2; exit 1; }
    kdir=$(mktemp -d) || exit 1
    trap 'rm -rf "$kdir"' EXIT
    tar -C "$kdir" -xzf "$kit" && [ -f "$kdir/kit/MANIFEST" ] ||
        { echo "gpu-run: $kit is not an archive made by scripts/device-kit.sh" >&2; exit 1; }
    bin=$kdir/kit/bin bench=$kdir/kit/bench
    kcommit=$(sed -n 's/^commit: //p' "$kdir/kit/MANIFEST")
    full=$(git rev-parse HEAD 2>/dev/null || echo unknown)
    if [ "$full" != unknown ] && [ "${kcommit%+modified}" != "$full" ]; then
        echo "gpu-run: the kit was built from commit $kcommit, this tree is at $full;" \
            "build a kit from this tree (scripts/device-kit.sh)" >&2
        exit 1
    fi
    if [ "$full" = unknown ]; then
        # no git metadata here (a copy of the tree): compare the tree's files
        # with the ones the kit was built from, as its MANIFEST lists them
        sums=$(sed -n '/^tree (sha256):$/,/^files (sha256):$/p' "$kdir/kit/MANIFEST" | sed '1d;$d')
        [ -n "$sums" ] || { echo "gpu-run: the kit's MANIFEST lists no source tree and this" \
            "tree has no git metadata: cannot tell that the kit is this tree's" >&2; exit 1; }
        bad=$(printf '%s\n' "$sums" | sha256sum -c 2>/dev/null | grep -v ': OK$' | head -n 5)
        [ -z "$bad" ] || { echo "gpu-run: the kit was built from another tree; this one differs:" >&2
                           printf '%s\n' "$bad" >&2; exit 1; }
        commit="$kcommit (the kit's; this tree has no git metadata, its files match the kit's)"
    fi
    export LD_LIBRARY_PATH="$kdir/kit/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    # CUDA's libraries: the run path the programs were linked with, else the
    # first usual folder that has them, else wherever under /usr/local, /usr
    # or /opt a library of that name is (a Python package's copy of cuBLAS)
    unresolved() { for f in "$bin"/* "$bench"/*; do ldd "$f" 2>&1 | awk '/not found/ {print $1}'; done | sort -u; }
    if [ -n "$(unresolved)" ]; then
        for d in ${CUDA_HOME:+"$CUDA_HOME/lib64"} /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
            if ls "$d"/libcublas.so.* >/dev/null 2>&1; then
                LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$d"
                break
            fi
        done
    fi
    for lib in $(unresolved); do
        found=$(find /usr/local /opt /usr -maxdepth 9 -name "$lib" 2>/dev/null | head -n 1)
        if [ -n "$found" ]; then
            echo "gpu-run: $lib from $(dirname "$found")"
            LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$(dirname "$found")"
        fi
    done
    miss=$(unresolved)
    if [ -n "$miss" ]; then
        echo "gpu-run: libraries the kit's programs need are not found:" >&2
        echo "$miss" >&2
        echo "gpu-run: add their folder to LD_LIBRARY_PATH (or set CUDA_HOME) and run again" >&2
        exit 1
    fi
    built="kit $(sed -n 's/^built: //p' "$kdir/kit/MANIFEST"), $(sed -n 's/^nvcc: //p' "$kdir/kit/MANIFEST")"
    echo "gpu-run: running the kit's programs (commit $kcommit)"
else
    echo "gpu-run: building the CUDA backend (make cuda=1 -j$jobs)"
    if ! make --no-print-directory cuda=1 -j"$jobs" all build/bin/pol-gpu-test gpu-benches >/dev/null; then
        echo "gpu-run: the CUDA build failed (run make cuda=1 to see why)" >&2
        exit 1
    fi
fi

# A CUDA tool (compute-sanitizer, ncu): on the PATH, in CUDA's usual
# folders or EXTRA, else the last in version order of that name under
# /usr/local or /opt (/opt/nvidia/nsight-compute/<version>/ncu, say)
find_tool() { # NAME [EXTRA-FOLDER ...]
    t=$1; shift
    command -v "$t" 2>/dev/null && return 0
    for d in ${CUDA_HOME:+"$CUDA_HOME/bin"} /usr/local/cuda/bin "$@"; do
        [ -x "$d/$t" ] && { echo "$d/$t"; return 0; }
    done
    find /usr/local /opt -maxdepth 7 -name "$t" -type f -perm -u+x 2>/dev/null | sort | tail -n 1
}
# NAME FILE TITLE: says that tool NAME was not found, here and in $out/FILE
tool_missing() {
    echo "gpu-run: $1 is not found (add its folder to PATH or set CUDA_HOME)" >&2
    { header "$3"; echo "$1 was not found on this machine: nothing ran."; } >"$out/$2"
}

# pol-gpu-test under each of compute-sanitizer's four tools, into
# $out/sanitize.md. Returns 0 when every tool ran to its end with no error
# and the test passed, 77 without a device, 1 otherwise.
sanitize_round() {
    cs=$(find_tool compute-sanitizer /usr/local/cuda/compute-sanitizer)
    if [ -z "$cs" ]; then
        tool_missing compute-sanitizer sanitize.md compute-sanitizer
        return 1
    fi
    # the options this version has (an unknown one would end the run at once)
    help=$("$cs" --help 2>&1)
    common="--error-exitcode 86"
    for opt in "--target-processes all" "--print-limit 40"; do
        case "$help" in *"${opt% *}"*) common="$common $opt" ;; esac
    done
    leak=
    case "$help" in *--leak-check*) leak="--leak-check full" ;; esac
    # racecheck looks at shared memory only, which only the GEMM kernels
    # (kernels/gemm.cu) use: it instruments those alone, unless another
    # kernel file declares shared memory too
    race=
    case "$help" in *--kernel-name*)
        if [ -z "$(grep -l __shared__ kernels/*.cu 2>/dev/null | grep -v '^kernels/gemm\.cu$')" ]; then
            race="--kernel-name kns=gemm"
        fi ;;
    esac
    { header "compute-sanitizer"
      printf 'compute-sanitizer: %s (%s)\n\n' "$cs" "$("$cs" --version 2>&1 | tail -n 1)"
      printf 'Each tool ran pol-gpu-test with `%s`, at most %s s (racecheck %s s). Exit status 86: the tool\n' \
          "$common" "$san_limit" "$race_limit"
      printf 'reported errors; 1: a check of the test failed; 124 or 137: stopped at the limit.\n'
    } >"$out/sanitize.md"
    rcs=0 found=0 nodev=0
    # the exact kernels first (quick under any tool), then the whole test
    for spec in "racecheck:--kernels-only:$race" "synccheck:--kernels-only:" "initcheck:--kernels-only:" "memcheck:--mlp small:$leak"; do
        tool=${spec%%:*} rest=${spec#*:}
        args=${rest%%:*} extra=${rest#*:}
        limit=$san_limit
        [ "$tool" = racecheck ] && limit=$race_limit
        log=$(mktemp)
        echo "gpu-run: compute-sanitizer --tool $tool: pol-gpu-test $args"
        t0=$(date +%s)
        # timeout signals its whole process group at the limit: the test and
        # the pol-solver runs it started end with the tool
        # shellcheck disable=SC2086 # the option lists are meant to split
        POL_BIN=$bin timeout -k 15 "$limit" "$cs" --tool "$tool" $common $extra \
            "$bin/pol-gpu-test" $args >"$log" 2>&1
        rc=$?
        secs=$(($(date +%s) - t0))
        case "$rc" in
        0) verdict="no errors, the test passed" ;;
        77) verdict="no usable CUDA device"; nodev=1 ;;
        86) verdict="ERRORS reported by $tool"; found=1 ;;
        124|137) verdict="STOPPED at the limit of $limit s: not a result" ;;
        *) verdict="FAILED: pol-gpu-test exited $rc" ;;
        esac
        [ "$rc" = 0 ] || [ "$rc" = 77 ] || rcs=1
        { printf '\n## %s: %s\n\n`--tool %s%s` on `pol-gpu-test %s`: exit %s after %s s\n\n```\n' \
              "$tool" "$verdict" "$tool" "${extra:+ $extra}" "$args" "$rc" "$secs"
          n=$(wc -l <"$log")
          if [ "$n" -le 200 ]; then cat "$log"
          else head -n 160 "$log"; printf '... (%s lines left out) ...\n' $((n - 190)); tail -n 30 "$log"; fi
          printf '```\n'; } >>"$out/sanitize.md"
        grep -E '^=+ (ERROR|RACECHECK|LEAK) SUMMARY|^(PASSED|FAILED)' "$log" | tail -n 3
        echo "gpu-run: $tool: $verdict ($secs s)"
        rm -f "$log"
        [ "$nodev" = 1 ] && return 77
    done
    [ "$found" = 1 ] && echo "gpu-run: compute-sanitizer found errors; see $out/sanitize.md"
    return $rcs
}


# The metrics of ncu.md's tables: NAME:TITLE. Their values per kernel come
# from ncu's raw page, where each is a column.
NCU_METRICS="gpu__time_duration.sum:time
launch__registers_per_thread:regs
sm__warps_active.avg.pct_of_peak_sustained_active:occupancy
smsp__issue_active.avg.pct_of_peak_sustained_active:issue busy
sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active:FMA pipe
sm__throughput.avg.pct_of_peak_sustained_elapsed:SM busy
dram__throughput.avg.pct_of_peak_sustained_elapsed:DRAM busy
l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum:smem ld conflicts
smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio:stall barrier
smsp__average_warps_issue_stalled_short_scoreboard_per_issue_active.ratio:stall short sb
smsp__average_warps_issue_stalled_long_scoreboard_per_issue_active.ratio:stall long sb
smsp__average_warps_issue_stalled_mio_throttle_per_issue_active.ratio:stall mio
smsp__average_warps_issue_stalled_math_pipe_throttle_per_issue_active.ratio:stall math
smsp__average_warps_issue_stalled_not_selected_per_issue_active.ratio:stall not selected
smsp__average_warps_issue_stalled_wait_per_issue_active.ratio:stall wait"

# ncu's raw-page CSV (every field quoted; a header row of metric names, a
# row of units, then one row a kernel) to a markdown table of NCU_METRICS'
# columns; gemm_tile_kernel's template arguments are spelt as in
# scripts/gemm-sass.sh (128x128 k16 8x8 NN, split, lean), other kernels by
# the start of their name.
ncu_table() { # CSV [total]: with "total", a last row sums the kernels' times
    printf '%s\n' "$NCU_METRICS" | awk -v csv="$1" -v total="${2:-}" '
    function unq(l) { sub(/^"/, "", l); sub(/"\r?$/, "", l); return l }
    function kname(k,   m, a, n) {
        if (match(k, /gemm_tile_kernelIL[^E]*E(L[^E]*E)+/)) { # mangled
            m = substr(k, RSTART, RLENGTH); gsub(/gemm_tile_kernelI/, "", m); gsub(/L[ib]/, "", m)
            n = split(m, a, "E")
        } else if (match(k, /gemm_tile_kernel<[^>]*>/)) { # demangled
            m = substr(k, RSTART + 17, RLENGTH - 18); gsub(/ /, "", m); gsub(/true/, "1", m); gsub(/false/, "0", m)
            n = split(m, a, ",")
        } else if (k ~ /gemm_chunk_sum_kernel/) return "split-K chunk sums"
        else { # a demangled name without its return type and parameters
            sub(/^void /, "", k); gsub(/\(anonymous namespace\)::/, "", k); sub(/\(.*$/, "", k)
            return substr(k, 1, 80)
        }
        return a[1] "x" a[2] " k" a[3] " " a[4] "x" a[5] " " (a[6] ? "T" : "N") (a[7] ? "T" : "N") (a[8] ? " split" : "") (a[9] ? " lean" : "")
    }
    { split($0, p, ":"); want[++nw] = p[1]; title[nw] = substr($0, length(p[1]) + 2) }
    END {
        r = 0
        while ((getline l < csv) > 0) {
            if (l !~ /^"/) continue # ncu notes before the table
            r++; n = split(unq(l), f, "\",\"")
            if (r == 1) { for (i = 1; i <= n; i++) col[f[i]] = i; continue }
            if (r == 2) { for (i = 1; i <= n; i++) unit[i] = f[i]; continue }
            rows[r] = kname(f[col["Kernel Name"]]) " | " f[col["Grid Size"]] " | " f[col["Block Size"]]
            for (w = 1; w <= nw; w++) rows[r] = rows[r] " | " ((want[w] in col) ? f[col[want[w]]] : "-")
            if ("gpu__time_duration.sum" in col) { v = f[col["gpu__time_duration.sum"]]; gsub(/,/, "", v); sum += v }
        }
        if (r < 3) { print "(no kernel in the report)"; exit }
        h = "| kernel | grid | block"; u = "|---|---|---"
        for (w = 1; w <= nw; w++) {
            h = h " | " title[w] ((want[w] in col) && unit[col[want[w]]] != "" ? " (" unit[col[want[w]]] ")" : "")
            u = u "|---:"
        }
        print h " |"; print u "|"
        for (i = 3; i <= r; i++) print "| " rows[i] " |"
        if (total != "" && ("gpu__time_duration.sum" in col)) {
            t = "| all " (r - 2) " kernels | | | " sprintf("%.0f", sum)
            for (w = 2; w <= nw; w++) t = t " |"
            print t " |"
        }
    }'
}

# gemm_gpu --profile under ncu, shape by shape, into $out/ncu/ and
# $out/ncu.md. Returns 1 when an exact output differed, 77 without a
# device, else 0 (a profiler that fails is reported, not a failure).
ncu_round() {
    nc=$(find_tool ncu)
    if [ -z "$nc" ]; then
        tool_missing ncu ncu.md "Nsight Compute"
        return 0 # a diagnosis only: the round goes on
    fi
    mkdir -p "$out/ncu" || return 1
    # the metrics this ncu offers (an unknown one would end the run at once)
    offered=$("$nc" --query-metrics 2>/dev/null | awk 'NF {print $1}')
    metrics= missing=
    for m in $(printf '%s\n' "$NCU_METRICS" | cut -d: -f1); do
        if printf '%s\n' "$offered" | grep -qx "${m%%.*}"; then metrics="$metrics${metrics:+,}$m"
        else missing="$missing ${m}"; fi
    done
    { header "Nsight Compute: the GEMM kernels"
      printf 'ncu: %s (%s)\n\n' "$nc" "$("$nc" --version 2>&1 | tail -n 1)"
      printf 'Each shape: `ncu --clock-control none --metrics ... gemm_gpu --profile N`, each\n'
      printf 'kernel once (the exact GEMM under every launch configuration, cuBLAS fp32 and\n'
      printf 'TF32; gemm_gpu --help lists the shapes); each training step: `train_gpu\n'
      printf -- '--profile TASK:MODE`, one step; at most %s s each. Profiled times are not\n' "$ncu_limit"
      printf 'benchmark results (the caches are flushed between passes); see gemm_gpu.md and\n'
      printf 'train_gpu.md.\n'
      printf 'Stall columns: warps stalled for that reason per instruction issued.\n'
      [ -n "$missing" ] && printf '\nNot offered by this ncu (left out):%s\n' "$missing"
      [ -z "$metrics" ] && printf '\nncu offers none of the metrics (or `--query-metrics` failed): nothing ran.\n'
    } >"$out/ncu.md"
    [ -n "$metrics" ] || return 0
    differ=0
    for job in $(echo "$ncu_shapes" | tr , ' ' | sed 's/[^ ]*/gemm:&/g') $(echo "$ncu_train" | tr , ' '); do
        case "$job" in
        gemm:*) n=${job#gemm:} prog=gemm_gpu rep="$out/ncu/shape-$n" total=
                title="shape $n: $("$bench/gemm_gpu" --help | awk -v n="$n" '$1 == n && !/--smoke/ {$1 = ""; print substr($0, 2); exit}')" ;;
        *) n=$job prog=train_gpu rep="$out/ncu/train-$(echo "$job" | tr : -)" total=1
           title="one training step: $job" ;;
        esac
        log=$(mktemp)
        echo "gpu-run: ncu: $prog --profile $n"
        t0=$(date +%s)
        timeout -k 15 "$ncu_limit" "$nc" --clock-control none --target-processes all \
            --metrics "$metrics" -f -o "$rep" "$bench/$prog" --profile "$n" >"$log" 2>&1
        rc=$?
        secs=$(($(date +%s) - t0))
        grep "^$prog" "$log"
        if grep -q 'FAILED' "$log"; then differ=1; fi
        if [ "$rc" = 77 ] || grep -q 'no CUDA device' "$log"; then
            printf '\nNo usable CUDA device: %s --profile ended with exit 77.\n' "$prog" >>"$out/ncu.md"
            rm -f "$log"; return 77
        fi
        verdict="exit $rc after $secs s"
        case "$rc" in 124|137) verdict="STOPPED at the limit of $ncu_limit s" ;; esac
        printf '\n## %s\n\nncu: %s\n\n' "$title" "$verdict" >>"$out/ncu.md"
        # kernel names with their template arguments (the tile), base units;
        # an ncu without those print options gets asked more plainly
        if [ -f "$rep.ncu-rep" ] &&
            { "$nc" --import "$rep.ncu-rep" --page raw --csv --print-kernel-base demangled \
                  --print-units base >"$rep.csv" 2>"$log.imp" ||
              "$nc" --import "$rep.ncu-rep" --page raw --csv --print-kernel-base demangled \
                  >"$rep.csv" 2>"$log.imp" ||
              "$nc" --import "$rep.ncu-rep" --page raw --csv >"$rep.csv" 2>"$log.imp"; }; then
            ncu_table "$rep.csv" $total >>"$out/ncu.md"
        else
            { echo "No report to read. The end of ncu's output:"; echo; echo '```'
              tail -n 25 "$log"; cat "$log.imp" 2>/dev/null; echo '```'; } >>"$out/ncu.md"
            echo "gpu-run: ncu: $prog --profile $n gave no report ($verdict); see $out/ncu.md"
        fi
        rm -f "$log" "$log.imp"
    done
    [ "$differ" = 0 ] || echo "gpu-run: ncu: an exact output differed under a --profile run" >&2
    return $differ
}

status=0
if [ "$run_test" = 1 ]; then
    # the output goes under DIR as it comes: if the whole command is
    # stopped (a device's time limit), what was printed is still there
    log=$out/gpu-test.log
    echo "gpu-run: pol-gpu-test (at most $test_limit s; output in $log as it runs)"
    t0=$(date +%s)
    POL_BIN=$bin timeout -k 15 "$test_limit" "$bin/pol-gpu-test" >"$log" 2>&1
    rc=$?
    secs=$(($(date +%s) - t0))
    note='0 passed, 1 failed, 77 skipped'
    case "$rc" in 124|137) note="STOPPED at the limit of $test_limit s: failed" ;; esac
    { header "make gpu-test"; printf 'exit status: %s (%s), %s s\n\n```\n' "$rc" "$note" "$secs"
      cat "$log"; printf '```\n'; } >"$out/gpu-test.md"
    tail -n 5 "$log"
    echo "gpu-run: pol-gpu-test exited $rc after $secs s"
    rm -f "$log"
    if [ "$rc" = 77 ]; then
        echo "gpu-run: no usable CUDA device; see $out/gpu-test.md"
        exit 77
    fi
    [ "$rc" = 0 ] || status=1
fi
if [ "$sanitize" = 1 ]; then
    sanitize_round || status=$?
    [ "$status" = 77 ] && exit 77
fi
if [ "$ncu" = 1 ]; then
    ncu_round || status=$?
    [ "$status" = 77 ] && { echo "gpu-run: no usable CUDA device"; exit 77; }
fi
if [ "$run_bench" = 1 ]; then
    for b in "$bench/gemm_gpu" "$bench/train_gpu"; do
        [ -z "$only" ] || [ "$(basename "$b")" = "$only" ] || continue
        echo "gpu-run: $b"
        extra=
        [ "$b" = "$bench/gemm_gpu" ] && extra=--sweep
        [ "$b" = "$bench/train_gpu" ] && extra=$quick
        t0=$(date +%s)
        timeout -k 15 "$bench_limit" "$b" --out "$out" $extra
        rc=$?
        echo "gpu-run: $(basename "$b") exited $rc after $(($(date +%s) - t0)) s"
        case "$rc" in 124|137) echo "gpu-run: $(basename "$b") STOPPED at the limit of" \
            "$bench_limit s (--bench-limit); its table is not written" >&2 ;; esac
        [ "$rc" = 77 ] && { echo "gpu-run: no usable CUDA device"; exit 77; }
        [ "$rc" = 0 ] || status=1
        # where the table came from, under it
        [ "$rc" = 0 ] && [ -f "$out/$(basename "$b").md" ] &&
            printf '\nRun by scripts/gpu-run.sh: device %s; commit %s; build %s; %s; host CPUs %s.\n' \
                "${device:-none found by nvidia-smi}" "$commit" "$built" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
                "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo unknown)" >>"$out/$(basename "$b").md"
    done
fi
echo "gpu-run: results in $out (exit status $status)"
exit $status
