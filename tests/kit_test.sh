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
#      found, and errors or a tool stopped at --sanitize-limit fail the round.
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
# stand-in for compute-sanitizer (tests/kit_test.sh): FAKE_CS=pass|errors|slow
case "$1" in
--help) echo "--tool --error-exitcode --target-processes --print-limit --leak-check"; exit 0 ;;
--version) echo "stand-in"; exit 0 ;;
esac
tool=
while [ $# -gt 0 ]; do
    case "$1" in
    --tool) tool=$2; shift 2 ;;
    --*) shift 2 ;;
    *) break ;;
    esac
done
echo "$tool $(basename "$1") ${2:-} ${3:-}" >>"$FAKE_CS_LOG"
[ "$FAKE_CS" = slow ] && exec sleep 30
"$@" >/dev/null 2>&1
rc=$?
[ "$rc" = 77 ] && rc=0
[ "$FAKE_CS" = errors ] && [ "$tool" = racecheck ] && { echo "========= ERROR SUMMARY: 1 error"; exit 86; }
echo "========= ERROR SUMMARY: 0 errors"
exit $rc
EOF_CS
chmod +x "$work/cs/compute-sanitizer" || exit 1
sanitize() { # MODE OUT [ARGS]: runs the round, leaves its exit status in rc
    mode=$1 o=$2; shift 2
    rm -f "$work/cs.log"; rc=0
    PATH="$work/cs:$PATH" FAKE_CS=$mode FAKE_CS_LOG=$work/cs.log \
        scripts/gpu-run.sh --kit "$kit" --out "$o" --skip-test --skip-bench --sanitize "$@" >"$work/log" 2>&1 || rc=$?
}
sanitize pass "$work/san1"
printf 'racecheck pol-gpu-test --kernels-only \nsynccheck pol-gpu-test --kernels-only \ninitcheck pol-gpu-test --kernels-only \nmemcheck pol-gpu-test --mlp small\n' >"$work/want"
[ "$rc" = 0 ] && cmp -s "$work/cs.log" "$work/want" ||
    { cat "$work/log" "$work/cs.log" >&2; fail "gpu-run.sh --sanitize did not run the four tools as it should (exit $rc)"; }
[ "$(grep -c '^## [a-z]*check: no errors, the test passed' "$work/san1/sanitize.md")" = 4 ] ||
    fail "sanitize.md does not report four clean tools"
sanitize errors "$work/san2"
[ "$rc" = 1 ] && grep -q '^## racecheck: ERRORS reported by racecheck' "$work/san2/sanitize.md" ||
    { cat "$work/log" >&2; fail "errors reported by the sanitizer did not fail the round (exit $rc)"; }
sanitize slow "$work/san3" --sanitize-limit 1
[ "$rc" = 1 ] && grep -q '^## racecheck: STOPPED at the limit of 1 s' "$work/san3/sanitize.md" ||
    { cat "$work/log" >&2; fail "a tool past --sanitize-limit did not fail the round (exit $rc)"; }
ok "gpu-run.sh --sanitize runs the four tools on their parts and fails on errors and time-outs"
rm -rf "$work"
