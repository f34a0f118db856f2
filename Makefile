# libpol — one Makefile for the library, programs, tests and benchmarks.
#
#   make            build/lib/libpol.{a,so}, build/bin/* (the programs)
#   make test       dependency check, then every cmocka suite, the static
#                   audit of nvcc's output for the CUDA kernels (make
#                   kernel-audit), cppcheck (make lint), the suites again
#                   under ASan/UBSan/LSan and under TSan (make asan-test
#                   tsan-test), an installed libpol linked by a program
#                   (make install-test) and the device kit (make kit-test;
#                   it and the audit with CUDA only), then the CUDA backend
#                   and the GPU benchmarks on the CUDA emulator (make
#                   emu-test emu-bench; emu=0 skips them)
#   make kernel-audit  IEEE operations only, no float atomics, no spills in
#                   the compiled kernels (scripts/kernel-audit.sh; no GPU)
#   make lint       cppcheck over lib/ and examples/: any finding fails
#   make coverage   lib/'s line coverage by the CPU test suites (gcov)
#   make demo       dependency check, then the digits demo and the game demo
#   make bench      CPU benchmarks; tables go to bench/results/
#   make deps       install the Debian packages the build needs
#   make install    PREFIX=/usr/local DESTDIR= : headers, libpol.a, libpol.so, libpol.pc
#   make install-test  install into a scratch prefix and link a program
#                   against it with pkg-config (shared, then static)
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
BUILD ?= build
# the compile commands' texts (see "Objects are rebuilt" below)
CC_COMMAND := $(BUILD)/obj/cc-command
CUDA_COMMAND := $(BUILD)/obj/cuda-command

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# No member of the -ffast-math family either (not even -fno-math-errno): the
# build states the IEEE rules plainly and keeps them all.
FPFLAGS := -ffp-contract=off -fno-fast-math
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) $(FPFLAGS) $(CFLAGS) -fPIC -pthread \
              -Iinclude -I$(BUILD)/gen -MMD -MP
# OpenBLAS (the tolerant-mode CPU GEMM, lib/math/blas.c): flags from its
# pkg-config file when there is one, else Debian's pthread build.
OPENBLAS_CFLAGS ?= $(or $(shell pkg-config --cflags openblas 2>/dev/null),-I/usr/include/x86_64-linux-gnu/openblas-pthread)
OPENBLAS_LIBS ?= $(or $(shell pkg-config --libs openblas 2>/dev/null),-lopenblas)
LDLIBS := -ljansson -lcrypto -lprotobuf-c -lsecp256k1 -lsqlite3 $(OPENBLAS_LIBS) -lpthread -lm
# Extra flags for one library source, by file name (without .c).
XFLAGS_blas := $(OPENBLAS_CFLAGS)

# Per-file ISA flags for the run-time-dispatched SIMD kernels.
ISA_avx2 := -mavx2 -mfma
ISA_avx512 := -mavx512f -mavx512dq -mavx2 -mfma

LIB_SRC := $(sort $(wildcard lib/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
# Wire messages: protoc-c turns each proto/<name>.proto into
# build/gen/<name>.pb-c.{c,h} at build time; the generated code is compiled
# into libpol.a.
PROTOC_C ?= protoc-c
PROTO_NAMES := $(sort $(basename $(notdir $(wildcard proto/*.proto))))
GEN_HDR := $(PROTO_NAMES:%=$(BUILD)/gen/%.pb-c.h)
GEN_OBJ := $(PROTO_NAMES:%=$(BUILD)/obj/gen/%.pb-c.o)
.SECONDARY: $(PROTO_NAMES:%=$(BUILD)/gen/%.pb-c.c) $(GEN_HDR)
LIB_OBJ += $(GEN_OBJ)
PROG_SRC := $(sort $(wildcard examples/*.c))
PROGS := $(PROG_SRC:examples/%.c=$(BUILD)/bin/%)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TESTS := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCHES := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

# ------------------------------------------------------- CUDA (settings) --
# cuda=auto (default): build the CUDA backend when nvcc is on the PATH;
# cuda=0 forces it off, cuda=1 on. Off, lib/cuda/stub.c answers every
# pol/cuda.h call with POL_ERR_UNSUPPORTED and nothing links CUDA. On, the
# kernels go to build/lib/libpol_cuda.a (libpol.a stays free of CUDA code)
# and every program, test and benchmark links it. Exact-mode numerics:
# --fmad=false and IEEE division, square root and subnormals spelled out
# (-ftz=false -prec-div=true -prec-sqrt=true); never --use_fast_math.
# -lineinfo lets compute-sanitizer and ncu name the source line of a finding
# (scripts/gpu-run.sh --sanitize); the machine code is the same with it and
# without (cuobjdump -sass of kernels/*.cu for sm_80 and sm_90: equal but
# for the line that names the source file).
cuda ?= auto
NVCC ?= nvcc
ifeq ($(cuda),auto)
override cuda := $(if $(shell command -v $(NVCC) 2>/dev/null),1,0)
endif
CUDA_SRC := $(sort $(wildcard kernels/*.cu))
CUDA_OBJ :=
CUDA_LDLIBS :=
POL_DEPS := $(BUILD)/lib/libpol.a
POL_LINK := $(BUILD)/lib/libpol.a
ifeq ($(cuda),1)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(realpath $(shell command -v $(NVCC))))
# machine code for sm_80 and sm_90, and compute_90's PTX for any later GPU
# (compiled by its driver; the audited PTX rounds every operation itself)
CUDA_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
             -gencode arch=compute_90,code=compute_90
NVCCFLAGS := -O3 --fmad=false -ftz=false -prec-div=true -prec-sqrt=true -lineinfo -std=c++17 -Xcompiler -fPIC,-Wall,-ffp-contract=off -Werror all-warnings \
             -Iinclude -MMD -MP $(CUDA_ARCH)
CUDA_OBJ := $(CUDA_SRC:%.cu=$(BUILD)/obj/%.o)
CUDA_LDLIBS := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart -lstdc++
CUDA_COMPILE = $(NVCC) $(NVCCFLAGS)
endif
# cuda=emu: the same kernels/*.cu compiled by the host C++ compiler against
# the CUDA emulator of tests/cuda_emu (make emu-test; no GPU, no toolkit),
# with UBSan's alignment and array-bounds checks on the kernels.
ifeq ($(cuda),emu)
CXX ?= g++
EMU_SAN := -fsanitize=alignment,bounds -fno-sanitize-recover=all
EMUFLAGS := -std=c++17 -DPOL_CUDA_EMU -Itests/cuda_emu -Iinclude -O2 -g -fPIC -pthread \
            -Wall -Wextra -Werror -Wno-unknown-pragmas $(FPFLAGS) $(EMU_SAN) -MMD -MP
CUDA_OBJ := $(CUDA_SRC:%.cu=$(BUILD)/obj/%.o) $(BUILD)/obj/tests/cuda_emu/emu.o
CUDA_LDLIBS := $(EMU_SAN) -lstdc++
CUDA_COMPILE = $(CXX) -x c++ $(EMUFLAGS)

$(BUILD)/obj/tests/cuda_emu/emu.o: tests/cuda_emu/emu.cc $(CUDA_COMMAND)
	@mkdir -p $(dir $@)
	$(CXX) $(EMUFLAGS) -c $< -o $@

$(BUILD)/tests/emu-selftest: tests/cuda_emu/selftest.cc $(BUILD)/obj/tests/cuda_emu/emu.o
	@mkdir -p $(dir $@)
	$(CXX) $(EMUFLAGS) $(OPENBLAS_CFLAGS) $^ -o $@ $(EMU_SAN) $(OPENBLAS_LIBS)
endif
ifneq ($(filter 1 emu,$(cuda)),)
LIB_OBJ := $(filter-out $(BUILD)/obj/lib/cuda/stub.o,$(LIB_OBJ))
POL_DEPS += $(BUILD)/lib/libpol_cuda.a
POL_LINK := -Wl,--start-group $(BUILD)/lib/libpol.a $(BUILD)/lib/libpol_cuda.a -Wl,--end-group
endif
# libpol.a holds lib/cuda/stub.o only with cuda=0: rebuild it when the mode changes.
CUDA_STAMP := $(BUILD)/obj/cuda-mode-$(cuda)

.PHONY: all lib test demo bench deps install clean check-deps
all: lib $(PROGS)
lib: $(BUILD)/lib/libpol.a $(BUILD)/lib/libpol.so

# ------------------------------------------------------------------ library
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(dir $@)
	$(PROTOC_C) --proto_path=proto --c_out=$(BUILD)/gen $<

# Generated code: protoc-c's oneof initialisers trip -Wmissing-braces.
# (Library code initialises such messages with the generated *_init functions.)
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-braces -c $< -o $@

# Sources may include the generated header: generate it first.
$(filter-out $(GEN_OBJ),$(LIB_OBJ)): | $(GEN_HDR)

# Objects are rebuilt when the command that compiles them changes (CFLAGS,
# NVCCFLAGS, CUDA_ARCH, the compiler, cuda=1 against cuda=emu), not only
# when a source does: each command's text is kept in a file under
# $(BUILD)/obj, rewritten only when it differs. (Otherwise a kit or an audit
# could describe flags that stale objects were not built with.) The two
# file names are set at the top, before any rule names them.
$(CC_COMMAND): FORCE
	@mkdir -p $(dir $@)
	@echo '$(CC) $(ALL_CFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS)' >$@
$(CUDA_COMMAND): FORCE
	@mkdir -p $(dir $@)
	@echo '$(CUDA_COMPILE)' | cmp -s - $@ || echo '$(CUDA_COMPILE)' >$@
.PHONY: FORCE
FORCE:

$(BUILD)/obj/%.o: %.c $(CC_COMMAND)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ISA_$(lastword $(subst _, ,$(basename $(notdir $<))))) \
	    $(XFLAGS_$(basename $(notdir $<))) -c $< -o $@

$(BUILD)/lib/libpol.a: $(LIB_OBJ) $(CUDA_STAMP)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $(filter %.o,$^)

$(BUILD)/lib/libpol.so: $(LIB_OBJ) $(CUDA_OBJ) $(CUDA_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libpol.so.$(VERSION_MAJOR) -o $@.$(VERSION) $(filter %.o,$^) \
	    $(LDLIBS) $(CUDA_LDLIBS)
	ln -sf libpol.so.$(VERSION) $@.$(VERSION_MAJOR)
	ln -sf libpol.so.$(VERSION) $@

# ----------------------------------------------------------------- programs
$(BUILD)/bin/%: examples/%.c $(POL_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(POL_LINK) $(LDLIBS) $(CUDA_LDLIBS)

# -------------------------------------------------------------------- tests
TEST_COMMON := tests/testutil.c
$(BUILD)/tests/%: tests/%.c $(TEST_COMMON) $(POL_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-format-truncation -Itests $< $(TEST_COMMON) -o $@ $(POL_LINK) -lcmocka $(LDLIBS) $(CUDA_LDLIBS)

check-deps:
	@scripts/deps.sh check

# Each suite prints its random seed; re-run one with POL_TEST_SEED=<seed>.
test: check-deps
	@$(MAKE) --no-print-directory all $(TESTS)
	@set -e; for t in $(TESTS); do echo "== $$t"; POL_BIN=$(BUILD)/bin $$t; done
	@$(MAKE) --no-print-directory kernel-audit
	@echo "== cppcheck"; $(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory asan-test
	@$(MAKE) --no-print-directory tsan-test
	@echo "== make install, then a program built against it"; \
	    $(MAKE) --no-print-directory install-test
	@echo "== the device kit"; $(MAKE) --no-print-directory kit-test
ifneq ($(emu),0)
	@$(MAKE) --no-print-directory emu-test emu-bench
endif
	@echo "all test suites passed"

# make asan-test  every CPU test suite again, the library, programs and tests
#             built with AddressSanitizer, UndefinedBehaviorSanitizer and
#             LeakSanitizer (cuda=0, into $(BUILD)/asan): an out-of-bounds
#             access, a use after free, undefined behaviour or a leak fails
#             it, in a test or in a program a test runs. Part of make test.
ASAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=all
ASAN_TESTS = $(TESTS:$(BUILD)/%=$(BUILD)/asan/%)
.PHONY: asan-test
asan-test:
	@$(MAKE) --no-print-directory cuda=0 BUILD=$(BUILD)/asan CFLAGS="$(ASAN_CFLAGS)" \
	    all $(ASAN_TESTS)
	@set -e; for t in $(ASAN_TESTS); do echo "== $$t (ASan, UBSan, LSan)"; \
	    POL_BIN=$(BUILD)/asan/bin ASAN_OPTIONS=detect_leaks=1 $$t; done

# make tsan-test  every CPU test suite again, the library, programs and tests
#             built with ThreadSanitizer (cuda=0, into $(BUILD)/tsan): a data
#             race between libpol's threads (the pool, the background
#             checkpoint writer, servers), in a test or in a program a test
#             runs, fails it. OpenBLAS's own threads are out of its sight
#             (tests/tsan.supp says why). Part of make test.
TSAN_CFLAGS := -O1 -g -fsanitize=thread
TSAN_TESTS = $(TESTS:$(BUILD)/%=$(BUILD)/tsan/%)
.PHONY: tsan-test
tsan-test:
	@$(MAKE) --no-print-directory cuda=0 BUILD=$(BUILD)/tsan CFLAGS="$(TSAN_CFLAGS)" \
	    all $(TSAN_TESTS)
	@set -e; for t in $(TSAN_TESTS); do echo "== $$t (TSan)"; \
	    POL_BIN=$(BUILD)/tsan/bin TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	    $$t; done

# make coverage  every CPU test suite with a --coverage build (cuda=0, into
#             $(BUILD)/cov; the programs the tests run count too), then
#             lib/'s line coverage, least covered file first
#             (scripts/coverage.sh), also into $(BUILD)/cov/coverage.md. Not
#             part of make test: a reading, not a gate.
COV_TESTS = $(TESTS:$(BUILD)/%=$(BUILD)/cov/%)
.PHONY: coverage
coverage:
	@$(MAKE) --no-print-directory cuda=0 BUILD=$(BUILD)/cov CFLAGS="-O0 -g --coverage" \
	    all $(COV_TESTS)
	@find $(BUILD)/cov -name '*.gcda' -delete
	@set -e; for t in $(COV_TESTS); do echo "== $$t (coverage)"; \
	    POL_BIN=$(BUILD)/cov/bin $$t >/dev/null; done
	@scripts/coverage.sh $(BUILD)/cov | tee $(BUILD)/cov/coverage.md

# make lint   cppcheck's warning and portability checks over the library and
#             the programs (lib/, examples/): any finding fails. Part of make
#             test; make deps installs cppcheck. A finding that is wrong gets
#             an inline `cppcheck-suppress ID` comment saying why.
.PHONY: lint
lint: $(GEN_HDR)
	@if command -v cppcheck >/dev/null 2>&1; then \
	    cppcheck -q --enable=warning,portability --error-exitcode=1 --inline-suppr \
	        --suppress=missingIncludeSystem -Iinclude -I$(BUILD)/gen lib examples && \
	    echo "lint: cppcheck $$(cppcheck --version | cut -d' ' -f2): no findings in lib/ and examples/"; \
	else echo "lint: SKIPPED (no cppcheck; make deps installs it)"; fi

demo: check-deps
	@$(MAKE) --no-print-directory all
	@examples/demo.sh
	@examples/game-demo.sh

# -------------------------------------------------------------- benchmarks
$(BUILD)/bench/%: bench/%.c $(POL_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(OPENBLAS_CFLAGS) $< -o $@ \
	    $(POL_LINK) $(LDLIBS) $(CUDA_LDLIBS)

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory all $(BENCHES)
	@set -e; for b in $(BENCHES); do echo "== $$b"; $$b --out bench/results; done

deps:
	@scripts/deps.sh install

# -------------------------------------------------------------------- fuzz
# make fuzz   build the libFuzzer targets tests/fuzz/fuzz_*.c with clang and
#             ASan/UBSan (the library is rebuilt instrumented, CUDA stubbed,
#             under build/fuzz/), then run each for FUZZ_SECONDS on its seed
#             corpus tests/fuzz/corpus/<name>/ (new inputs go to
#             build/fuzz/corpus/<name>/). Skipped with a message when clang
#             or libFuzzer is missing (scripts/deps.sh fuzz installs them).
#             `make test` does not depend on it.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 20
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $(FPFLAGS) -pthread \
               -Iinclude -I$(BUILD)/gen -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined -MMD -MP
FUZZ_OBJ := $(LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o) $(PROTO_NAMES:%=$(BUILD)/fuzz/obj/gen/%.pb-c.o)
.PHONY: fuzz fuzz-build
.SECONDARY: $(FUZZ_OBJ)
-include $(FUZZ_OBJ:.o=.d)

$(BUILD)/fuzz/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wno-missing-braces -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/obj/%.o: %.c | $(GEN_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
	    $(ISA_$(lastword $(subst _, ,$(basename $(notdir $<))))) $(XFLAGS_$(basename $(notdir $<))) \
	    -c $< -o $@

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) -o $@ $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: check-deps
	@mkdir -p $(BUILD)/fuzz
	@if ! command -v $(FUZZ_CC) >/dev/null 2>&1 || \
	    ! printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' | \
	      $(FUZZ_CC) -x c -fsanitize=fuzzer,address,undefined - -o $(BUILD)/fuzz/probe >/dev/null 2>&1; then \
	    echo "fuzz: SKIPPED ($(FUZZ_CC) with libFuzzer not found; run: scripts/deps.sh fuzz)"; \
	    exit 0; \
	fi; \
	$(MAKE) --no-print-directory fuzz-build || exit 1; \
	set -e; for b in $(FUZZ_BINS); do n=$$(basename $$b); c=$${n#fuzz_}; \
	    mkdir -p $(BUILD)/fuzz/corpus/$$c; \
	    echo "== $$n ($(FUZZ_SECONDS) s)"; \
	    $$b -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -print_final_stats=1 \
	        -artifact_prefix=$(BUILD)/fuzz/$$n- $(BUILD)/fuzz/corpus/$$c tests/fuzz/corpus/$$c \
	        2>&1 | grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::new_units_added|==[0-9]+==ERROR|SUMMARY|INFO: Running with)' || true; \
	    if ls $(BUILD)/fuzz/$$n-crash-* $(BUILD)/fuzz/$$n-leak-* $(BUILD)/fuzz/$$n-timeout-* >/dev/null 2>&1; then \
	        echo "fuzz: $$n found a failing input under $(BUILD)/fuzz/"; exit 1; fi; \
	done; echo "fuzz: all targets ran $(FUZZ_SECONDS) s without a failure"

# ---------------------------------------------------------- CUDA (rules) --
# make gpu-test   build/bin/pol-gpu-test: every CUDA kernel against the CPU
#                 reference, CPU/GPU training hashes; exits 77 (skipped)
#                 without a GPU or without CUDA in the build
# make bench-gpu  build/bench/gemm_gpu: exact GEMM vs cuBLAS; table to
#                 bench/results/gemm_gpu.md. build/bench/train_gpu: training
#                 steps/s, exact GPU vs tolerant cuBLAS FP32/TF32/BF16 vs CPU;
#                 table to bench/results/train_gpu.md. Every bench/*.cu is
#                 built by nvcc and linked with libpol, libpol_cuda and cuBLAS.
.PHONY: gpu-test bench-gpu gpu-benches
$(CUDA_STAMP):
	@mkdir -p $(dir $@)
	rm -f $(BUILD)/obj/cuda-mode-* && touch $@

$(BUILD)/obj/kernels/%.o: kernels/%.cu $(CUDA_COMMAND)
	@mkdir -p $(dir $@)
	$(CUDA_COMPILE) -c $< -o $@

$(BUILD)/lib/libpol_cuda.a: $(CUDA_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/pol-gpu-test: tests/gpu_test.c $(TEST_COMMON) $(POL_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-format-truncation -Itests -Ibench $< $(TEST_COMMON) -o $@ $(POL_LINK) \
	    -lcmocka $(LDLIBS) $(CUDA_LDLIBS)

gpu-test: all $(BUILD)/bin/pol-gpu-test
	@rc=0; POL_BIN=$(BUILD)/bin $(BUILD)/bin/pol-gpu-test || rc=$$?; \
	if [ $$rc = 77 ]; then echo "gpu-test: SKIPPED (no CUDA device or no CUDA build)"; \
	elif [ $$rc != 0 ]; then exit $$rc; fi

# make emu-test  the CUDA backend's source built with cuda=emu under
#                 $(BUILD)/emu against the CUDA emulator (tests/cuda_emu),
#                 then pol-gpu-test and the suites that take another path
#                 when a device is present; no GPU needed. Part of make test
#                 (make test emu=0 leaves it out).
EMU_SUITES := test_cli test_tolerant
# Every program run on the emulator must release what it made: one that exits
# holding device memory, a stream, an event or a cuBLAS handle ends with
# status 86 (tests/cuda_emu/README.md), as under compute-sanitizer's leak check.
emu-test emu-bench: export POL_EMU_LEAKS := fail
.PHONY: emu-test
emu-test:
	@$(MAKE) --no-print-directory cuda=emu BUILD=$(BUILD)/emu all $(BUILD)/emu/bin/pol-gpu-test \
	    $(EMU_SUITES:%=$(BUILD)/emu/tests/%) $(BUILD)/emu/tests/emu-selftest
	@set -e; echo "== the CUDA emulator's own checks"; $(BUILD)/emu/tests/emu-selftest; \
	echo "== pol-gpu-test on the CUDA emulator"; \
	POL_BIN=$(BUILD)/emu/bin $(BUILD)/emu/bin/pol-gpu-test --mlp small; \
	echo "== the exact kernels again on an emulated device of 7 multiprocessors (other"\
	    "automatic tile and split choices; the same bits)"; \
	POL_EMU_SMS=7 $(BUILD)/emu/bin/pol-gpu-test --kernels-only >$(BUILD)/emu/sms7.log || \
	    { cat $(BUILD)/emu/sms7.log; exit 1; }; tail -n 1 $(BUILD)/emu/sms7.log; \
	for t in $(EMU_SUITES); do echo "== $$t on the CUDA emulator"; \
	    POL_BIN=$(BUILD)/emu/bin $(BUILD)/emu/tests/$$t; done
	@echo "== digits, --device cuda in 500 kB of emulated device memory (the dataset stays" \
	    "on the host) against the CPU; then in 400 kB on one multiprocessor, where every" \
	    "GEMM that can takes the lean tile, whose workspace does not fit: refused once," \
	    "then tile 1"; \
	d=$$(mktemp -d) && S=$(BUILD)/emu/bin/pol-solver && \
	$$S train --task examples/tasks/digits.json --out $$d/cpu > /dev/null && \
	POL_EMU_MEM=500000 $$S train --task examples/tasks/digits.json --out $$d/gpu \
	    --device cuda > /dev/null && cmp $$d/cpu/trace.json $$d/gpu/trace.json && \
	POL_EMU_MEM=400000 POL_EMU_SMS=1 POL_EMU_REFUSED=$$d/refused $$S train \
	    --task examples/tasks/digits.json --out $$d/gpu1 --device cuda > /dev/null && \
	cmp $$d/cpu/trace.json $$d/gpu1/trace.json && n=$$(cat $$d/refused) && \
	{ [ "$$n" -ge 1 ] && [ "$$n" -lt 10 ] || \
	  { echo "FAIL $$n device allocations refused over 1200 steps: want the lean" \
	      "workspace refused at least once, and not asked for again each step"; false; }; }; \
	rc=$$?; rm -rf $$d; [ $$rc = 0 ] && echo "ok   the same trace, both times" || exit 1

# make kit-test  scripts/device-kit.sh's kit of the real CUDA build (which
#                 compiles pol-gpu-test and bench/*.cu with nvcc) checked by
#                 tests/kit_test.sh: complete, run by scripts/gpu-run.sh --kit,
#                 refused when built from another commit, its --sanitize
#                 round run with a stand-in compute-sanitizer. Part of make test
#                 in a build with CUDA; needs no GPU.
.PHONY: kit-test
kit-test:
ifeq ($(cuda),1)
	@BUILD=$(BUILD) scripts/device-kit.sh --out $(BUILD)/kit-test.tar.gz
	@tests/kit_test.sh $(BUILD)/kit-test.tar.gz $(BUILD)/kit-test
else
	@echo "kit-test: SKIPPED (built without CUDA: no nvcc, or cuda=0)"
endif

# make kernel-audit  a static audit of nvcc's output for kernels/*.cu, no GPU
#                 needed (scripts/kernel-audit.sh, with NVCCFLAGS): every
#                 floating-point operation in the PTX of every arch rounds
#                 explicitly (no contraction, .approx, .ftz), no approximate
#                 special function, no tensor-core op, no float atomic, and
#                 ptxas reports no spill and no stack frame on any real arch
#                 (a table of registers and shared memory per kernel). First
#                 its self-test: each planted kernel of tests/kernel_audit/
#                 must be rejected for its rule, the good one must pass. Part
#                 of make test when nvcc is found; SKIPPED otherwise.
# make print-nvccflags  NVCCFLAGS, as the audit reads them (with cuda=1).
.PHONY: kernel-audit print-nvccflags
ifeq ($(cuda),1)
kernel-audit:
	@scripts/kernel-audit.sh --selftest --nvcc '$(NVCC)' --flags '$(NVCCFLAGS)' --out $(BUILD)/kernel-audit
	@scripts/kernel-audit.sh --nvcc '$(NVCC)' --flags '$(NVCCFLAGS)' --out $(BUILD)/kernel-audit
else
kernel-audit:
	@if command -v $(NVCC) >/dev/null 2>&1; then echo "kernel-audit: SKIPPED (cuda=$(cuda))"; \
	else echo "kernel-audit: SKIPPED (no nvcc)"; fi
endif
print-nvccflags:
	@echo '$(NVCCFLAGS)'

GPU_BENCHES := $(patsubst bench/%.cu,$(BUILD)/bench/%,$(sort $(wildcard bench/*.cu)))
ifeq ($(cuda),1)
$(BUILD)/bench/%: bench/%.cu $(POL_DEPS)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) $< -o $@ -Xlinker --start-group $(BUILD)/lib/libpol.a \
	    $(BUILD)/lib/libpol_cuda.a -Xlinker --end-group -Xlinker -rpath,$(CUDA_HOME)/lib64 \
	    -lcublas $(LDLIBS)

gpu-benches: $(GPU_BENCHES)

bench-gpu: $(GPU_BENCHES)
	@set -e; for b in $(GPU_BENCHES); do echo "== $$b"; rc=0; $$b --out bench/results || rc=$$?; \
	if [ $$rc = 77 ]; then echo "bench-gpu: SKIPPED (no CUDA device)"; exit 0; \
	elif [ $$rc != 0 ]; then exit $$rc; fi; done
else
gpu-benches:
bench-gpu:
	@echo "bench-gpu: SKIPPED (built without CUDA: no nvcc, or cuda=0)"
endif
ifeq ($(cuda),emu)
$(BUILD)/bench/%: bench/%.cu $(POL_DEPS)
	@mkdir -p $(dir $@)
	$(CXX) -x c++ $(EMUFLAGS) $< -x none -o $@ $(POL_LINK) $(LDLIBS) $(CUDA_LDLIBS)
endif

# make emu-bench  both GPU benchmarks with --smoke (gemm_gpu also --sweep),
#                 then with --profile, on the CUDA emulator: every path of the programs runs
#                 (checks, timing, tables to $(BUILD)/emu/bench-smoke/); the
#                 timings mean nothing.
.PHONY: emu-bench
EMU_BENCHES := $(patsubst bench/%.cu,$(BUILD)/emu/bench/%,$(sort $(wildcard bench/*.cu)))
emu-bench:
	@$(MAKE) --no-print-directory cuda=emu BUILD=$(BUILD)/emu $(EMU_BENCHES)
	@mkdir -p $(BUILD)/emu/bench-smoke
	@set -e; for b in $(EMU_BENCHES); do a=--smoke; \
	    case $$b in */gemm_gpu) a="--smoke --sweep";; esac; \
	    echo "== $$b $$a on the CUDA emulator"; $$b $$a --out $(BUILD)/emu/bench-smoke; done; \
	echo "== gemm_gpu --smoke --profile 1,3 and train_gpu --profile digits:exact, digits:fp32"\
	    "on the CUDA emulator (what gpu-run.sh --ncu runs)"; \
	$(BUILD)/emu/bench/gemm_gpu --smoke --profile 1,3; \
	$(BUILD)/emu/bench/train_gpu --profile digits:exact; $(BUILD)/emu/bench/train_gpu --profile digits:fp32

# ------------------------------------------------------------------ install
# The installed libpol.a holds the kernels too when built with CUDA: the
# library and the kernels call each other, which as two archives would link
# only in one order or inside --start-group (build/lib keeps them apart for
# the build's own links). A program links it with pkg-config's flags alone;
# make install-test checks that, shared and static.
INSTALL_A := $(if $(filter 1,$(cuda)),$(BUILD)/install/libpol.a,$(BUILD)/lib/libpol.a)
$(BUILD)/install/libpol.a: $(LIB_OBJ) $(CUDA_OBJ) $(CUDA_STAMP)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $(filter %.o,$^)

install: lib $(INSTALL_A)
	install -d $(DESTDIR)$(PREFIX)/include/pol $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/pol/*.h $(DESTDIR)$(PREFIX)/include/pol/
	install -m 644 $(INSTALL_A) $(DESTDIR)$(PREFIX)/lib/libpol.a
	install -m 755 $(BUILD)/lib/libpol.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libpol.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libpol.so.$(VERSION_MAJOR)
	ln -sf libpol.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libpol.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@PRIVATE@|$(CUDA_LDLIBS) $(LDLIBS)|' \
	    libpol.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libpol.pc

# make install-test  installs into a scratch prefix ($(BUILD)/install-test/
#             prefix) and builds a program against it with pkg-config,
#             linked with libpol.so and, again, with libpol.a alone
#             (tests/install_test.sh, which runs make install with this
#             BUILD and cuda). Part of make test.
.PHONY: install-test
install-test: lib $(INSTALL_A)
	@BUILD=$(BUILD) cuda=$(cuda) tests/install_test.sh $(BUILD)/install-test

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(CUDA_OBJ:.o=.d)
