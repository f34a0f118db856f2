#!/bin/sh
# scripts/kernel-audit.sh — a static audit of what nvcc makes of the exact
# CUDA kernels: IEEE operations only, no float atomics, no register spills.
# Needs nvcc (and the ptxas it runs) only; no GPU, no cuobjdump.
#
#   scripts/kernel-audit.sh [--nvcc NVCC] [--flags 'FLAGS'] [--out DIR] [FILE.cu ...]
#   scripts/kernel-audit.sh --selftest [--nvcc NVCC] [--flags 'FLAGS'] [--out DIR]
#
#   FILE.cu        the sources to audit (default: kernels/*.cu)
#   --nvcc NVCC    the compiler (default: $NVCC, else nvcc)
#   --flags FLAGS  nvcc's flags, the build's own NVCCFLAGS with their
#                  -gencode list (default: asked of the Makefile with
#                  `make -s cuda=1 print-nvccflags`; `make kernel-audit`
#                  passes them)
#   --out DIR      where the PTX and ptxas's reports are kept
#                  (default: build/kernel-audit of the repository)
#   --selftest     audit the planted kernels of tests/kernel_audit/ instead:
#                  each must be rejected for exactly the rules its
#                  `kernel-audit-expect:` line names, good.cu must pass
#
# Each file is compiled as the build compiles it (the same flags, every
# -gencode), with -fatbin --resource-usage -keep: the PTX of every virtual
# arch and ptxas's report for every real arch stay under DIR. Rules:
#   flags      the flags keep --fmad=false -ftz=false -prec-div=true
#              -prec-sqrt=true (the last of each wins, as in nvcc) and hold
#              no --use_fast_math, -ffast-math, -Ofast or -ffp-contract=fast
#              (a lost --fmad=false cannot always be seen in the PTX: nvcc
#              fuses a*b+c into an fma.rn that reads like a written fma)
#   ieee       every add/sub/mul/fma/mad/div/sqrt/rcp on a floating-point
#              type carries exactly one IEEE rounding modifier (.rn .rz .rm
#              .rp) and nothing else: no bare mul.f32 that ptxas may
#              contract, no .approx, no .full division, no .sat or .relu;
#              and no instruction at all flushes subnormals (.ftz)
#   special    no approximate special-function instruction: ex2, lg2, sin,
#              cos, tanh, rsqrt, rcp.approx (what __expf, __sinf, ... and
#              --use_fast_math make; correctly rounded division and square
#              root are div.rn and sqrt.rn)
#   mma        no tensor-core matrix instruction (mma, wmma.mma, wgmma):
#              their sums are not a sequence of IEEE operations
#   atomic     no floating-point atom/red (or bulk/multimem reduction): the
#              order of the additions would depend on scheduling (A-RED-3);
#              integer atomics (the kernels' error flag) are fine
#   resources  ptxas reports, for every function on every real arch,
#              0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
#   launch     every kernel can be launched with the most threads it may
#              get: its __launch_bounds__ (.maxntid), else 1024, the most
#              pol_cuda_launch.block allows. Its registers, rounded up to a
#              multiple of 8 as the hardware allocates them, times those
#              threads fit the 65536 registers a block may hold: a kernel
#              without bounds may use 64. A kernel over it fails to launch
#              on a GPU (too many resources requested) only at the block
#              sizes that exceed it, which nothing but a GPU would show.
# Findings name the file, the arch, the function (the PTX .entry, demangled
# when c++filt is there) and the instruction with its PTX line. A table per
# real arch lists every kernel's registers, shared memory, stack and spills.
#
# Exit status: 0 no finding (self-test: every planted kernel judged as
# expected), 1 a finding or a failed compile, 2 bad usage, 77 no nvcc.

# Why a rounding modifier on every operation: the PTX ISA (add, sub, mul:
# Notes) treats an instruction with an explicit rounding modifier
# "conservatively", while one without it "may be optimized aggressively by
# the code optimizer. In particular, mul/add sequences with no rounding
# modifiers may be optimized to use fused-multiply-add instructions". nvcc
# writes .rn on every plain a*b and a+b only under --fmad=false.
#
# max/min (and neg, abs, selp, setp) are not arithmetic that rounds: each
# returns one operand bit for bit (or the canonical NaN when both are NaN),
# and nvcc emits max/min without fast-math flags only where they mean what
# the source's select means. The one there is today is relu's
# `v > 0 ? v : +0` (A-RELU) as `max.f32 d, v, 0f00000000`. The PTX ISA
# (9.7.3.12, max) returns the other operand when one input is NaN, else
# (a > b) ? a : b, with "+0.0 > -0.0" when both inputs are zeros. So
# max(v, +0) is +0 for a NaN v, +0 for v = +-0, v for v > 0, +0 for v < 0:
# A-RELU's select case by case. It would not be A-MAX's `x > m ? x : m`
# (a NaN first element would be dropped, a -0 maximum would become +0),
# which nvcc rightly keeps as setp/selp; a max.ftz is rejected (ieee).
set -u

nvcc=${NVCC:-nvcc}
flags='' have_flags=0 out='' selftest=0
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; }
need() { [ $# -ge 2 ] || { echo "kernel-audit: $1 needs a value (see --help)" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
    case "$1" in
    -h|--help) usage; exit 0 ;;
    --selftest) selftest=1; shift ;;
    --nvcc) need "$@"; nvcc=$2; shift 2 ;;
    --flags) need "$@"; flags=$2; have_flags=1; shift 2 ;;
    --out) need "$@"; out=$2; shift 2 ;;
    --) shift; break ;;
    -*) echo "kernel-audit: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
    esac
done
if [ $selftest = 1 ] && [ $# -gt 0 ]; then
    echo "kernel-audit: --selftest takes no files (see --help)" >&2; exit 2
fi

# Paths given relative to the caller's directory; the work happens at the root.
abs() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
if [ -n "$out" ]; then mkdir -p "$out" && out=$(abs "$out") || exit 2; fi
n=$#
while [ $n -gt 0 ]; do
    [ -f "$1" ] || { echo "kernel-audit: no file $1" >&2; exit 2; }
    set -- "$@" "$(abs "$1")"; shift; n=$((n - 1))
done
root=$(cd "$(dirname "$0")/.." && pwd) || exit 2
cd "$root" || exit 2
out=${out:-$root/build/kernel-audit}

if ! command -v "$nvcc" >/dev/null 2>&1; then
    echo "kernel-audit: SKIPPED (no nvcc: $nvcc not found)"; exit 77
fi
if [ $have_flags = 0 ]; then
    flags=$(${MAKE:-make} -s --no-print-directory cuda=1 NVCC="$nvcc" print-nvccflags) || {
        echo "kernel-audit: cannot ask the Makefile for NVCCFLAGS; give --flags" >&2; exit 2; }
fi
[ -n "$flags" ] || { echo "kernel-audit: empty NVCCFLAGS" >&2; exit 2; }
if command -v c++filt >/dev/null 2>&1; then demangle='c++filt'; else demangle='cat'; fi

# ---------------------------------------------------------------- the checks
# Records, one a line, tab-separated:
#   F rule where function message            a finding (function: mangled, or empty)
#   R sm_XX file function regs smem stack spill-stores spill-loads
#   S file compute_XX entries fp-instructions-checked

# The flag rule. Tokens split on blanks and commas (-Xcompiler lists);
# `--opt value` read as `--opt=value`; the last value of an option wins.
# shellcheck disable=SC2016 # awk programs, expanded by awk
FLAGS_AWK='
function find(msg) { printf "F\tflags\tNVCCFLAGS\t\t%s\n", msg }
BEGIN {
    n = split(ENVIRON["KA_FLAGS"], t, "[ \t,]+")
    for (i = 1; i <= n; i++) {
        x = t[i]
        sub(/^--/, "-", x)
        if (x ~ /^-(fmad|ftz|prec-div|prec-sqrt)$/ && i < n) { i++; x = x "=" t[i] }
        if (x ~ /^-(fmad|ftz|prec-div|prec-sqrt)=/) {
            k = x; sub(/=.*/, "", k); v = x; sub(/^[^=]*=/, "", v); val[k] = v
        } else if (x == "-use_fast_math" || x == "-ffast-math" || x == "-Ofast" ||
                   x ~ /^-ffp-contract=(fast|on)$/)
            find(t[i] " (fast math, or contraction)")
    }
    split("-fmad=false -ftz=false -prec-div=true -prec-sqrt=true", need, " ")
    for (j = 1; j <= 4; j++) {
        k = need[j]; sub(/=.*/, "", k); v = need[j]; sub(/^[^=]*=/, "", v)
        if (!(k in val)) find("no -" k "=" v " (it must be spelled out)")
        else if (val[k] != v) find("-" k "=" val[k] " (must be -" k "=" v ")")
    }
}'

# One source: ptxas's report (file `ru`, read first) and the PTX of each
# virtual arch. The single quote of ptxas's messages is \047 here.
# shellcheck disable=SC2016
AUDIT_AWK='
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function num(s, re,    m) {
    if (!match(s, re)) return -1
    m = substr(s, RSTART, RLENGTH); sub(/[^0-9].*/, "", m); return m + 0
}
function find(rule, where, name, msg) { printf "F\t%s\t%s\t%s\t%s\n", rule, where, name, msg }
function at(rule, why) {
    find(rule, src " [" parch "]" fkind, fn, sprintf("%s -- %s (%s:%d)", stmt, why, FILENAME, FNR))
}
BEGIN {
    split("f16 f16x2 bf16 bf16x2 f32 f32x2 f64 tf32 e4m3 e4m3x2 e5m2 e5m2x2 e2m1 e2m1x2 " \
          "e2m3 e2m3x2 e3m2 e3m2x2 ue8m0 ue8m0x2", a, " ")
    for (i in a) FT[a[i]] = 1
    split("rn rz rm rp", a, " ");                    for (i in a) RND[a[i]] = 1
    split("add sub mul fma mad div sqrt rcp", a, " "); for (i in a) ARITH[a[i]] = 1
    split("ex2 lg2 sin cos tanh rsqrt", a, " ");       for (i in a) SPECIAL[a[i]] = 1
    blk = 0; pend = ""
}

# ---- ptxas: one block per ptxas run (one real arch), opened by "bytes gmem"
FILENAME == ru {
    if ($0 ~ /bytes gmem/) { blk++; next }
    if ($0 ~ /Compiling entry function/) {
        split($0, q, "\047"); cur = q[2]; ar = q[4]
        if (!(blk in BARCH)) BARCH[blk] = ar
        else if (BARCH[blk] != ar) { blk++; BARCH[blk] = ar }
        ENT[blk, cur] = 1; EL[++ne] = blk SUBSEP cur
        next
    }
    if ($0 ~ /Function properties for /) {
        pend = $0; sub(/.*Function properties for /, "", pend); pend = trim(pend); next
    }
    if ($0 ~ /bytes stack frame/ && pend != "") {
        k = blk SUBSEP pend
        STK[k] = num($0, "[0-9]+ bytes stack frame")
        SPS[k] = num($0, "[0-9]+ bytes spill stores")
        SPL[k] = num($0, "[0-9]+ bytes spill loads")
        PL[++np] = k; pend = ""
        next
    }
    if ($0 ~ /Used [0-9]+ registers/) {
        REG[blk, cur] = num($0, "[0-9]+ registers")
        sm = num($0, "[0-9]+ bytes smem"); SMEM[blk, cur] = sm < 0 ? 0 : sm
    }
    next
}

# ---- PTX
FNR == 1 { parch = FILENAME; sub(/\.ptx$/, "", parch); sub(/.*\./, "", parch)
           fn = "(module scope)"; fkind = ""; NFP[FILENAME] = 0; NPE[FILENAME] = 0; PF[++npf] = FILENAME }
{
    line = $0
    sub(/\/\/.*/, "", line)
    if (line ~ /^[ \t]*\.target[ \t]/) {
        t = line; sub(/^[ \t]*\.target[ \t]+/, "", t); sub(/[ \t,].*/, "", t)
        TGT[FILENAME] = t; next
    }
    if (line ~ /\.entry[ \t]/) {
        fn = line; sub(/.*\.entry[ \t]+/, "", fn); sub(/[ \t(].*/, "", fn); fkind = ""
        PEL[FILENAME, ++NPE[FILENAME]] = fn; next
    }
    if (line ~ /\.(maxntid|reqntid)[ \t]/ && fkind == "") {
        t = line; sub(/.*\.(maxntid|reqntid)[ \t]+/, "", t); gsub(/[ \t]/, "", t)
        nd = split(t, dd, ","); v = 1
        for (j = 1; j <= nd; j++) v *= dd[j] + 0
        MNT[TGT[FILENAME], fn] = v
    }
    if (line ~ /\.func[ \t]/) {
        fn = line; sub(/.*\.func[ \t]+/, "", fn)
        if (fn ~ /^\(/) sub(/^\([^)]*\)[ \t]*/, "", fn)
        sub(/[ \t(;].*/, "", fn); fkind = " .func"; next
    }
    n = split(line, st, ";")
    for (i = 1; i <= n; i++) check(st[i])
}
function check(s,    op, np, p, j, base, hasft, nr, other, ftz, approx) {
    s = trim(s)
    while (s ~ /^[{}]/) s = trim(substr(s, 2))
    sub(/^[$%A-Za-z_][$A-Za-z0-9_]*:[ \t]*/, "", s)   # a label
    sub(/^@!?%?[A-Za-z0-9_]+[ \t]+/, "", s)           # a guard predicate
    if (s !~ /^[a-z]/) return                          # directives, ")", ...
    op = s; sub(/[ \t].*/, "", op)
    np = split(op, p, ".")
    base = p[1]; hasft = 0; nr = 0; other = ""; ftz = 0; approx = 0
    for (j = 2; j <= np; j++) {
        if (p[j] in FT) hasft = 1
        else if (p[j] in RND) nr++
        else other = other "." p[j]
        if (p[j] == "ftz") ftz = 1
        if (p[j] == "approx") approx = 1
    }
    stmt = s; gsub(/[ \t]+/, " ", stmt)
    if (length(stmt) > 72) stmt = substr(stmt, 1, 69) "..."
    if ((base in SPECIAL) || (base == "rcp" && approx)) {
        at("special", "approximate special function"); return
    }
    if (base == "mma" || base == "wgmma" || (np >= 2 && p[2] ~ /^mma/ && (base == "wmma" || base ~ /^tcgen05/))) {
        at("mma", "tensor-core matrix operation"); return
    }
    if (hasft && (base == "atom" || base == "red" || op ~ /^(cp\.reduce|multimem\.(red|ld_reduce))/)) {
        at("atomic", "floating-point atomic or reduction"); return
    }
    if ((base in ARITH) && hasft) {
        NFP[FILENAME]++
        if (other != "") at("ieee", "modifier " other)
        else if (nr != 1) at("ieee", "no rounding modifier: ptxas may contract or approximate it")
        return
    }
    if (ftz) at("ieee", ".ftz flushes subnormals")
    else if (approx) at("ieee", ".approx")
}

END {
    # ptxas: every function of every real arch, kernels into the table
    for (i = 1; i <= np; i++) {
        k = PL[i]; split(k, kk, SUBSEP); ar = (kk[1] in BARCH) ? BARCH[kk[1]] : "sm_?"
        if (STK[k] != 0 || SPS[k] != 0 || SPL[k] != 0)
            find("resources", src " [" ar "]", kk[2], sprintf("%d bytes stack frame, %d bytes spill stores, %d bytes spill loads",
                                                          STK[k], SPS[k], SPL[k]))
    }
    for (i = 1; i <= ne; i++) {
        k = EL[i]; split(k, kk, SUBSEP); ar = BARCH[kk[1]]; NE[ar]++
        if (!(k in STK) || !(k in REG))
            find("audit", src " [" ar "]", kk[2], "ptxas reported no resource usage")
        else {
            printf "R\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", ar, src, kk[2], REG[k], SMEM[k], STK[k], SPS[k], SPL[k]
            nt = ((ar, kk[2]) in MNT) ? MNT[ar, kk[2]] : 1024
            r8 = int((REG[k] + 7) / 8) * 8
            if (r8 * nt > 65536)
                find("launch", src " [" ar "]", kk[2], sprintf("%d registers (%d allocated) x %d threads%s > 65536: fails to launch at that block size",
                                                           REG[k], r8, nt, ((ar, kk[2]) in MNT) ? "" : " (no __launch_bounds__; the block may be 1024)"))
        }
    }
    # the PTX read and ptxas report the same kernels, arch by arch
    if (npf == 0) find("audit", src, "", "no PTX was kept")
    for (i = 1; i <= npf; i++) {
        f = PF[i]; ar = TGT[f]
        if (ar == "") { find("audit", f, "", "no .target"); continue }
        for (j = 1; j <= NPE[f]; j++) {
            seen = 0
            for (b = 1; b <= blk; b++) if ((b, PEL[f, j]) in ENT && BARCH[b] == ar) seen = 1
            if (!seen) find("audit", src " [" ar "]", PEL[f, j], "in the PTX, not in ptxas report")
        }
        if (NE[ar] != NPE[f])
            find("audit", src " [" ar "]", "", sprintf("%d entries in the PTX, %d in ptxas report", NPE[f], NE[ar] + 0))
        x = f; sub(/\.ptx$/, "", x); sub(/.*\./, "", x)
        printf "S\t%s\t%s\t%d\t%d\n", src, x, NPE[f], NFP[f]
    }
}'

# audit DIR FLAGS FILE...: compile and check each file; records to DIR/records
# (sh has no locals: the a_ names are this function's own)
audit() {
    a_dir=$1 a_flags=$2; shift 2
    rm -rf "$a_dir" && mkdir -p "$a_dir" || exit 2
    KA_FLAGS=$a_flags awk "$FLAGS_AWK" > "$a_dir/records" || exit 2
    for a_f; do
        a_rel=${a_f#"$root"/}
        a_d=$a_dir/$(printf '%s' "$a_rel" | sed 's|/|_|g; s|\.cu$||')
        mkdir -p "$a_d" || exit 2
        # word splitting of the flags is intended (as make does)
        # shellcheck disable=SC2086
        if ! "$nvcc" $a_flags -fatbin "$a_f" -o "$a_d/$(basename "$a_f" .cu).fatbin" \
                --resource-usage -keep -keep-dir "$a_d" > "$a_d/nvcc.txt" 2>&1; then
            printf 'F\tcompile\t%s\t\tnvcc failed (all of its output: %s/nvcc.txt)\n' "$a_rel" "${a_d#"$root"/}" >> "$a_dir/records"
            grep -v 'Compile time' "$a_d/nvcc.txt" | tail -n 15 | sed 's/^/    /' >&2
            continue
        fi
        a_ptx=0
        for a_p in "$a_d"/*.ptx; do [ -f "$a_p" ] && a_ptx=1; done
        if [ $a_ptx = 0 ]; then
            printf 'F\taudit\t%s\t\tnvcc kept no PTX in %s\n' "$a_rel" "${a_d#"$root"/}" >> "$a_dir/records"; continue
        fi
        a_d=${a_d#"$root"/}   # shorter names in the findings
        awk -v src="$a_rel" -v ru="$a_d/nvcc.txt" "$AUDIT_AWK" "$a_d/nvcc.txt" "$a_d"/*.ptx >> "$a_dir/records" ||
            printf 'F\taudit\t%s\t\tawk failed\n' "$a_rel" >> "$a_dir/records"
    done
}

# Function names for people: demangled (c++filt, when there), without the
# anonymous namespace, a leading "void" or the parameter list.
# shellcheck disable=SC2016
SHORT_AWK='
function short(s,    i, d, c) {
    gsub(/\(anonymous namespace\)::/, "", s); sub(/^void /, "", s)
    if (s !~ /\)$/) return s
    d = 0
    for (i = length(s); i > 0; i--) {
        c = substr(s, i, 1)
        if (c == ")") d++
        else if (c == "(" && --d == 0) return substr(s, 1, i - 1)
    }
    return s
}'

# names DIR RECORDS: RECORDS with column 4 demangled appended as the last
names() { cut -f4 "$2" | $demangle | paste "$2" -; }

# findings DIR [MAX]: the findings of DIR/records, one a line, all of them
# into DIR/findings; the first MAX (default all) shown
findings() {
    grep '^F' "$1/records" > "$1/found"
    names "$1" "$1/found" | awk -F '\t' "$SHORT_AWK"'
        { n = short($6); printf "  [%s] %s%s: %s\n", $2, $3, (n == "" ? "" : " " n), $5 }' > "$1/findings"
    if [ -n "${2:-}" ] && [ "$(wc -l < "$1/findings")" -gt "$2" ]; then
        head -n "$2" "$1/findings"
        echo "  ... and $(($(wc -l < "$1/findings") - $2)) more (all of them in ${1#"$root"/}/findings)"
    else
        cat "$1/findings"
    fi
}

# tables DIR: one table per real arch
tables() {
    grep '^R' "$1/records" > "$1/rows"
    names "$1" "$1/rows" | sort -t "$(printf '\t')" -k2,2 -k3,3 -k10,10 | awk -F '\t' "$SHORT_AWK"'
    { n++; A[n] = $2; F[n] = $3; K[n] = short($10); V[n] = sprintf("%5d %7d %6d %9d %9d", $5, $6, $7, $8, $9)
      if (length(K[n]) > wk) wk = length(K[n]); if (length(F[n]) > wf) wf = length(F[n]) }
    END {
        fmt = "  %-" wf "s  %-" wk "s"   # (no %*s in every awk)
        for (i = 1; i <= n; i++) {
            if (A[i] != last) {
                printf "\n" fmt "  regs    smem  stack  spill-st  spill-ld  (ptxas; bytes)\n", A[i], "kernel"
                last = A[i]
            }
            printf fmt " %s\n", F[i], K[i], V[i]
        }
    }'
}

# rules DIR: the rules that fired, sorted, on one line
rules() { grep '^F' "$1/records" | cut -f2 | sort -u | tr '\n' ' ' | sed 's/ $//'; }

t0=$(date +%s)

# ------------------------------------------------------------------ self-test
if [ $selftest = 1 ]; then
    echo "== kernel-audit --selftest: the planted kernels of tests/kernel_audit/"
    fails=0 covered=
    for f in "$root"/tests/kernel_audit/*.cu; do
        name=${f##*/}
        expect=$(sed -n 's/.*kernel-audit-expect:[ \t]*//p' "$f" | head -n 1)
        drop=$(sed -n 's/.*kernel-audit-drop:[ \t]*//p' "$f" | head -n 1)
        add=$(sed -n 's/.*kernel-audit-add:[ \t]*//p' "$f" | head -n 1)
        if [ -z "$expect" ]; then
            echo "FAIL $name: no kernel-audit-expect line"; fails=$((fails + 1)); continue
        fi
        fl=$flags
        for w in $drop; do
            case " $fl " in
            *" $w "*) fl=$(printf '%s\n' "$fl" | awk -v w="$w" '{ o = ""
                          for (i = 1; i <= NF; i++) if ($i != w) o = o (o == "" ? "" : " ") $i
                          print o }') ;;
            *) echo "FAIL $name: kernel-audit-drop: $w is not among the flags"; fails=$((fails + 1)); continue 2 ;;
            esac
        done
        [ -n "$add" ] && fl="$fl $add"
        d=$out/selftest/${name%.cu}
        audit "$d" "$fl" "$f"
        got=$(rules "$d")
        # shellcheck disable=SC2086 # one rule a word
        want=$(printf '%s\n' $expect | sort -u | tr '\n' ' ' | sed 's/ $//')
        [ "$want" = pass ] && want=
        covered="$covered $want"
        how=${drop:+, without $drop}${add:+, with $add}
        if [ "$got" = "$want" ]; then
            if [ -z "$want" ]; then echo "ok   $name passes$how"
            else echo "ok   $name rejected for: $want$how"; findings "$d"; fi
        else
            echo "FAIL $name: expected ${want:-a pass}, the audit found: ${got:-nothing}$how"
            findings "$d"; fails=$((fails + 1))
        fi
    done
    # every rule is shown to fire on some planted kernel
    for r in flags ieee special mma atomic resources launch; do
        case " $covered " in *" $r "*) ;; *) echo "FAIL no planted kernel for the rule $r"; fails=$((fails + 1)) ;; esac
    done
    if [ $fails != 0 ]; then echo "kernel-audit --selftest: $fails FAILED"; exit 1; fi
    echo "kernel-audit --selftest: every planted kernel judged as expected ($(($(date +%s) - t0)) s)"
    exit 0
fi

# ---------------------------------------------------------------- the audit
[ $# -gt 0 ] || set -- "$root"/kernels/*.cu
[ -f "$1" ] || { echo "kernel-audit: no kernels/*.cu" >&2; exit 2; }
echo "== kernel-audit: $# files"
audit "$out/audit" "$flags" "$@"
tables "$out/audit"
echo
echo "  PTX checked (kernels; floating-point add, sub, mul, fma, div, sqrt, rcp instructions):"
grep '^S' "$out/audit/records" | sort | awk -F '\t' '
    $2 != last { if (last != "") print l; l = sprintf("  %-20s", $2 ":"); last = $2 }
    { l = l sprintf("  %s %3d kernels %5d fp ops", $3 ":", $4, $5) }
    END { if (last != "") print l }'
nf=$(grep -c '^F' "$out/audit/records")
if [ "$nf" != 0 ]; then
    echo "kernel-audit: $nf FINDINGS (PTX and ptxas reports under ${out#"$root"/}/audit):"
    findings "$out/audit" 40
    exit 1
fi
echo "kernel-audit: passed, no findings ($(($(date +%s) - t0)) s; PTX and ptxas reports under ${out#"$root"/}/audit)"
