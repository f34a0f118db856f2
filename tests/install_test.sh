#!/bin/sh
# tests/install_test.sh DIR — make install into DIR/prefix, then build
# tests/install_consumer.c outside the tree with nothing but pkg-config's
# flags for libpol, twice: linked with libpol.so, then (the shared library
# taken away) with libpol.a. Each program must run and print the version
# that pkg-config reports. Run by `make install-test` (part of make test),
# which passes its BUILD and cuda in the environment (make install reads
# them from there). Exit status: 0 passed, 1 failed.
set -u
dir=${1:?usage: tests/install_test.sh DIR}
cd "$(dirname "$0")/.." || exit 1
rm -rf "$dir" && mkdir -p "$dir" || exit 1
dir=$(cd "$dir" && pwd)
prefix=$dir/prefix

fail() { echo "install-test: FAILED: $*" >&2; exit 1; }

make --no-print-directory install PREFIX="$prefix" >"$dir/install.log" 2>&1 ||
    { cat "$dir/install.log" >&2; fail "make install PREFIX=$prefix"; }
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
want=$(pkg-config --modversion libpol) || fail "pkg-config does not find the installed libpol.pc"
cc=${CC:-cc}

# NAME FLAGS...: builds and runs the consumer, checks what it printed
consumer() {
    name=$1; shift
    "$cc" -std=c17 -Wall -Werror tests/install_consumer.c -o "$dir/$name" "$@" \
        2>"$dir/$name.log" || { cat "$dir/$name.log" >&2; fail "$name: the build failed"; }
    out=$(LD_LIBRARY_PATH="$prefix/lib" "$dir/$name" 2>&1) || { echo "$out" >&2; fail "$name: the program failed"; }
    case "$out" in
    "libpol $want sha256 ok cuda: "*) echo "install-test: $name: $out" ;;
    *) echo "$out" >&2; fail "$name: unexpected output (want libpol $want ...)" ;;
    esac
}

# shellcheck disable=SC2046
consumer shared $(pkg-config --cflags --libs libpol)
LD_LIBRARY_PATH="$prefix/lib" ldd "$dir/shared" | grep -q "libpol\.so\.0 => $prefix/lib/" || fail "shared: not linked with the installed libpol.so"

rm -f "$prefix"/lib/libpol.so*
# shellcheck disable=SC2046
consumer static $(pkg-config --static --cflags --libs libpol)
! ldd "$dir/static" | grep -q "libpol\.so" || fail "static: linked with a libpol.so"
echo "install-test: passed (installed into $prefix)"
