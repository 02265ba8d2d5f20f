# mk/py.mk - the Python packages (python/): ipredir, a binding of libipredir, and
# pydivert, pydivert's API over libwindivert.
#
#   make bench-python    measure a Python loop against no redirector (python/bench.sh; root)
#   make install-python  install both packages into PYTHONDIR (make install does it too)
#
# The bench runs in private namespaces; the packages' tests run in make check
# through tests/netns/test_python.sh and test_pydivert.sh. PYTHONDIR is Debian's
# directory of packages shared by every python3 version; `pip install ./python`
# (python/pyproject.toml) installs the same two packages elsewhere.
PYTHONDIR ?= $(PREFIX)/lib/python3/dist-packages
# Every file of both packages, relative to python/.
PY_FILES := $(sort $(patsubst python/%,%,$(shell find python/ipredir python/pydivert \
	-name '*.py' -o -name py.typed)))
PY_DIRS := $(sort $(dir $(PY_FILES)))

bench-python: deps
	$(MAKE) all
	IPR_BUILD=$(abspath $(B)) bash python/bench.sh

install-python:
	for f in $(PY_FILES); do \
		$(INSTALL) -D -m 644 python/$$f $(D)$(PYTHONDIR)/$$f || exit 1; \
	done

# Removes the files, what Python compiled from them, and the packages' directories.
uninstall-python:
	rm -f $(PY_FILES:%=$(D)$(PYTHONDIR)/%)
	rm -rf $(PY_DIRS:%=$(D)$(PYTHONDIR)/%__pycache__)
	for d in $$(printf '%s\n' $(PY_DIRS:%/=$(D)$(PYTHONDIR)/%) | sort -r); do \
		[ ! -d $$d ] || rmdir --ignore-fail-on-non-empty $$d || exit 1; \
	done

install: install-python
uninstall: uninstall-python

.PHONY: bench-python install-python uninstall-python
