# The README's commands. The build itself is CMake's (CMakeLists.txt).
BUILD      ?= build
RELEASE_BUILD ?= build-release
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
# The tests whose threads race each other, run again under ThreadSanitizer.
TSAN_TESTS ?= test_index test_service test_store_sqlite
# The libFuzzer harnesses (tests/fuzz), built with clang; each runs this long.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 30
PREFIX     ?= /usr/local
DESTDIR    ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
LISTEN     ?= 127.0.0.1:8080
DB         ?= ./data/tessera.db
# Warnings are errors in every build made here (CMakeLists.txt's TSR_WERROR).
CMAKE_FLAGS ?= -DTSR_WERROR=ON
# The C sources that must be as the repository's .clang-format writes them.
FORMAT_SOURCES = $(shell git ls-files -- 'src/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]' 'tools/*.[ch]' 2>/dev/null)

.PHONY: all deps build build-asan build-release run test test-plain test-asan test-tsan test-fuzz \
	check-format fuzz bench bench-instructions bench-pg install clean

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTSR_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

run: build
	@echo "Tessera: starting on http://$(LISTEN) with the database $(DB)"
	@echo "Log in as admin@localhost; on the first start its password is written to"
	@echo "$(dir $(DB))admin-password (see README.md). Stop with Ctrl-C."
	@exec $(BUILD)/bin/tesserad serve --listen $(LISTEN) --db $(DB)

test: check-format test-plain test-asan test-tsan test-fuzz test-valgrind build-release

# What a packager builds (-DCMAKE_BUILD_TYPE=Release, -O3): it must build, and
# here without a warning; its tests are the plain build's.
build-release: deps
	@cmake -S . -B $(RELEASE_BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(RELEASE_BUILD) -j$(JOBS)

check-format:
	@command -v clang-format >/dev/null || { echo "check-format: clang-format is missing (scripts/install-deps)" >&2; exit 1; }
	@clang-format --dry-run -Werror $(FORMAT_SOURCES)

test-plain: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j$(JOBS)

test-tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTSR_TSAN=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(TSAN_BUILD) -j$(JOBS) --target $(TSAN_TESTS)
	cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1 \
		ctest --output-on-failure -R '^($(subst $(eval) ,|,$(TSAN_TESTS)))$$'

# Every harness for FUZZ_SECONDS under ASan+UBSan, two at a time: `make fuzz
# FUZZ_SECONDS=600` runs longer. Findings are kept in $(FUZZ_BUILD)/tests/fuzz/work/.
fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTSR_FUZZ=ON $(CMAKE_FLAGS) \
		-DFUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) --target tsr_fuzzers
	cd $(FUZZ_BUILD) && ctest --output-on-failure -L fuzz -j2

# What `make test` runs: 30 s a harness, whatever FUZZ_SECONDS says.
test-fuzz:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=30

# Benchmarks: several minutes; installs wrk and nginx when missing.
bench: build
	@BUILD=$(BUILD) bench/run

# PostgreSQL: a revocation's way to three nodes, and CPU per verify
# on a PostgreSQL node against a SQLite one; a throwaway cluster on loopback.
# Instructions per verify under callgrind, for each kind of token: a count,
# not a time, so it means the same on a busy machine (bench/instructions).
bench-instructions: build
	@BUILD=$(BUILD) bench/instructions

bench-pg: build
	@BUILD=$(BUILD) bench/pg

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(RELEASE_BUILD)

# ---- Fault-proving ----

.PHONY: test-valgrind soak

# The end-to-end API suite (ctest -L api, on SQLite) again, with every
# tesserad the harness starts run under valgrind's memcheck (TSR_H_WRAPPER,
# tests/api/harness.h): any memory error or definite leak fails it, the server
# by exiting 1 at its stop, every process by a non-empty log in
# $(BUILD)/valgrind/ (printed). tests/api/valgrind.supp names the libraries'
# own leaks that are not counted.
# Every program of the suite runs, two at a time, but three whose servers
# valgrind cannot judge: test_api_crash (its SIGKILLs end each server before
# valgrind could check it), test_api_limits (time bounds of a second or
# so, as a slow client's, that a program under valgrind cannot keep; the
# connection limits it proves are libmicrohttpd's) and test_api_events (a
# SIGKILL too, and expiry notices due within a second of their time). About 4 minutes here, most
# of it test_operator's Argon2id password hashing under memcheck.
VALGRIND       ?= valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite -q --suppressions=$(CURDIR)/tests/api/valgrind.supp
VALGRIND_TESTS ?= .
VALGRIND_SKIP  ?= ^test_api_(crash|limits|events)$$
test-valgrind: build
	@command -v valgrind >/dev/null || { echo "test-valgrind: valgrind is missing (scripts/install-deps)" >&2; exit 1; }
	@rm -rf $(BUILD)/valgrind && mkdir -p $(BUILD)/valgrind
	@cd $(BUILD) || exit 1; status=0; \
	TSR_H_WRAPPER="$(VALGRIND) --log-file=$(abspath $(BUILD))/valgrind/%p.log" \
		ctest --output-on-failure -j$(JOBS) -L api -LE pg -R '$(VALGRIND_TESTS)' -E '$(VALGRIND_SKIP)' \
		|| status=$$?; \
	bad=$$(find valgrind -name '*.log' -size +0c | sort); \
	if [ -n "$$bad" ]; then for f in $$bad; do echo "== $(BUILD)/$$f"; cat "$$f"; done; \
		echo "test-valgrind: valgrind found errors in $$(echo $$bad | wc -w) run(s)" >&2; status=1; \
	else echo "test-valgrind: $$(ls valgrind | wc -l) tesserad runs under memcheck: no error, no definite leak"; fi; \
	exit $$status

# A long run of mixed load at full speed against one tesserad (bench/soak):
# requests by kind, unexpected answers, open files and memory over time.
# SOAK_SECONDS=300 by default.
soak: build
	@BUILD=$(BUILD) bench/soak
