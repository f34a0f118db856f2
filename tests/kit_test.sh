#!/bin/sh
# tests/kit_test.sh KIT WORKDIR — checks a kit made by scripts/device-kit.sh
# and scripts/gpu-run.sh's use of it (make kit-test; part of make test in a
# build with CUDA). Needs no GPU: without one the round ends in exit 77.
#
#   1. the kit is complete: with its lib/ first on the library path, every
#      library each program loads comes from the kit, or is one the GPU
#      machine provides (the C library, the compiler's runtime, CUDA's: the
#      MANIFEST's list);
#   2. gpu-run.sh --kit runs the kit's pol-gpu-test (exit 0, or 77 without a
#      device) and names the kit as the build in gpu-test.md;
#   3. gpu-run.sh refuses a kit built from another commit, and an archive
#      that is not a kit, with exit 1 and a message, writing no results;
#   4. gpu-run.sh --sanitize's plumbing, with a stand-in for compute-sanitizer
#      that runs the program it is given (no GPU here, so it turns the test's
#      exit 77 into 0, or reports errors when told to): the four tools run on
#      the parts of pol-gpu-test they should, sanitize.md says what each
#      found, and errors or a tool stopped at --sanitize-limit fail the round;
#   5. gpu-run.sh --ncu's plumbing, with a stand-in for ncu that runs the
#      program it is given and writes a report of made-up numbers in the
#      form of ncu's raw CSV page: gemm_gpu --profile runs once a shape, and
#      train_gpu --profile once a training step, with the metrics this ncu
#      offers, ncu.md tables each kernel by its tile (a step's with their sum) and
#      names the metrics left out, a profiler that fails or is stopped at
#      --ncu-limit is reported without failing the round, and a machine
#      without a device ends it with 77, said in ncu.md.
set -u
[ $# = 2 ] || { echo "usage: tests/kit_test.sh KIT WORKDIR" >&2; exit 2; }
kit=$1 work=$2
fail() { echo "FAIL kit_test: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }

rm -rf "$work" && mkdir -p "$work/x" || exit 1
tar -C "$work/x" -xzf "$kit" || fail "cannot unpack $kit"
k=$work/x/kit
[ -f "$k/MANIFEST" ] && [ -x "$k/bin/pol-gpu-test" ] && [ -x "$k/bin/pol-solver" ] ||
    fail "the kit lacks MANIFEST, bin/pol-gpu-test or bin/pol-solver"
for b in bench/*.cu; do
    [ -x "$k/bench/$(basename "$b" .cu)" ] || fail "the kit lacks bench/$(basename "$b" .cu)"
done
(cd "$k" && sed -n '/^files (sha256):$/,$p' MANIFEST | tail -n +2 | sha256sum -c --quiet) ||
    fail "the kit's files do not match its MANIFEST"

# 1. completeness: against the MANIFEST's list of what the GPU machine provides
provided=$(sed -n 's/^provided by the GPU machine: //p' "$k/MANIFEST")
[ -n "$provided" ] || fail "the MANIFEST does not say what the GPU machine provides"
for f in "$k"/bin/* "$k"/bench/*; do
    LD_LIBRARY_PATH="$k/lib" ldd "$f" | awk '$2 == "=>" {print $1, $3}' | while read -r name path; do
        case "$path" in "$k"/lib/*) continue ;; esac
        set -f # the words are patterns, not file names
        for pat in $provided; do
            # shellcheck disable=SC2254 # the pattern is meant to match
            case "$name" in $pat) set +f; continue 2 ;; esac
        done
        set +f
        echo "$(basename "$f") loads $name from $path, not from the kit"; exit 1
    done || fail "the kit is incomplete"
done
ok "every library the kit's $(find "$k/bin" "$k/bench" -type f | wc -l) programs load is in the kit or provided"

# 2. the round from the kit (pol-gpu-test only; the benchmarks time for minutes on a GPU)
rc=0
scripts/gpu-run.sh --kit "$kit" --out "$work/out" --skip-bench >"$work/log" 2>&1 || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 77 ] || { cat "$work/log" >&2; fail "gpu-run.sh --kit exited $rc"; }
grep -q '^- build: kit ' "$work/out/gpu-test.md" || fail "gpu-test.md does not name the kit as the build"
grep -q "^exit status: $rc " "$work/out/gpu-test.md" || fail "gpu-test.md does not record exit status $rc"
ok "gpu-run.sh --kit ran the kit's pol-gpu-test (exit $rc$([ "$rc" = 77 ] && echo ': no GPU here'))"

# 3. refusals
mkdir -p "$work/y" && cp -r "$k" "$work/y/" || exit 1
sed -i 's/^commit: .*/commit: 0000000000000000000000000000000000000000/' "$work/y/kit/MANIFEST"
tar -C "$work/y" -czf "$work/other.tar.gz" kit || exit 1
if git rev-parse HEAD >/dev/null 2>&1; then
    rc=0
    scripts/gpu-run.sh --kit "$work/other.tar.gz" --out "$work/out2" >"$work/log" 2>&1 || rc=$?
    [ "$rc" = 1 ] && grep -q 'was built from commit 0000000' "$work/log" ||
        { cat "$work/log" >&2; fail "a kit of another commit was not refused (exit $rc)"; }
    [ ! -e "$work/out2/gpu-test.md" ] || fail "a refused kit left results"
    ok "a kit built from another commit is refused"
fi
# a copy of the tree without git metadata (as a device may get it): the kit
# is checked against the MANIFEST's list of the tree's files instead
if git rev-parse HEAD >/dev/null 2>&1; then
    mkdir -p "$work/copy" || exit 1
    akit=$(cd "$(dirname "$kit")" && pwd)/$(basename "$kit") awork=$(cd "$work" && pwd)
    git ls-files -z | tar --null -T - -cf - | tar -C "$work/copy" -xf - || exit 1
    rc=0
    (cd "$work/copy" && GIT_CEILING_DIRECTORIES=$awork scripts/gpu-run.sh --kit "$akit" --out "$awork/out4" --skip-bench) \
        >"$work/log" 2>&1 || rc=$?
    [ "$rc" = 0 ] || [ "$rc" = 77 ] || { cat "$work/log" >&2; fail "a copy without git metadata: exit $rc"; }
    grep -q "its files match the kit's" "$work/out4/gpu-test.md" ||
        fail "gpu-test.md does not say the tree's files matched the kit's"
    echo "# changed" >>"$work/copy/README.md"
    rc=0
    (cd "$work/copy" && GIT_CEILING_DIRECTORIES=$awork scripts/gpu-run.sh --kit "$akit" --out "$awork/out5" --skip-bench) \
        >"$work/log" 2>&1 || rc=$?
    [ "$rc" = 1 ] && grep -q 'built from another tree' "$work/log" && grep -q 'README.md' "$work/log" ||
        { cat "$work/log" >&2; fail "a changed copy without git metadata was not refused (exit $rc)"; }
    [ ! -e "$work/out5/gpu-test.md" ] || fail "a refused kit left results"
    ok "without git metadata, the tree's files are checked against the kit's MANIFEST"
fi
rm -f "$work/y/kit/MANIFEST"
tar -C "$work/y" -czf "$work/nomanifest.tar.gz" kit || exit 1
rc=0
scripts/gpu-run.sh --kit "$work/nomanifest.tar.gz" --out "$work/out3" >"$work/log" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q 'is not an archive made by scripts/device-kit.sh' "$work/log" ||
    { cat "$work/log" >&2; fail "an archive without MANIFEST was not refused (exit $rc)"; }
ok "an archive that is not a kit is refused"
# 4. --sanitize, with a stand-in compute-sanitizer
mkdir -p "$work/cs" || exit 1
cat >"$work/cs/compute-sanitizer" <<'EOF_CS'
#!/bin/sh
# stand-in for compute-sanitizer (tests/kit_test.sh): FAKE_MODE=pass|errors|slow
case "$1" in
--help) echo "--tool --error-exitcode --target-processes --print-limit --leak-check --kernel-name"; exit 0 ;;
--version) echo "stand-in"; exit 0 ;;
esac
tool= filter=
while [ $# -gt 0 ]; do
    case "$1" in
    --tool) tool=$2; shift 2 ;;
    --kernel-name) filter=" [$2]"; shift 2 ;;
    --*) shift 2 ;;
    *) break ;;
    esac
done
echo "$tool$filter $(basename "$1") ${2:-} ${3:-}" >>"$FAKE_LOG"
[ "$FAKE_MODE" = slow ] && exec sleep 30
"$@" >/dev/null 2>&1
rc=$?
[ "$rc" = 77 ] && rc=0
[ "$FAKE_MODE" = errors ] && [ "$tool" = racecheck ] && { echo "========= ERROR SUMMARY: 1 error"; exit 86; }
echo "========= ERROR SUMMARY: 0 errors"
exit $rc
EOF_CS
chmod +x "$work/cs/compute-sanitizer" || exit 1
# DIR MODE OUT ARGS: gpu-run.sh --kit --skip-test --skip-bench ARGS with the
# stand-in tool of DIR first on the PATH, told FAKE_MODE=MODE; leaves the
# exit status in rc, the output in $work/log, the stand-in's in $work/tool.log
stand_in() {
    dir=$1 mode=$2 o=$3; shift 3
    rm -f "$work/tool.log"; rc=0
    PATH="$dir:$PATH" FAKE_MODE=$mode FAKE_LOG=$work/tool.log \
        scripts/gpu-run.sh --kit "$kit" --out "$o" --skip-test --skip-bench "$@" >"$work/log" 2>&1 || rc=$?
}
sanitize() { m=$1 o=$2; shift 2; stand_in "$work/cs" "$m" "$o" --sanitize "$@"; }
sanitize pass "$work/san1"
printf 'racecheck [kns=gemm] pol-gpu-test --kernels-only \nsynccheck pol-gpu-test --kernels-only \ninitcheck pol-gpu-test --kernels-only \nmemcheck pol-gpu-test --mlp small\n' >"$work/want"
[ "$rc" = 0 ] && cmp -s "$work/tool.log" "$work/want" ||
    { cat "$work/log" "$work/tool.log" >&2; fail "gpu-run.sh --sanitize did not run the four tools as it should (exit $rc)"; }
[ "$(grep -c '^## [a-z]*check: no errors, the test passed' "$work/san1/sanitize.md")" = 4 ] ||
    fail "sanitize.md does not report four clean tools"
sanitize errors "$work/san2"
[ "$rc" = 1 ] && grep -q '^## racecheck: ERRORS reported by racecheck' "$work/san2/sanitize.md" ||
    { cat "$work/log" >&2; fail "errors reported by the sanitizer did not fail the round (exit $rc)"; }
sanitize slow "$work/san3" --sanitize-limit 1 --racecheck-limit 1
[ "$rc" = 1 ] && grep -q '^## racecheck: STOPPED at the limit of 1 s' "$work/san3/sanitize.md" ||
    { cat "$work/log" >&2; fail "a tool past --sanitize-limit did not fail the round (exit $rc)"; }
ok "gpu-run.sh --sanitize runs the four tools on their parts and fails on errors and time-outs"

# 5. --ncu, with a stand-in ncu (FAKE_MODE=pass|fail|slow|nodev)
mkdir -p "$work/ncu" || exit 1
cat >"$work/ncu/ncu" <<'EOF_NCU'
#!/bin/sh
# stand-in for ncu (tests/kit_test.sh); it offers every metric but the FMA pipe's
case "$1" in
--version) echo "stand-in ncu"; exit 0 ;;
--query-metrics)
    printf 'Device TEST\n\nMetric Name   Metric Type   Metric Unit   Metric Description\n'
    for m in gpu__time_duration launch__registers_per_thread sm__warps_active smsp__issue_active \
        sm__throughput dram__throughput l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld \
        smsp__average_warps_issue_stalled_barrier_per_issue_active; do
        echo "$m   Counter   none   made up"
    done
    exit 0 ;;
--import) cat "$2"; exit 0 ;; # the stand-in's report is its CSV
esac
o= metrics=
while [ $# -gt 0 ]; do
    case "$1" in
    -o) o=$2; shift 2 ;;
    --metrics) metrics=$2; shift 2 ;;
    -f) shift ;;
    --*) shift 2 ;;
    *) break ;;
    esac
done
echo "$(basename "$1") $2 $3 $metrics" >>"$FAKE_LOG"
[ "$FAKE_MODE" = fail ] && { echo "==ERROR== Failed to initialize the profiler"; exit 1; }
[ "$FAKE_MODE" = slow ] && exec sleep 30
[ "$FAKE_MODE" = nodev ] && exec "$@" # the program's own exit 77 (no GPU here)
"$@" >/dev/null 2>&1
rc=$?
[ "$rc" = 77 ] && rc=0
cat >"$o.ncu-rep" <<'EOF_CSV'
==PROF== a note before the table
"ID","Kernel Name","Block Size","Grid Size","gpu__time_duration.sum","launch__registers_per_thread","smsp__issue_active.avg.pct_of_peak_sustained_active"
"","","","","nsecond","register/thread","%"
"0","_ZN39_GLOBAL__N__x16gemm_tile_kernelILi128ELi128ELi16ELi8ELi8ELb0ELb0ELb0ELb0EEEvNS_11gemm_paramsE","(256, 1, 1)","(32, 32, 1)","3,210,456","255","71.5"
"1","void (anonymous namespace)::gemm_tile_kernel<128, 128, 8, 8, 8, true, false, false, true>((anonymous namespace)::gemm_params)","(256, 1, 1)","(32, 32, 1)","2,999,000","128","80.25"
"2","gemm_chunk_sum_kernel","(256, 1, 1)","(528, 1, 1)","12,000","22","10"
"3","sm90_xmma_gemm_f32f32_f32f32_f32_nn_n_tilesize128x128x8_stage3_warpsize2x2x1_ffma","(128, 1, 1)","(64, 16, 1)","2,500,000","168","88"
"4","void cutlass::Kernel2<cutlass_80_simt_sgemm_128x128_8x4_nn_align1>(T1::Params)","(256, 1, 1)","(8, 8, 1)","9","122","50"
EOF_CSV
exit $rc
EOF_NCU
chmod +x "$work/ncu/ncu" || exit 1
ncu() { m=$1 o=$2; shift 2; stand_in "$work/ncu" "$m" "$o" --ncu "$@"; }
ncu pass "$work/ncu1" --ncu-shapes 3,6
metrics=gpu__time_duration.sum,launch__registers_per_thread,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active,sm__throughput.avg.pct_of_peak_sustained_elapsed,dram__throughput.avg.pct_of_peak_sustained_elapsed,l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum,smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio
printf 'gemm_gpu --profile 3 %s\ngemm_gpu --profile 6 %s\ntrain_gpu --profile mlp:exact %s\ntrain_gpu --profile mlp:fp32 %s\n' \
    "$metrics" "$metrics" "$metrics" "$metrics" >"$work/want"
[ "$rc" = 0 ] && cmp -s "$work/tool.log" "$work/want" ||
    { cat "$work/log" "$work/tool.log" >&2; fail "gpu-run.sh --ncu did not profile gemm_gpu --profile 3 and 6, then train_gpu --profile mlp:exact and mlp:fp32, with the offered metrics (exit $rc)"; }
m=$work/ncu1/ncu.md
[ "$(grep -c '^| 128x128 k16 8x8 NN | (32, 32, 1) | (256, 1, 1) | 3,210,456 | 255 | - | 71.5 |' "$m")" = 4 ] &&
    grep -q '^| 128x128 k8 8x8 TN lean | .* | 128 | - | 80.25 |' "$m" &&
    grep -q '^| split-K chunk sums |' "$m" && grep -q '^| sm90_xmma_gemm_f32f32' "$m" &&
    grep -q '^| cutlass::Kernel2<cutlass_80_simt_sgemm_128x128_8x4_nn_align1> |' "$m" &&
    grep -q '^| kernel | grid | block | time (nsecond) | regs (register/thread) | occupancy | issue busy (%) |' "$m" &&
    grep -q '^## shape 6: mlp fwd l1 (NT+bias) 256x1024x1024$' "$m" &&
    grep -q 'Not offered by this ncu (left out): sm__pipe_fma_cycles_active' "$m" &&
    [ "$(grep -c '^| all 5 kernels | | | 8721465 |' "$m")" = 2 ] &&
    grep -q '^## one training step: mlp:fp32$' "$m" ||
    { cat "$m" >&2; fail "ncu.md does not table the stand-in's kernels as it should"; }
ncu fail "$work/ncu2"
[ "$rc" = 0 ] && [ "$(grep -c '^No report to read' "$work/ncu2/ncu.md")" = 5 ] &&
    grep -q 'Failed to initialize the profiler' "$work/ncu2/ncu.md" ||
    { cat "$work/log" "$work/ncu2/ncu.md" >&2; fail "a failing profiler was not reported, or failed the round (exit $rc)"; }
ncu slow "$work/ncu3" --ncu-shapes 3 --ncu-train '' --ncu-limit 1
[ "$rc" = 0 ] && grep -q '^ncu: STOPPED at the limit of 1 s' "$work/ncu3/ncu.md" ||
    { cat "$work/log" "$work/ncu3/ncu.md" >&2; fail "a profile past --ncu-limit was not reported, or failed the round (exit $rc)"; }
ncu nodev "$work/ncu4"
[ "$rc" = 77 ] && grep -q '^No usable CUDA device' "$work/ncu4/ncu.md" ||
    { cat "$work/log" "$work/ncu4/ncu.md" >&2; fail "gpu-run.sh --ncu without a device did not end with 77 and say so (exit $rc)"; }
ok "gpu-run.sh --ncu profiles each shape with the offered metrics, tables its kernels, reports failures"
rm -rf "$work"
