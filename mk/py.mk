# mk/py.mk - the Python binding (python/).
#
#   make bench-python  measure a Python loop against no redirector (python/bench.sh; root)
#
# It runs in private namespaces; the binding's tests run in make check through
# tests/netns/test_python.sh.

bench-python: deps
	$(MAKE) all
	IPR_BUILD=$(abspath $(B)) bash python/bench.sh

.PHONY: bench-python
