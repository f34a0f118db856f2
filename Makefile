# libpol — one Makefile for the library, programs, tests and benchmarks.
#
#   make            build/lib/libpol.{a,so}, build/bin/* (the programs)
#   make test       dependency check, then every cmocka suite
#   make demo       dependency check, then the digits demo
#   make bench      CPU benchmarks; tables go to bench/results/
#   make deps       install the Debian packages the build needs
#   make install    PREFIX=/usr/local DESTDIR= : headers, libpol.a, libpol.so, libpol.pc
#   make clean
#
# Exact-mode numerics depend on these flags: no contraction, no fast-math.
# Never add -ffast-math, -Ofast or -ffp-contract=fast.

VERSION_MAJOR := 0
VERSION_MINOR := 1
VERSION_PATCH := 0
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
BUILD := build

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
FPFLAGS := -ffp-contract=off -fno-fast-math -fno-math-errno
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) $(FPFLAGS) $(CFLAGS) -fPIC -pthread \
              -Iinclude -MMD -MP
LDLIBS := -ljansson -lcrypto -lpthread -lm

# Per-file ISA flags for the run-time-dispatched SIMD kernels.
ISA_avx2 := -mavx2 -mfma
ISA_avx512 := -mavx512f -mavx512dq -mavx2 -mfma

LIB_SRC := $(sort $(wildcard lib/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
PROG_SRC := $(sort $(wildcard examples/*.c))
PROGS := $(PROG_SRC:examples/%.c=$(BUILD)/bin/%)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TESTS := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCHES := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all lib test demo bench deps install clean check-deps
all: lib $(PROGS)
lib: $(BUILD)/lib/libpol.a $(BUILD)/lib/libpol.so

# ------------------------------------------------------------------ library
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ISA_$(lastword $(subst _, ,$(basename $(notdir $<))))) -c $< -o $@

$(BUILD)/lib/libpol.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/lib/libpol.so: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libpol.so.$(VERSION_MAJOR) -o $@.$(VERSION) $^ $(LDLIBS)
	ln -sf libpol.so.$(VERSION) $@.$(VERSION_MAJOR)
	ln -sf libpol.so.$(VERSION) $@

# ----------------------------------------------------------------- programs
$(BUILD)/bin/%: examples/%.c $(BUILD)/lib/libpol.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(BUILD)/lib/libpol.a $(LDLIBS)

# -------------------------------------------------------------------- tests
TEST_COMMON := tests/testutil.c
$(BUILD)/tests/%: tests/%.c $(TEST_COMMON) $(BUILD)/lib/libpol.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-format-truncation -Itests $< $(TEST_COMMON) -o $@ $(BUILD)/lib/libpol.a -lcmocka $(LDLIBS)

check-deps:
	@scripts/deps.sh check

# Each suite prints its random seed; re-run one with POL_TEST_SEED=<seed>.
test: check-deps
	@$(MAKE) --no-print-directory all $(TESTS)
	@set -e; for t in $(TESTS); do echo "== $$t"; POL_BIN=$(BUILD)/bin $$t; done
	@echo "all test suites passed"

demo: check-deps
	@$(MAKE) --no-print-directory all
	@examples/demo.sh

# -------------------------------------------------------------- benchmarks
$(BUILD)/bench/%: bench/%.c $(BUILD)/lib/libpol.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -I/usr/include/x86_64-linux-gnu/openblas-pthread $< -o $@ \
	    $(BUILD)/lib/libpol.a $(BENCH_LIBS_$*) $(LDLIBS)
BENCH_LIBS_gemm := -lopenblas

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory all $(BENCHES)
	@set -e; for b in $(BENCHES); do echo "== $$b"; $$b --out bench/results; done

deps:
	@scripts/deps.sh install

# ------------------------------------------------------------------ install
install: lib
	install -d $(DESTDIR)$(PREFIX)/include/pol $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/pol/*.h $(DESTDIR)$(PREFIX)/include/pol/
	install -m 644 $(BUILD)/lib/libpol.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/lib/libpol.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libpol.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libpol.so.$(VERSION_MAJOR)
	ln -sf libpol.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libpol.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' libpol.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libpol.pc

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d)
