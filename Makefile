# herald: thin wrappers around CMake. `make check` and `make demo` work on a fresh Debian 12
# machine: they install what is missing first (tools/install-deps.sh).

BUILD       ?= build
ASAN_BUILD  ?= build-asan
CLANG_BUILD ?= build-clang
BENCH_BUILD ?= build-release
JOBS        ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps build check check-fast demo bench format format-check clean install

all: build

deps:
	@tools/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j$(JOBS)

# Everything, once, built with AddressSanitizer + UndefinedBehaviorSanitizer; plus a clang
# build (warnings are errors under both compilers) whose chosen tests run under valgrind, and
# the format check. DWARF 4 for that build: valgrind 3.19 cannot read clang 14's DWARF 5.
check: deps format-check
	cmake -S . -B $(CLANG_BUILD) -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_C_FLAGS=-gdwarf-4 $(CMAKE_FLAGS)
	ninja -C $(CLANG_BUILD) -j$(JOBS)
	cd $(CLANG_BUILD) && ctest --output-on-failure -j$(JOBS) -L valgrind
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHERALD_SANITIZE=ON $(CMAKE_FLAGS)
	ninja -C $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) --timeout 600

# The unit tests only (no broker, no browser): seconds.
check-fast: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L unit

demo: build
	$(BUILD)/src/heraldd --demo

bench: deps
	cmake -S . -B $(BENCH_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	ninja -C $(BENCH_BUILD) -j$(JOBS)
	tools/pyenv.sh $(BENCH_BUILD)/venv
	$(BENCH_BUILD)/venv/bin/python bench/bench.py --build $(BENCH_BUILD)

format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:
	@out=$$(git ls-files '*.c' '*.h' | xargs clang-format --dry-run 2>&1); \
	if [ -n "$$out" ]; then echo "$$out" | head -40; \
	  echo "clang-format: files above need formatting (make format)"; exit 1; fi

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(CLANG_BUILD) $(BENCH_BUILD)
