# mk/fuzz.mk - libFuzzer harnesses of tests/fuzz/ and the sanitizer build.
#
#   make fuzz        build the harnesses into build/fuzz/ and run each for FUZZ_SECONDS (60)
#   make fuzz-build  build the harnesses only
#   make check-asan  run tests/run.sh on an ASan+UBSan build in build-asan/; any report fails
#
# The harnesses need clang (libFuzzer) and their own flags, whatever CFLAGS says;
# make check runs each for a few seconds through tests/netns/test_fuzz.sh.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := $(IPR_CFLAGS) -O1 -g -Isrc -Itools/ipredir $(FUZZ_SANITIZE) $(DEPFLAGS)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_NAMES:%=$(B)/fuzz/fuzz_%)
# the library and the CLI's parsing core, instrumented for coverage
FUZZ_OBJS := $(LIB_SRCS:src/%.c=$(B)/fuzz/obj/%.o) $(B)/fuzz/obj/cli_common.o \
	$(B)/fuzz/obj/cli_watchdog.o $(B)/fuzz/obj/cli_progress.o $(B)/fuzz/obj/cli_metrics.o \
	$(B)/fuzz/obj/cli_json.o

$(B)/fuzz/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(B)/fuzz/obj/cli_%.o: tools/ipredir/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) \
		$(PKG_LIBS) -lpthread

# libwindivert, instrumented too, for the harnesses named fuzz_wd*.c: an archive, so that
# a harness takes only the objects it calls (and what they call)
FUZZ_WD_OBJS := $(patsubst windivert/%.c,$(B)/fuzz/obj/wd/%.o,$(wildcard windivert/*.c))
FUZZ_WD_LIB := $(B)/fuzz/libwindivert.a

$(B)/fuzz/obj/wd/%.o: windivert/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_WD_LIB): $(FUZZ_WD_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# (they may reach libwindivert's private header, as its unit tests do)
$(B)/fuzz/fuzz_wd%: tests/fuzz/fuzz_wd%.c $(FUZZ_WD_LIB) $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -Iwindivert -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_WD_LIB) $(FUZZ_OBJS) $(PKG_LIBS) -lpthread

fuzz-build: $(FUZZ_BINS)

# objects made through the pattern rules are kept, so a second build links only
.SECONDARY: $(FUZZ_OBJS) $(FUZZ_WD_OBJS)
-include $(FUZZ_OBJS:.o=.d) $(FUZZ_WD_OBJS:.o=.d) $(FUZZ_BINS:=.d)

fuzz: fuzz-build
	sh tests/fuzz/run.sh $(B)/fuzz $(FUZZ_SECONDS)

# CFLAGS replaces only the optimisation and debug flags: the Makefile adds the rest.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
ASAN_LDFLAGS := -fsanitize=address,undefined
ASAN_ENV := ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:print_stacktrace=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

check-asan: deps
	$(MAKE) B=build-asan CFLAGS="$(ASAN_FLAGS)" LDFLAGS="$(ASAN_LDFLAGS)" all
	$(ASAN_ENV) IPR_BUILD=$(CURDIR)/build-asan UNIT_TIMEOUT=300 NETNS_TIMEOUT=400 \
		sh tests/run.sh

.PHONY: fuzz fuzz-build check-asan
