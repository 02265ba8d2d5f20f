# mk/lint.mk - the checks that need neither root nor a network.
#
#   make lint        the four below (side by side under -j2), check-abi, the layer check
#   make lint-shell  shellcheck over every shell script of the tree; any finding fails
#   make lint-python mypy over python/: the packages strictly, examples and tests as clients
#   make lint-gcc    a -Werror build of everything with gcc into build/lint-gcc/
#   make lint-clang  a -Werror build of everything with clang into build/lint-clang/
#
# The builds have trees of their own so that build/ stays as it was. The layer check
# (scripts/check-layers.sh over the gcc build's library objects) runs last, so that a
# cycle between the library's files does not hide what the other checks would say.
LINT_GCC := $(B)/lint-gcc
LINT_CLANG := $(B)/lint-clang

lint: deps lint-shell lint-python lint-gcc lint-clang
	$(MAKE) B=$(LINT_GCC) check-abi
	sh scripts/check-layers.sh $(LIB_SRCS:src/%.c=$(LINT_GCC)/obj/lib/%.o)

# The scripts: what git lists (so no build tree counts) named *.sh or *.bash, or opening
# with a sh or bash shebang. completion/ipredir.bash says "shellcheck shell=bash" itself
# and goes in one run with the tests that source it, so that shellcheck follows it there.
lint-shell: deps
	git ls-files --cached --others --exclude-standard | awk '/\.(sh|bash)$$/ { print; next } \
		(getline line < $$0) > 0 && line ~ /^#!.*[\/ ](ba)?sh([ \t]|$$)/ { print } \
		{ close($$0) }' | xargs shellcheck

# The packages are the directories of python/ with an __init__.py (ipredir, pydivert);
# examples and tests need no annotations of their own, but their calls are checked.
PY_PACKAGES = $(patsubst %/__init__.py,%,$(wildcard python/*/__init__.py))
MYPY = mypy --config-file python/mypy.ini --cache-dir $(B)/mypy-cache
MYPY_CLIENTS = --allow-untyped-defs --allow-incomplete-defs --allow-untyped-calls \
	--check-untyped-defs

lint-python: deps
	$(MYPY) $(PY_PACKAGES)
	$(MYPY) $(MYPY_CLIENTS) python/examples python/tests

lint-gcc: deps
	$(MAKE) B=$(LINT_GCC) CC=gcc CFLAGS="$(CFLAGS) -Werror" all

lint-clang: deps
	$(MAKE) B=$(LINT_CLANG) CC=clang CFLAGS="$(CFLAGS) -Werror" all

.PHONY: lint lint-shell lint-python lint-gcc lint-clang
