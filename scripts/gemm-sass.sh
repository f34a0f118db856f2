#!/bin/sh
# scripts/gemm-sass.sh — what the compiler made of the exact GEMM's main
# loop, read off its machine code (SASS) with no GPU: for each instance of
# gemm_tile_kernel in kernels/gemm.cu, the registers, shared memory and
# spills from ptxas, and the instruction mix of its K loop (the code
# between the loop's head and its one backward branch).
#
#   scripts/gemm-sass.sh [--arch sm_XX]   (default sm_90)
#
# Needs nvcc, and cuobjdump with nvdisasm (CUDA's binary utilities; some
# toolkit installs lack them: exit 77 then). Columns:
#   loop      instructions in the K loop's code: both operand-load variants
#             (float4 and scalar loads; a launch runs one), the chunk fold;
#   run, FFMA, share   the straight run of code (no branch in or out) that
#             holds the most FFMA, i.e. the BK unrolled k steps of one K
#             tile: its length, its FFMA (BM*BN*BK / threads), their share,
#             an upper bound on the fraction of issue slots that do FFMA;
#   LDS.128, LDS       16-byte and narrower shared-memory reads in the loop;
#   LDG.128, LDG       16-byte and narrower global loads in the loop;
#   blk/SM    blocks of this kernel one SM of the arch can hold, the least of
#             what its registers (65536 an SM, allocated 8 a thread at a
#             time), shared memory (an SM's, less 1 KiB a block) and threads
#             allow (sm_80, sm_86, sm_89, sm_90; else -).
#
# Exit status: 0 printed, 1 a tool failed, 2 bad usage, 77 tools missing.
set -u

arch=sm_90
while [ $# -gt 0 ]; do
    case "$1" in
    --arch) [ $# -ge 2 ] || { echo "gemm-sass: --arch needs a value such as sm_90" >&2; exit 2; }; arch=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gemm-sass: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.." || exit 1
for t in nvcc cuobjdump nvdisasm; do
    command -v $t >/dev/null 2>&1 || { echo "gemm-sass: $t not found on the PATH; skipped"; exit 77; }
done

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# The Makefile's flags, so this reads the code it builds, less its targets
# (one -arch here) and its dependency files.
flags=$(make --no-print-directory -s cuda=1 print-nvccflags 2>/dev/null |
        sed 's/-gencode [^ ]*//g; s/-MMD//; s/-MP//') && [ -n "$flags" ] ||
    { echo "gemm-sass: make print-nvccflags failed" >&2; exit 1; }
# shellcheck disable=SC2086
nvcc $flags -arch="$arch" -cubin -Xptxas -v kernels/gemm.cu -o "$tmp/gemm.cubin" \
    >"$tmp/ptxas" 2>&1 || { cat "$tmp/ptxas" >&2; exit 1; }
cuobjdump -sass "$tmp/gemm.cubin" >"$tmp/sass" || exit 1

echo "exact GEMM K loop on $arch ($(nvcc --version | tail -n 1))"
awk -v ptxas="$tmp/ptxas" -v arch="$arch" '
# threads of the block: (BM / TM) * (BN / TN)
function threads(f,   m, a) {
    if (!match(f, /gemm_tile_kernelIL[^E]*E(L[^E]*E)+/)) return 0
    m = substr(f, RSTART, RLENGTH)
    gsub(/gemm_tile_kernelI/, "", m); gsub(/L[ib]/, "", m); split(m, a, "E")
    return (a[1] / a[4]) * (a[2] / a[5])
}
# blocks an SM holds (see --help); smem_sm, thr_sm by arch
function blocks(regs, smem, nt,   b, r) {
    if (!(arch in SMEM) || nt == 0) return "-"
    b = 32
    if (int(THR[arch] / nt) < b) b = int(THR[arch] / nt)
    r = int((regs + 7) / 8) * 8
    if (r > 0 && int(65536 / (r * nt)) < b) b = int(65536 / (r * nt))
    if (int(SMEM[arch] / (smem + 1024)) < b) b = int(SMEM[arch] / (smem + 1024))
    return b
}
function name(f,   m, a) {
    # gemm_tile_kernel<BM, BN, BK, TM, TN, TA, TB, SPLIT, LEAN>, mangled
    # ILi128ELi128ELi16ELi8ELi8ELb0ELb1ELb0ELb0E, -> 128x128 k16 8x8 NT
    if (!match(f, /gemm_tile_kernelIL[^E]*E(L[^E]*E)+/)) return ""
    m = substr(f, RSTART, RLENGTH)
    gsub(/gemm_tile_kernelI/, "", m); gsub(/L[ib]/, "", m); split(m, a, "E")
    return a[1] "x" a[2] " k" a[3] " " a[4] "x" a[5] " " (a[6] ? "T" : "N") (a[7] ? "T" : "N") (a[8] ? " split" : "") (a[9] ? " lean" : "")
}
BEGIN {
    SMEM["sm_80"] = 167936; THR["sm_80"] = 2048; SMEM["sm_90"] = 233472; THR["sm_90"] = 2048
    SMEM["sm_86"] = 102400; THR["sm_86"] = 1536; SMEM["sm_89"] = 102400; THR["sm_89"] = 1536
    while ((getline l < ptxas) > 0) {
        if (l ~ /Compiling entry function/) { match(l, /_Z[A-Za-z0-9_]+/); cur = substr(l, RSTART, RLENGTH) }
        else if (l ~ /spill stores/) { split(l, w, " "); for (i in w) if (w[i] == "bytes" && w[i+1] == "spill" && w[i+2] == "stores,") sp[cur] = w[i-1] }
        else if (l ~ /Used [0-9]+ registers/) { match(l, /Used [0-9]+/); rg[cur] = substr(l, RSTART + 5, RLENGTH - 5)
            if (match(l, /[0-9]+ bytes smem/)) sm[cur] = substr(l, RSTART, RLENGTH - 10) }
    }
    printf "%-24s %5s %6s %6s %6s %6s %6s %7s %7s %7s %7s %7s %6s\n", "kernel", "regs", "smem", "spill", "loop", "run", "FFMA", "share", "LDS.128", "LDS", "LDG.128", "LDG", "blk/SM"
}
function flush(   k, a, t, target, hi, lo, n, c) {
    if (fn == "" || name(fn) == "") return
    # the loop: the backward branch spanning the most code
    hi = -1
    for (k = 1; k <= ni; k++) if (op[k] ~ /BRA/ && match(txt[k], /BRA 0x[0-9a-f]+/)) {
        t = strtonum_(substr(txt[k], RSTART + 4, RLENGTH - 4))
        if (t < ad[k] && ad[k] - t > hi - lo) { hi = ad[k]; lo = t }
    }
    # the K loop code, and in it the straight run (no branch, no branch
    # target) with the most FFMA: the unrolled k steps of one K tile
    n = 0; delete c; best = 0; bestn = 0; run = 0; runf = 0
    for (k = 1; k <= ni; k++) if (op[k] ~ /BRA/ && match(txt[k], /BRA 0x[0-9a-f]+/)) tgt[strtonum_(substr(txt[k], RSTART + 4, RLENGTH - 4))] = 1
    for (k = 1; k <= ni; k++) if (ad[k] >= lo && ad[k] <= hi) {
        n++; c[op[k]]++
        if (ad[k] in tgt) { run = 0; runf = 0 }
        run++; if (op[k] == "FFMA") runf++
        if (runf > best) { best = runf; bestn = run }
        if (op[k] ~ /^(BRA|BSSY|BSYNC|BAR|EXIT)/) { run = 0; runf = 0 }
    }
    delete tgt
    printf "%-24s %5s %6s %6s %6d %6d %6d %6.1f%% %7d %7d %7d %7d %6s\n", name(fn), rg[fn], sm[fn], sp[fn], n,
        bestn, best, bestn ? 100 * best / bestn : 0, c["LDS.128"], c["LDS"] + c["LDS.64"], c["LDG.E.128"],
        c["LDG.E"] + c["LDG.E.64"], blocks(rg[fn], sm[fn], threads(fn))
}
function strtonum_(h,   i, v, d) { v = 0; for (i = 3; i <= length(h); i++) { d = index("0123456789abcdef", substr(h, i, 1)) - 1; v = v * 16 + d } return v }
/Function :/ { flush(); fn = $3; ni = 0; next }
/^ *\/\*[0-9a-f]+\*\/ / {
    a = $1; gsub(/[\/*]/, "", a); ni++; ad[ni] = strtonum_("0x" a)
    o = $2; if (o ~ /^@/) o = $3; sub(/;$/, "", o); op[ni] = o; txt[ni] = $0
}
END { flush() }
' "$tmp/sass"
