#!/bin/sh
# libpol dependency check and installer (Debian).
#   scripts/deps.sh check     exit 0 if everything the build needs is present;
#                             otherwise install it when root, or print the command.
#   scripts/deps.sh install   install the packages (apt-get, needs root).
#   scripts/deps.sh bench     also the packages only benchmarks use (none today).
#   scripts/deps.sh fuzz      also the packages only fuzzing uses (clang, libFuzzer).
set -eu

# Debian packages the build, the tests and the demo need.
# libopenblas-dev: the tolerant-mode CPU GEMM (POL_KERNELS_BLAS), linked into
# libpol; also the peer the GEMM benchmark compares against.
# libsqlite3-dev: the referee's ledger (pol-referee). iproute2: the
# multi-host test's network namespaces (skipped where they cannot be made).
# cppcheck: make lint, part of make test.
PKGS="build-essential pkg-config libssl-dev libjansson-dev libcmocka-dev \
      libprotobuf-c-dev protobuf-c-compiler libsecp256k1-dev libopenblas-dev \
      libsqlite3-dev iproute2 cppcheck"
# Only for `make bench` (nothing beyond PKGS today).
BENCH_PKGS=""
# Only for `make fuzz` (libFuzzer with ASan/UBSan).
FUZZ_PKGS="clang-14 libclang-rt-14-dev"

missing() {
    out=""
    for p in $1; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            out="$out $p"
        fi
    done
    echo "$out"
}

install() {
    pk=$(missing "$1")
    [ -z "$pk" ] && return 0
    if [ "$(id -u)" = 0 ]; then
        echo "deps: installing$pk" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pk >&2
    else
        echo "deps: missing Debian packages:$pk" >&2
        echo "deps: run:  sudo apt-get install -y$pk" >&2
        exit 1
    fi
}

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: not a Debian system; make sure these are installed: $PKGS" >&2
    exit 0
fi

case "${1:-check}" in
    check|install) install "$PKGS" ;;
    bench) install "$PKGS $BENCH_PKGS" ;;
    fuzz) install "$PKGS $FUZZ_PKGS" ;;
    *) echo "usage: $0 check|install|bench|fuzz" >&2; exit 2 ;;
esac
