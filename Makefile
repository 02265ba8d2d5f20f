# ipredir - Linux IP packet redirector. `make` builds everything into build/ (B=dir).
#
#   make all         the library, the CLI, examples, unit tests, test tools and bench tools
#   make deps        install the Debian packages that building, testing and lint need (root)
#   make check       build, then run every test (tests/run.sh; the netns tests need root)
#   make demo        build, then iperf3 with and without the redirector (scripts/demo.sh; root)
#   make bench       build, then measure against no redirector (bench/run.sh; root)
#   make clean       remove the build tree
#   make help        this list
#
# CFLAGS (default -O2 -g) and LDFLAGS are the user's; what the build needs is in IPR_CFLAGS.
CC ?= cc
B ?= build
PKGS := libnftnl libmnl libpcap libbpf
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	-Wno-unused-parameter
CFLAGS ?= -O2 -g
IPR_CFLAGS := -std=gnu11 $(WARN) -Iinclude -D_GNU_SOURCE
# Every compile writes the headers it read to a .d file beside its output, included below.
DEPFLAGS := -MMD -MP
# The build's flags first, so that the user's can override them.
COMPILE = $(CC) $(IPR_CFLAGS) $(CFLAGS) $(DEPFLAGS)
LINK = $(CC) $(IPR_CFLAGS) $(CFLAGS) $(LDFLAGS)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lnftnl -lmnl -lpcap -lbpf)
SOVERSION := 0
# The library's version: the header's IPR_VERSION_STRING.
VERSION := $(shell sed -n 's/^\#define IPR_VERSION_STRING "\(.*\)"/\1/p' include/ipredir.h)

LIB_SRCS := $(wildcard src/*.c)
LIB_OBJS := $(LIB_SRCS:src/%.c=$(B)/obj/lib/%.o)
CLI_SRCS := $(wildcard tools/ipredir/*.c)
CLI_OBJS := $(CLI_SRCS:tools/ipredir/%.c=$(B)/obj/cli/%.o)
EXAMPLES := $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
TEST_TOOLS := $(patsubst tests/netns/%.c,$(B)/tests/%,$(wildcard tests/netns/*.c))
BENCH_TOOLS := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))

all: $(B)/libipredir.a $(B)/libipredir.so $(B)/ipredir $(EXAMPLES) $(UNIT_TESTS) \
	$(TEST_TOOLS) $(BENCH_TOOLS)

$(B)/obj/lib/%.o: src/%.c
	@mkdir -p $(@D)
	$(COMPILE) $(PKG_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(B)/libipredir.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/libipredir.so: $(LIB_OBJS) src/libipredir.map
	$(LINK) -shared -Wl,-soname,libipredir.so.$(SOVERSION) -Wl,--version-script=src/libipredir.map \
		-o $(B)/libipredir.so.$(VERSION) $(LIB_OBJS) $(PKG_LIBS)
	ln -sf libipredir.so.$(VERSION) $(B)/libipredir.so.$(SOVERSION)
	ln -sf libipredir.so.$(VERSION) $@

$(B)/obj/cli/%.o: tools/ipredir/%.c
	@mkdir -p $(@D)
	$(COMPILE) -c $< -o $@

# `ipredir filter --windivert` compiles WinDivert filters with libwindivert.
$(B)/ipredir: $(CLI_OBJS) $(B)/libwindivert.a $(B)/libipredir.a
	$(LINK) -o $@ $(CLI_OBJS) $(B)/libwindivert.a $(B)/libipredir.a $(PKG_LIBS) -lpthread

$(B)/examples/%: examples/%.c $(B)/libipredir.a
	@mkdir -p $(@D)
	$(COMPILE) $(LDFLAGS) -o $@ $< $(B)/libipredir.a $(PKG_LIBS)

# Unit tests may reach the private header: they test internals over canned bytes.
$(B)/tests/test_%: tests/unit/test_%.c $(B)/libipredir.a
	@mkdir -p $(@D)
	$(COMPILE) $(LDFLAGS) -Isrc -o $@ $< $(B)/libipredir.a $(PKG_LIBS)

# Test tools of the netns suite; rules_probe drives the private rules API.
$(B)/tests/%: tests/netns/%.c $(B)/libipredir.a
	@mkdir -p $(@D)
	$(COMPILE) $(LDFLAGS) -Isrc -o $@ $< $(B)/libipredir.a $(PKG_LIBS) -lpthread

$(B)/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(COMPILE) $(LDFLAGS) -o $@ $< -lpthread

# The naive reference redirector is the libnetfilter_queue loop users write.
$(B)/bench/naive: bench/naive.c
	@mkdir -p $(@D)
	$(COMPILE) $(LDFLAGS) $(shell pkg-config --cflags libnetfilter_queue 2>/dev/null) -o $@ $< \
		$(shell pkg-config --libs libnetfilter_queue 2>/dev/null || echo -lnetfilter_queue -lnfnetlink)

deps:
	@sh scripts/install-deps.sh

check: deps
	$(MAKE) all
	sh tests/run.sh

demo: deps
	$(MAKE) all
	sh scripts/demo.sh

bench: deps
	$(MAKE) all
	IPR_BUILD=$(CURDIR)/$(B) sh bench/run.sh

clean:
	rm -rf $(B)

# The "make TARGET  what it does" lines that open this file and each mk/*.mk.
help:
	@awk '/^#   make [a-z]/ { t = $$3; sub(/^#   make [^ ]+ +/, ""); printf "  %-13s %s\n", t, $$0 }' \
		Makefile $(sort $(wildcard mk/*.mk))

.PHONY: all deps check demo bench clean help

# What each object and program was built from, headers included (from DEPFLAGS).
-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(addsuffix .d,$(EXAMPLES) $(UNIT_TESTS) \
	$(TEST_TOOLS) $(BENCH_TOOLS))

# Further targets (install, fuzzing, sanitizers, soak), one file per concern.
include $(sort $(wildcard mk/*.mk))
