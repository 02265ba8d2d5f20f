# mk/lint.mk - the checks that need neither root nor a network.
#
#   make lint        the three below (side by side under -j2), check-abi, the layer check
#   make lint-shell  shellcheck over every shell script of the tree; any finding fails
#   make lint-gcc    a -Werror build of everything with gcc into build/lint-gcc/
#   make lint-clang  a -Werror build of everything with clang into build/lint-clang/
#
# The builds have trees of their own so that build/ stays as it was. The layer check
# (scripts/check-layers.sh over the gcc build's library objects) runs last, so that a
# cycle between the library's files does not hide what the other checks would say.
LINT_GCC := $(B)/lint-gcc
LINT_CLANG := $(B)/lint-clang

lint: deps lint-shell lint-gcc lint-clang
	$(MAKE) B=$(LINT_GCC) check-abi
	sh scripts/check-layers.sh $(LIB_SRCS:src/%.c=$(LINT_GCC)/obj/lib/%.o)

# The scripts: what git lists (so no build tree counts) named *.sh or *.bash, or opening
# with a sh or bash shebang. completion/ipredir.bash says "shellcheck shell=bash" itself
# and goes in one run with the tests that source it, so that shellcheck follows it there.
lint-shell: deps
	git ls-files --cached --others --exclude-standard | awk '/\.(sh|bash)$$/ { print; next } \
		(getline line < $$0) > 0 && line ~ /^#!.*[\/ ](ba)?sh([ \t]|$$)/ { print } \
		{ close($$0) }' | xargs shellcheck

lint-gcc: deps
	$(MAKE) B=$(LINT_GCC) CC=gcc CFLAGS="$(CFLAGS) -Werror" all

lint-clang: deps
	$(MAKE) B=$(LINT_CLANG) CC=clang CFLAGS="$(CFLAGS) -Werror" all

.PHONY: lint lint-shell lint-gcc lint-clang
