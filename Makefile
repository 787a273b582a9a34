# Makefile - builds the workbook, its grader and its examples, and runs the
# workbook's own tests. Everything is found by wildcard: adding a chapter
# listing, an exercise or a test file never edits this file.
#
#   make run       install what is missing, build, show the learner's progress
#   make test      the workbook's own test suite (what CI runs)
#   make help      every target

BUILD    := build
STD      := -std=c17
WARN     := -Wall -Wextra -Wpedantic -Werror -Wno-format-truncation
OPT      := -O2 -g
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
INCLUDES := -Igrader/support -Iserver -Ilib
CFLAGS   := $(STD) $(WARN) $(OPT) $(INCLUDES)
# pkg-config runs only once deps.sh has made sure it is there.
CHECK_LIBS = $(shell pkg-config --libs check)
LIBS       = -lev -lcurl -ljansson -lhiredis -lpthread -lm

LIB_SRC     := $(wildcard server/wb_server.c lib/*.c)
# Test binaries get the support library and only the parts of the runtime
# the tests use (the server, the lag probe, the recorder), never lib/wb_http:
# an exercise may ask learners to write that glue themselves (02.3 does).
SUPPORT_SRC := grader/support/wbtest.c grader/support/wraps.c \
               server/wb_server.c lib/wb_lag.c lib/wb_trace.c \
               grader/support/wbredis.c lib/wb_redis.c
GRADER_SRC  := $(wildcard grader/src/*.c)
EXAMPLE_SRC := $(wildcard chapters/*/*.c)
TEST_SRC    := $(wildcard tests/test_*.c)

EXAMPLES := $(EXAMPLE_SRC:%.c=$(BUILD)/%)
TESTS    := $(TEST_SRC:%.c=$(BUILD)/%)

DEPS_OK := $(BUILD)/.deps-ok
# make test builds with one job per core (a fresh clone: 22 s -> 11 s).
NPROC := $(shell nproc 2>/dev/null || echo 2)

# One short line per step; `make V=1` shows the full commands.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-7s %s\n' $(1) $(2)
endif

.PHONY: all run test test-deps deps help clean examples run-examples verify unit e2e \
        bench bench-trace bench-scale flake handout gradescope submit pictures
all: $(BUILD)/grader $(BUILD)/wbserver $(EXAMPLES) compile_commands.json

# For editors (clangd): every file with the flags and headers it is built with.
compile_commands.json: mk/compile-commands.sh $(wildcard exercises/*/*/*.c solutions/*/*/*.c chapters/*/*.c)
	$(call say,GEN,$@)
	$(Q)sh mk/compile-commands.sh $@

help:
	@echo "make run        install what is missing, build, and show your progress"
	@echo "make test       the workbook's own test suite (CI runs this)"
	@echo "make deps       install the Debian packages the workbook needs"
	@echo "make examples   build every chapter's example and pitfall"
	@echo "make run-examples  run every example and pitfall once"
	@echo "make pictures   remake the lessons' timelines (chapters/*/img/*.svg) from real runs"
	@echo "make verify     every solution passes, every mutant loses points, every stub scores 0, every pitfall shows its symptom"
	@echo "make bench      grading speed next to compiling and running the tests directly"
	@echo "make bench-trace  the recorder's cost, on against off, on 100,000 timers"
	@echo "make bench-scale  100,000 concurrent waits: libev next to Python's asyncio (wall time, peak memory)"
	@echo "make flake      20+20 gradings of solutions/ (sanitizer, plain), then 10 of an upload with hidden tests on a fresh cache, both cores kept busy"
	@echo "make submit     your upload: a zip of exactly the files you edit (build/submit/submission.zip)"
	@echo "make handout [ASSIGNMENT=assignments/F.txt]   a learner tarball: no solutions, no tests"
	@echo "make gradescope [ASSIGNMENT=...] [HIDDEN=DIR] [HIDDEN_VISIBILITY=after_published]  the Gradescope autograder zip"
	@echo "make slurm-try  (root) a one-node Slurm here: mk/slurm/grade-class.sh on a made-up class, then stopped"
	@echo "make parallel-try  (root) an sshd on 127.0.0.1 as a second machine: mk/parallel/grade-class.sh, then stopped"
	@echo "make clean      remove build/"
	@echo "Then: build/grader help"

deps: $(DEPS_OK)
$(DEPS_OK): mk/deps.sh
	@sh mk/deps.sh
	@mkdir -p $(BUILD) && touch $@

# ---- Libraries ---------------------------------------------------------------
# The shared runtime (server, lib) for chapter programs and the workbook's
# own tests, and plain and sanitizer builds of the test-support library,
# which the grader links into every test binary.

$(BUILD)/obj/%.o: %.c $(DEPS_OK)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/asan/%.o: %.c $(DEPS_OK)
	@mkdir -p $(@D)
	$(call say,CC-ASAN,$<)
	$(Q)$(CC) $(CFLAGS) $(SAN) -MMD -MP -c $< -o $@

$(BUILD)/libwb.a: $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
	$(call say,AR,$@)
	$(Q)$(AR) rcs $@ $^
# Made afresh when the Makefile changes what they hold: ar never drops a
# member, and an archive from before must not keep one tests may not use.
$(BUILD)/libwbtest.a: $(SUPPORT_SRC:%.c=$(BUILD)/obj/%.o) Makefile
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)
$(BUILD)/asan/libwbtest.a: $(SUPPORT_SRC:%.c=$(BUILD)/asan/%.o) Makefile
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)

# The runner's secret and verdict never pass through a library call (see
# runner.c): none of its loops may be turned into a call to memcpy or strlen.
RUNNER_OBJS := $(BUILD)/obj/grader/support/runner.o $(BUILD)/asan/grader/support/runner.o
$(RUNNER_OBJS): CFLAGS += -fno-tree-loop-distribute-patterns -fno-optimize-strlen
# Its own names and debug information are stripped: code under test finds
# nothing in the program's symbol table that leads to the secret.
$(BUILD)/asan/grader/support/runner.o: CFLAGS += $(SAN)
$(RUNNER_OBJS): grader/support/runner.c $(DEPS_OK)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@
	$(Q)objcopy --discard-all --strip-debug $@

# The names a learner's file may not define (mk/reserved-symbols.sh): what
# a test program, linked like the exercises' (grader/support/probe.c), and
# its libraries define, in the plain and the sanitizer build.
comma := ,
empty :=
space := $(empty) $(empty)
WRAPS = -Wl,--wrap=ev_timer_again,--wrap=ev_once$(subst $(space),,$(foreach t,io timer periodic \
  signal child stat idle prepare check async,$(comma)--wrap=ev_$(t)_start$(comma)--wrap=ev_$(t)_stop))
$(BUILD)/probe: $(BUILD)/obj/grader/support/probe.o $(BUILD)/obj/grader/support/runner.o $(BUILD)/libwbtest.a
	$(call say,LD,$@)
	$(Q)$(CC) -o $@ $(BUILD)/obj/grader/support/runner.o $< -Wl,--whole-archive $(BUILD)/libwbtest.a -Wl,--no-whole-archive $(LIBS) $(CHECK_LIBS) $(WRAPS)
$(BUILD)/asan/probe: $(BUILD)/asan/grader/support/probe.o $(BUILD)/asan/grader/support/runner.o $(BUILD)/asan/libwbtest.a
	$(call say,LD,$@)
	$(Q)$(CC) $(SAN) -o $@ $(BUILD)/asan/grader/support/runner.o $< -Wl,--whole-archive $(BUILD)/asan/libwbtest.a -Wl,--no-whole-archive $(LIBS) $(CHECK_LIBS) $(WRAPS)
$(BUILD)/reserved-symbols.txt: mk/reserved-symbols.sh $(BUILD)/probe $(BUILD)/asan/probe
	$(call say,GEN,$@)
	$(Q)sh mk/reserved-symbols.sh $@ $(BUILD)/probe $(BUILD)/asan/probe

RUNTIME := $(BUILD)/reserved-symbols.txt $(BUILD)/libwbtest.a $(BUILD)/obj/grader/support/runner.o \
           $(BUILD)/asan/libwbtest.a $(BUILD)/asan/grader/support/runner.o

# ---- The grader ----------------------------------------------------------------
# It compiles exercises itself; what it needs to know is passed here once.

GRADER_DEFS = -DWB_CC='"$(CC)"' \
  -DWB_LIBS='"$(LIBS) $(CHECK_LIBS)"' \
  -DWB_SAN='"$(SAN)"'

$(BUILD)/grader: $(GRADER_SRC:%.c=$(BUILD)/obj/%.o) $(RUNTIME)
	$(call say,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $(GRADER_SRC:%.c=$(BUILD)/obj/%.o) -lev -ljansson -lsqlite3 -lm

$(BUILD)/obj/grader/src/%.o: grader/src/%.c $(DEPS_OK)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(GRADER_DEFS) -MMD -MP -c $< -o $@

$(BUILD)/wbserver: $(BUILD)/obj/server/main.o $(BUILD)/libwb.a
	$(call say,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# ---- Chapters: every .c is a program (example or pitfall) ------------------
# Linked with the recorder's hooks (lib/wb_trace_prog.c): each program takes
# --trace FILE (or WB_TRACE=FILE) and writes its loop's timeline there.

TRACE_WRAPS = $(WRAPS),--wrap=main,--wrap=ev_run,--wrap=ev_loop_destroy

$(BUILD)/chapters/%: chapters/%.c $(BUILD)/libwb.a
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(BUILD)/libwb.a $(LIBS) $(TRACE_WRAPS)

examples: $(EXAMPLES)

# The lessons' pictures, each drawn from a run of the program its
# "<!-- picture: PROGRAM ARGS -->" line names (grader/src/timeline.c).
pictures: $(EXAMPLES) $(BUILD)/grader
	@$(BUILD)/grader pictures

run-examples: $(EXAMPLES) $(BUILD)/grader
	@$(BUILD)/grader examples

# ---- The learner's commands --------------------------------------------------

run: all
	@$(BUILD)/grader check --no-fail

verify: all
	$(BUILD)/grader verify

# ---- The workbook's own tests -----------------------------------------------

$(BUILD)/tests/%: tests/%.c $(BUILD)/libwb.a $(BUILD)/libwbtest.a
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(BUILD)/libwb.a $(LIBS) $(CHECK_LIBS)

unit: $(TESTS) all
	@set -e; for t in $(TESTS); do echo "== $$t"; CK_DEFAULT_TIMEOUT=60 $$t; done

# What only the workbook's own tests need (a browser for the summary page,
# sim_c for similarity flags): make test and make e2e install it, make run
# never does.
TEST_DEPS_OK := $(BUILD)/.test-deps-ok
test-deps: $(TEST_DEPS_OK)
$(TEST_DEPS_OK): mk/deps.sh $(DEPS_OK)
	@sh mk/deps.sh test
	@touch $@

E2E := $(wildcard tests/e2e*.sh)
e2e: all $(TEST_DEPS_OK)
	@set -e; for t in $(E2E); do echo "== $$t"; bash $$t; done

test:
	@if [ ! -d solutions ] || [ ! -d tests ]; then \
	  echo "make test is the workbook's own test suite: it needs solutions/ and tests/,"; \
	  echo "which a handout leaves out. Use make run, or build/grader check."; exit 2; fi
	@$(MAKE) --no-print-directory test-deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@$(MAKE) --no-print-directory -j$(NPROC) unit
	@# verify runs every chapter program too (what run-examples does)
	@$(BUILD)/grader verify
	@$(BUILD)/grader verify --no-sanitize
	@$(MAKE) --no-print-directory e2e

bench: all
	@bash tests/bench.sh

# The recorder on 100,000 timers: not linked, linked but off, on.
$(BUILD)/bench/trace-plain: tests/bench_trace.c $(BUILD)/libwb.a
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libwb.a $(LIBS)
$(BUILD)/bench/trace-wrapped: tests/bench_trace.c $(BUILD)/libwb.a
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libwb.a $(LIBS) $(TRACE_WRAPS)
bench-trace: $(BUILD)/bench/trace-plain $(BUILD)/bench/trace-wrapped $(BUILD)/grader
	@bash tests/bench-trace.sh

# 100,000 concurrent waits: libev next to the guide's asyncio code (chapter 07).
bench-scale: all
	@bash tests/bench-scale.sh

flake: all
	@bash tests/flake.sh
	@bash tests/stress.sh

# ---- For instructors -----------------------------------------------------------
# ASSIGNMENT=assignments/FILE.txt picks exercises and points; HIDDEN=DIR adds
# hidden tests (HIDDEN/NN-chapter/MM-exercise/test_*.c) to the Gradescope zip.

submit: $(BUILD)/grader
	@sh mk/submit.sh

handout: $(BUILD)/grader
	@bash mk/package.sh handout "$(ASSIGNMENT)"

gradescope: $(BUILD)/grader
	@bash mk/package.sh gradescope "$(ASSIGNMENT)" "$(HIDDEN)" "$(HIDDEN_VISIBILITY)"

# Instructor tools, not part of make test: as root, they install packages
# and start daemons (stopped again) to try the class-grading recipes.
.PHONY: slurm-try parallel-try
slurm-try: $(BUILD)/grader
	@bash mk/slurm/try-local.sh
parallel-try: $(BUILD)/grader
	@bash mk/parallel/try-local.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
