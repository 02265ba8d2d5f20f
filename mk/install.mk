# mk/install.mk - installing, and the check of what the libraries export.
#
#   make install     install into PREFIX (/usr/local), under DESTDIR if given
#   make uninstall   remove exactly what make install put there
#   make check-abi   check each library's exports against its header, its map and abi/
#
# PREFIX, DESTDIR and the directories below may be overridden. The tool goes to
# sbin: it administers the host's packet path and needs CAP_NET_ADMIN for
# everything but `list` and --help (like nft and tc). Both libraries are installed
# (libwindivert: mk/windivert.mk); the samples of examples/ are not.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/ipredir
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
INSTALL ?= install

D := $(DESTDIR)
LIBNAME := libipredir.so.$(VERSION)
# Every exported function gets a man3 link to libipredir(3), so `man ipr_open` works.
IPR_FUNCS := $(shell sed -n 's/^[[:space:]]*\(ipr_[a-z0-9_]*\);/\1/p' src/libipredir.map)
# Recursive (=): WD_VERSION comes from mk/windivert.mk, read after this file.
SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' \
	-e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|@DOCDIR@|$(DOCDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	-e 's|@WD_VERSION@|$(WD_VERSION)|g'

# lib_files NAME,VERSION,SOVERSION: a library's files in LIBDIR.
lib_files = $(1).so.$(2) $(1).so.$(3) $(1).so $(1).a

# install_lib NAME,VERSION,SOVERSION: the shared library, its soname and link-time
# links, and the static library.
define install_lib
$(INSTALL) -m 755 $(B)/$(1).so.$(2) $(D)$(LIBDIR)/$(1).so.$(2)
ln -sf $(1).so.$(2) $(D)$(LIBDIR)/$(1).so.$(3)
ln -sf $(1).so.$(2) $(D)$(LIBDIR)/$(1).so
$(INSTALL) -m 644 $(B)/$(1).a $(D)$(LIBDIR)/$(1).a
endef

# Files made from templates; regenerated on every install (the paths may change).
$(B)/gen/%: %.in FORCE
	@mkdir -p $(@D)
	$(SUBST) $< >$@

GENERATED := $(B)/gen/libipredir.pc $(B)/gen/windivert.pc $(B)/gen/systemd/ipredir@.service \
	$(B)/gen/systemd/ipredir-service

install: $(B)/libipredir.a $(B)/libipredir.so $(B)/libwindivert.a $(B)/libwindivert.so \
		$(B)/ipredir $(GENERATED)
	$(INSTALL) -d $(D)$(SBINDIR) $(D)$(LIBDIR) $(D)$(INCLUDEDIR) $(D)$(PKGCONFIGDIR) \
		$(D)$(LIBEXECDIR)/ipredir $(D)$(MANDIR)/man3 $(D)$(MANDIR)/man8 $(D)$(DOCDIR) \
		$(D)$(BASHCOMPDIR) $(D)$(SYSTEMDUNITDIR)
	$(INSTALL) -m 755 $(B)/ipredir $(D)$(SBINDIR)/ipredir
	$(call install_lib,libipredir,$(VERSION),$(SOVERSION))
	$(call install_lib,libwindivert,$(WD_VERSION),$(WD_SOVERSION))
	$(INSTALL) -m 644 include/ipredir.h $(D)$(INCLUDEDIR)/ipredir.h
	$(INSTALL) -m 644 include/windivert.h $(D)$(INCLUDEDIR)/windivert.h
	$(INSTALL) -m 644 $(B)/gen/libipredir.pc $(D)$(PKGCONFIGDIR)/libipredir.pc
	$(INSTALL) -m 644 $(B)/gen/windivert.pc $(D)$(PKGCONFIGDIR)/windivert.pc
	$(INSTALL) -m 755 $(B)/gen/systemd/ipredir-service $(D)$(LIBEXECDIR)/ipredir/ipredir-service
	$(INSTALL) -m 644 $(B)/gen/systemd/ipredir@.service $(D)$(SYSTEMDUNITDIR)/ipredir@.service
	$(INSTALL) -m 644 systemd/example.conf $(D)$(DOCDIR)/example.conf
	$(INSTALL) -m 644 completion/ipredir.bash $(D)$(BASHCOMPDIR)/ipredir
	$(INSTALL) -m 644 man/ipredir.8 $(D)$(MANDIR)/man8/ipredir.8
	$(INSTALL) -m 644 man/libipredir.3 $(D)$(MANDIR)/man3/libipredir.3
	for f in $(IPR_FUNCS); do \
		echo '.so man3/libipredir.3' >$(D)$(MANDIR)/man3/$$f.3 || exit 1; \
	done

# Removes exactly what install put there, and the directories only ipredir uses.
uninstall:
	rm -f $(D)$(SBINDIR)/ipredir \
		$(addprefix $(D)$(LIBDIR)/,$(call lib_files,libipredir,$(VERSION),$(SOVERSION)) \
			$(call lib_files,libwindivert,$(WD_VERSION),$(WD_SOVERSION))) \
		$(D)$(INCLUDEDIR)/ipredir.h $(D)$(INCLUDEDIR)/windivert.h \
		$(D)$(PKGCONFIGDIR)/libipredir.pc $(D)$(PKGCONFIGDIR)/windivert.pc \
		$(D)$(LIBEXECDIR)/ipredir/ipredir-service \
		$(D)$(SYSTEMDUNITDIR)/ipredir@.service $(D)$(DOCDIR)/example.conf \
		$(D)$(BASHCOMPDIR)/ipredir $(D)$(MANDIR)/man8/ipredir.8 \
		$(D)$(MANDIR)/man3/libipredir.3 $(IPR_FUNCS:%=$(D)$(MANDIR)/man3/%.3)
	for d in $(D)$(LIBEXECDIR)/ipredir $(D)$(DOCDIR); do \
		[ ! -d $$d ] || rmdir --ignore-fail-on-non-empty $$d || exit 1; \
	done

check-abi: $(B)/libipredir.so $(B)/libwindivert.so
	sh scripts/check-abi.sh $(B)/$(LIBNAME)
	sh scripts/check-abi.sh $(B)/libwindivert.so.$(WD_VERSION)

FORCE:

.PHONY: install uninstall check-abi FORCE
