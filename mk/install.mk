# mk/install.mk - installing, and the check of what the libraries export.
#
#   make install     install into PREFIX (/usr/local), under DESTDIR if given
#   make uninstall   remove exactly what make install put there
#   make check-abi   check each library's exports against its header, its map and abi/
#
# PREFIX, DESTDIR and the directories below may be overridden. The tool goes to
# sbin: it administers the host's packet path and needs CAP_NET_ADMIN for
# everything but `list` and --help (like nft and tc).
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
SUBST := sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' \
	-e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|@DOCDIR@|$(DOCDIR)|g' -e 's|@VERSION@|$(VERSION)|g'

# Files made from templates; regenerated on every install (the paths may change).
$(B)/gen/%: %.in FORCE
	@mkdir -p $(@D)
	$(SUBST) $< >$@

GENERATED := $(B)/gen/libipredir.pc $(B)/gen/systemd/ipredir@.service \
	$(B)/gen/systemd/ipredir-service

install: $(B)/libipredir.a $(B)/libipredir.so $(B)/ipredir $(GENERATED)
	$(INSTALL) -d $(D)$(SBINDIR) $(D)$(LIBDIR) $(D)$(INCLUDEDIR) $(D)$(PKGCONFIGDIR) \
		$(D)$(LIBEXECDIR)/ipredir $(D)$(MANDIR)/man3 $(D)$(MANDIR)/man8 $(D)$(DOCDIR) \
		$(D)$(BASHCOMPDIR) $(D)$(SYSTEMDUNITDIR)
	$(INSTALL) -m 755 $(B)/ipredir $(D)$(SBINDIR)/ipredir
	$(INSTALL) -m 755 $(B)/$(LIBNAME) $(D)$(LIBDIR)/$(LIBNAME)
	ln -sf $(LIBNAME) $(D)$(LIBDIR)/libipredir.so.$(SOVERSION)
	ln -sf $(LIBNAME) $(D)$(LIBDIR)/libipredir.so
	$(INSTALL) -m 644 $(B)/libipredir.a $(D)$(LIBDIR)/libipredir.a
	$(INSTALL) -m 644 include/ipredir.h $(D)$(INCLUDEDIR)/ipredir.h
	$(INSTALL) -m 644 $(B)/gen/libipredir.pc $(D)$(PKGCONFIGDIR)/libipredir.pc
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
	rm -f $(D)$(SBINDIR)/ipredir $(D)$(LIBDIR)/$(LIBNAME) \
		$(D)$(LIBDIR)/libipredir.so.$(SOVERSION) $(D)$(LIBDIR)/libipredir.so \
		$(D)$(LIBDIR)/libipredir.a $(D)$(INCLUDEDIR)/ipredir.h \
		$(D)$(PKGCONFIGDIR)/libipredir.pc $(D)$(LIBEXECDIR)/ipredir/ipredir-service \
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
