# Quick start (fresh Debian 12, as root):  make demo   |   make test
# Each target installs missing Debian packages, configures and builds with CMake.

JOBS ?= $(shell nproc)
BUILD ?= build
CMAKE_FLAGS ?=

.PHONY: all deps release nojemalloc check-build demo test bench install clean

all: release

deps:
	@scripts/install-deps.sh

# $(1): build folder under $(BUILD), $(2): CMake options
define build_variant
	cmake -S . -B $(BUILD)/$(1) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) $(2) >/dev/null
	cmake --build $(BUILD)/$(1) -j$(JOBS)
endef

release: deps
	$(call build_variant,release,)

nojemalloc: deps
	$(call build_variant,nojemalloc,-DSKYNET_MEM_JEMALLOC=OFF)

check-build: deps
	$(call build_variant,check,-DSKYNET_MEM_CHECK=ON)

demo: release
	$(BUILD)/release/examples/demo_server

# Every build variant's ctest suite; one summary line at the end.
test: release nojemalloc check-build
	@scripts/run-tests.sh $(BUILD)/release $(BUILD)/nojemalloc $(BUILD)/check

bench: release
	$(BUILD)/release/bench/bench_malloc

install: release
	cmake --install $(BUILD)/release

clean:
	rm -rf $(BUILD)
