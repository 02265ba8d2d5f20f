#!/bin/bash
# The libFuzzer harnesses of tests/fuzz/ (packet parser, checksum helpers,
# filters, CLI option parsing): each replays its committed seeds, then fuzzes
# for FUZZ_CHECK_SECONDS (default 5) from them. `make fuzz` runs them longer.
# Needs clang with libFuzzer; built into the build tree's fuzz/ directory.
# shellcheck source-path=SCRIPTDIR disable=SC2034 # SUITE is read by lib.sh
SUITE=fuzz
. "$(dirname "$0")/lib.sh"

if ! command -v "${FUZZ_CC:-clang}" >/dev/null; then
	skip all "clang not installed (sudo make deps)"
	finish
fi
if ! make -s -C "$ROOT" B="$BUILD" fuzz-build >"$WORK/build.log" 2>&1; then
	fail build "harnesses did not build"
	show "$WORK/build.log"
	finish
fi
sh "$ROOT/tests/fuzz/run.sh" "$BUILD/fuzz" "${FUZZ_CHECK_SECONDS:-5}" || FAILED=1
finish
