# Quick start (fresh Debian 12, as root):  make demo   |   make test
# Each target installs the Debian packages it needs that are missing (scripts/install-deps.sh:
# make and make demo the build's, make test also what the tests drive, the bench targets
# valgrind), then configures and builds with CMake. make layer: the layer alone, no install.

JOBS ?= $(shell nproc)
BUILD ?= build
CMAKE_FLAGS ?=

.PHONY: all deps deps-test deps-bench layer release nojemalloc check-build header demo test bench bench-hotpath install clean

all: release

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

deps-bench:
	@scripts/install-deps.sh bench

# $(1): build folder under $(BUILD), $(2): CMake options
define build_variant
	cmake -S . -B $(BUILD)/$(1) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) $(2) >/dev/null
	cmake --build $(BUILD)/$(1) -j$(JOBS)
endef

# The layer, the interposer and their tests alone: a C compiler, CMake and jemalloc.
layer:
	$(call build_variant,layer,-DSKYNET_MEM_LUA=OFF -DSKYNET_MEM_HOST=OFF -DSKYNET_MEM_BENCH=OFF)

release: deps
	$(call build_variant,release,)

nojemalloc: deps
	$(call build_variant,nojemalloc,-DSKYNET_MEM_JEMALLOC=OFF)

check-build: deps
	$(call build_variant,check,-DSKYNET_MEM_CHECK=ON)

# The release build in the other block layout: the owner in a header before the block.
header: deps
	$(call build_variant,header,-DSKYNET_MEM_LAYOUT=header)

demo: release
	$(BUILD)/release/examples/demo_server

# The sanitizer runs and a bounded fuzz run (MEMORY_CHECK hardening, below),
# then every build variant's ctest suite, whose summary line closes the output.
# The header layout runs all but the skynet fixture builds (the layer's own
# tests, the interposer's, Lua's and the hosts').
test: deps-test release nojemalloc check-build header
	@$(MAKE) --no-print-directory check-sanitize fuzz
	@scripts/run-tests.sh $(BUILD)/release $(BUILD)/nojemalloc $(BUILD)/check --exclude '^skynet_' $(BUILD)/header

bench: release
	$(BUILD)/release/bench/bench_malloc

# Instructions per malloc+free pair (callgrind): steady where ns move with load.
.PHONY: bench-insns
bench-insns: deps-bench release
	bench/insns.sh $(BUILD)/release

# The hot path against bare jemalloc, both block layouts side by side
# (bench/layouts.sh): instructions per operation (callgrind), many services
# per worker, real-program shapes, power-of-two memory.
bench-hotpath: deps-bench release header
	bench/layouts.sh $(BUILD)/release $(BUILD)/header

install: release
	cmake --install $(BUILD)/release

clean:
	rm -rf $(BUILD)

# --- MEMORY_CHECK hardening: sanitizers, fuzzing, what the checks cost ---
# Sanitizer builds sit over the system allocator, so ASan and TSan see every
# block the layer makes (jemalloc's heap is opaque to them). Left out under
# ASan: tests that preload or link the malloc interposer, load the module into
# the stock lua5.4, or build a program against the installed package (ASan's
# runtime must come first in the process there); the Prometheus scrape (an
# outside server, not a memory test). Leak checks are off: tests leave blocks
# behind on purpose to test leak reports.
SAN_CMAKE = -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSKYNET_MEM_JEMALLOC=OFF \
	-DSKYNET_MEM_FORTIFY=OFF -DSKYNET_MEM_BENCH=OFF $(CMAKE_FLAGS)
ASAN_CFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TSAN_CFLAGS = -fsanitize=thread
ASAN_SKIP = ^(hook_|test_hook_api$$|install_|check_installed$$|check_preloaded$$|check_real_|guard_real_|check_case_redzone-overflow$$|check_case_site-after-overflow$$|lua_module$$|lua_heap$$|prometheus_scrape$$)
ASAN_RUN = ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1
FUZZ_SECONDS ?= 60

# $(1): folder under $(BUILD), $(2): MEMORY_CHECK ON/OFF, $(3): name of a flags variable,
# $(4): cmake --build arguments, $(5): more cmake options
define san_build
	cmake -S . -B $(BUILD)/$(1) $(SAN_CMAKE) -DSKYNET_MEM_CHECK=$(2) -DCMAKE_C_FLAGS="$($(3))" $(5) >/dev/null
	cmake --build $(BUILD)/$(1) -j$(JOBS) $(4)
endef

.PHONY: check-sanitize fuzz bench-check bench-skynet
check-sanitize: deps-test
	$(call san_build,asan,OFF,ASAN_CFLAGS)
	cd $(BUILD)/asan && $(ASAN_RUN) ctest -j2 --output-on-failure -E '$(ASAN_SKIP)'
	$(call san_build,asan-check,ON,ASAN_CFLAGS)
	cd $(BUILD)/asan-check && $(ASAN_RUN) ctest -j2 --output-on-failure -E '$(ASAN_SKIP)'
	$(call san_build,tsan,OFF,TSAN_CFLAGS,--target test_stress)
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan/test/layer/test_stress
	$(call san_build,tsan-check,ON,TSAN_CFLAGS,--target test_stress)
	SKYNET_MEM_CHECK_LEAKS=0 TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan-check/test/layer/test_stress
	$(call san_build,tsan-header,OFF,TSAN_CFLAGS,--target test_stress test_block_layout,-DSKYNET_MEM_LAYOUT=header)
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan-header/test/layer/test_stress
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan-header/test/layer/test_block_layout

# libFuzzer over the MEMORY_CHECK build (clang, ASan+UBSan), bounded in time.
fuzz: deps-test
	CC=clang cmake -S . -B $(BUILD)/fuzz $(SAN_CMAKE) -DSKYNET_MEM_CHECK=ON -DSKYNET_MEM_TESTS=OFF \
		-DSKYNET_MEM_FUZZ=ON -DCMAKE_C_FLAGS="$(ASAN_CFLAGS)" >/dev/null
	cmake --build $(BUILD)/fuzz -j$(JOBS) --target fuzz_check
	mkdir -p $(BUILD)/fuzz/corpus
	$(BUILD)/fuzz/fuzz/fuzz_check -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -close_fd_mask=2 -rss_limit_mb=4096 \
		$(BUILD)/fuzz/corpus 2>$(BUILD)/fuzz/fuzz.log || { tail -n 40 $(BUILD)/fuzz/fuzz.log; exit 1; }
	@grep -E '^(Done|stat::number_of_executed_units)' $(BUILD)/fuzz/fuzz.log

# The cost of finding heap bugs: the check build, and a release build under ASan.
bench-check: check-build
	$(BUILD)/check/bench/bench_check
	$(BUILD)/check/bench/bench_malloc
	cmake -S . -B $(BUILD)/bench-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSKYNET_MEM_FORTIFY=OFF \
		-DSKYNET_MEM_TESTS=OFF -DCMAKE_C_FLAGS="-fsanitize=address -fno-omit-frame-pointer" >/dev/null
	cmake --build $(BUILD)/bench-asan -j$(JOBS) --target bench_check bench_malloc
	ASAN_OPTIONS=detect_leaks=0 $(BUILD)/bench-asan/bench/bench_check
	ASAN_OPTIONS=detect_leaks=0 $(BUILD)/bench-asan/bench/bench_malloc

# skynet built from the fixture twice, its own malloc hook vs skynet-mem
# (integrations/skynet), interleaved: ping-pong calls and a Lua-heavy service.
bench-skynet: deps-bench release
	bench/skynet/run.sh $(BUILD)/release
