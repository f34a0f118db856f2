#!/bin/sh
# scripts/device-kit.sh — builds, on a machine with nvcc and the Debian
# packages of `make deps`, everything scripts/gpu-run.sh runs, and packs it
# into one archive for a GPU machine that has an NVIDIA driver and CUDA's
# libraries but none of libpol's build dependencies (no compiler headers,
# no protobuf-c, libsecp256k1, cmocka, OpenBLAS ...).
#
#   scripts/device-kit.sh [--out FILE] [--jobs N]
#
#   --out FILE   the archive (default build/kit.tar.gz); it holds one folder,
#                kit/, with
#                  bin/      the programs and pol-gpu-test,
#                  bench/    the GPU benchmarks (bench/*.cu),
#                  lib/      every shared library they load, except the C
#                            library, the compiler's runtime (libstdc++,
#                            libgcc_s) and CUDA's own (cudart, cuBLAS),
#                            which the GPU machine provides,
#                  MANIFEST  the commit, the build machine, nvcc's version,
#                            the GPU architectures, the libraries left to
#                            the GPU machine, the SHA-256 of each tracked
#                            source file and of each file of the kit;
#   --jobs N     parallel build jobs (default: the number of CPUs).
#
# The build is the usual one (make cuda=1, in $BUILD, default build/); the
# kit's copies of the binaries are stripped of debug information. Use on the GPU machine, in a copy of the
# same source tree:
#
#   scripts/gpu-run.sh --kit build/kit.tar.gz [--out DIR] ...
#
# Exit status: 0 done, 1 the build or packing failed, 2 bad usage.
set -u

out=build/kit.tar.gz
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 4)
while [ $# -gt 0 ]; do
    case "$1" in
    --out) [ $# -ge 2 ] || { echo "device-kit: --out needs a file name" >&2; exit 2; }; out=$2; shift 2 ;;
    --jobs) [ $# -ge 2 ] || { echo "device-kit: --jobs needs a number" >&2; exit 2; }; jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "device-kit: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$out" in
/*) ;;
*) out=$(pwd)/$out ;;
esac
cd "$(dirname "$0")/.." || exit 1
command -v nvcc >/dev/null 2>&1 || { echo "device-kit: nvcc is not on the PATH: the kit needs the CUDA build" >&2; exit 1; }

build=${BUILD:-build}
echo "device-kit: building the CUDA backend (make cuda=1 BUILD=$build -j$jobs)"
if ! make --no-print-directory cuda=1 BUILD="$build" -j"$jobs" all $build/bin/pol-gpu-test gpu-benches >/dev/null; then
    echo "device-kit: the build failed (run make cuda=1 to see why)" >&2
    exit 1
fi

stage=$(mktemp -d) || exit 1
trap 'rm -rf "$stage"' EXIT
kit=$stage/kit
mkdir -p "$kit/bin" "$kit/bench" "$kit/lib" || exit 1
for f in $build/bin/*; do
    case "$f" in *.d) continue ;; esac
    cp "$f" "$kit/bin/" || exit 1
done
for f in bench/*.cu; do
    b=$(basename "$f" .cu)
    cp "$build/bench/$b" "$kit/bench/" || exit 1
done
for f in "$kit"/bin/* "$kit"/bench/*; do
    strip --strip-debug "$f" || exit 1
done

# The shared libraries: what ldd resolves, less what the GPU machine has.
missing=
for f in "$kit"/bin/* "$kit"/bench/*; do
    ldd "$f" >"$stage/ldd" 2>&1 || { echo "device-kit: ldd $f failed" >&2; cat "$stage/ldd" >&2; exit 1; }
    if grep -q 'not found' "$stage/ldd"; then
        missing="$missing $(basename "$f"):$(grep 'not found' "$stage/ldd" | awk '{print $1}' | tr '\n' ' ')"
    fi
    awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' "$stage/ldd" >>"$stage/libs"
done
[ -z "$missing" ] || { echo "device-kit: unresolved libraries:$missing" >&2; exit 1; }
# What the GPU machine provides: the C library, the compiler's runtime,
# CUDA's own. The list goes into the MANIFEST (tests/kit_test.sh checks the
# kit against it).
provided='libc.so.* libm.so.* libpthread.so.* libdl.so.* librt.so.* ld-linux* libstdc++.so.* libgcc_s.so.* libcudart.so.* libcublas.so.* libcublasLt.so.*'
is_provided() {
    set -f # the words are patterns, not file names
    for pat in $provided; do
        # shellcheck disable=SC2254 # the pattern is meant to match
        case "$1" in $pat) set +f; return 0 ;; esac
    done
    set +f
    return 1
}
sort -u "$stage/libs" | while read -r name path; do
    is_provided "$name" || cp -L "$path" "$kit/lib/$name" || exit 1
done || exit 1

commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && commit="$commit+modified"
{
    echo "libpol device kit"
    echo "commit: $commit"
    echo "built: $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -srm)"
    echo "nvcc: $(nvcc --version | tail -n 1)"
    echo "gpu code: $(sed -n 's/^CUDA_ARCH ?= //p' Makefile)"
    echo "provided by the GPU machine: $provided"
    # the source tree the kit belongs to, for gpu-run.sh on a copy without
    # git metadata (where the commit cannot be compared)
    echo "tree (sha256):"
    git ls-files -z 2>/dev/null | xargs -0 -r sha256sum 2>/dev/null
    echo "files (sha256):"
    (cd "$kit" && find bin bench lib -type f | sort | xargs sha256sum)
} >"$kit/MANIFEST" || exit 1

mkdir -p "$(dirname "$out")" || exit 1
tar -C "$stage" -czf "$out.tmp" kit && mv "$out.tmp" "$out" || { rm -f "$out.tmp"; exit 1; }
echo "device-kit: $out ($(du -k "$out" | cut -f1) KiB): $(ls "$kit/bin" | wc -l) programs," \
    "$(ls "$kit/bench" | wc -l) benchmarks, $(ls "$kit/lib" | wc -l) libraries, commit $commit"
