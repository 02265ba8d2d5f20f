# mk/windivert.mk - libwindivert: WinDivert's API over libipredir (windivert/), its samples
# (examples/windivert/) and unit tests (tests/unit/test_windivert_*.c); built by `make all`.
#
# The shared library is libwindivert.so.2 (WinDivert's API version 2) and needs
# libipredir.so.0; the samples and tests link both static libraries.
WD_SOVERSION := 2
WD_VERSION := 2.2.0
WD_SRCS := $(wildcard windivert/*.c)
WD_OBJS := $(WD_SRCS:windivert/%.c=$(B)/obj/wd/%.o)
WD_SAMPLES := $(patsubst examples/windivert/%.c,$(B)/examples/windivert/%,\
	$(wildcard examples/windivert/*.c))
WD_LIBS := $(B)/libwindivert.a $(B)/libipredir.a $(PKG_LIBS) -lpthread

all: $(B)/libwindivert.a $(B)/libwindivert.so $(WD_SAMPLES)

$(B)/obj/wd/%.o: windivert/%.c
	@mkdir -p $(@D)
	$(COMPILE) -fPIC -fvisibility=hidden -c $< -o $@

$(B)/libwindivert.a: $(WD_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/libwindivert.so: $(WD_OBJS) windivert/libwindivert.map $(B)/libipredir.so
	$(LINK) -shared -Wl,-soname,libwindivert.so.$(WD_SOVERSION) \
		-Wl,--version-script=windivert/libwindivert.map -o $(B)/libwindivert.so.$(WD_VERSION) \
		$(WD_OBJS) -L$(B) -lipredir -lpthread
	ln -sf libwindivert.so.$(WD_VERSION) $(B)/libwindivert.so.$(WD_SOVERSION)
	ln -sf libwindivert.so.$(WD_VERSION) $@

# Samples use only windivert.h, as on Windows.
$(B)/examples/windivert/%: examples/windivert/%.c $(B)/libwindivert.a $(B)/libipredir.a
	@mkdir -p $(@D)
	$(COMPILE) $(LDFLAGS) -o $@ $< $(WD_LIBS)

# Unit tests of libwindivert may reach its private header.
$(B)/tests/test_windivert_%: tests/unit/test_windivert_%.c $(B)/libwindivert.a $(B)/libipredir.a
	@mkdir -p $(@D)
	$(COMPILE) $(LDFLAGS) -Iwindivert -o $@ $< $(WD_LIBS)

-include $(WD_OBJS:.o=.d) $(addsuffix .d,$(WD_SAMPLES))
