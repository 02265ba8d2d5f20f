#!/bin/bash
# A short passthru session under valgrind: a TCP transfer each way through it,
# then SIGINT. Fails on any memory error and on any definite or indirect leak
# (valgrind's exit status 99), and checks the transfer's bytes and the clean
# exit. Sanitizer builds cannot run under valgrind and are skipped.
#
#   +------+ veth-a              veth-b +------+
#   |  A   |----------------------------|  B   |  valgrind ipredir passthru in B
#   +------+ 10.77.44.1      10.77.44.2 +------+
# shellcheck source-path=SCRIPTDIR disable=SC2034 # SUITE is read by lib.sh
SUITE=valgrind
. "$(dirname "$0")/lib.sh"
need_root_and valgrind "$IPREDIR"
if ! command -v valgrind >/dev/null; then
	skip all "valgrind not installed (sudo make deps)"
	finish
fi
skip_if_sanitized all "valgrind cannot run it"
topo_pair 44 || { fail topology "could not build A-B"; finish; }

LOG=$WORK/valgrind.log
spawn "$NS_B" "$WORK/passthru.log" valgrind --quiet --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
	--error-exitcode=99 --log-file="$LOG" "$IPREDIR" passthru --in --out --deadline 30000
PID=$!
if ! wait_until 60 has_line "$WORK/passthru.log" 'Ctrl-C stops'; then
	fail start "passthru did not start under valgrind"
	show "$WORK/passthru.log" "$LOG"
	finish
fi
tcp_transfer tcp_to_b "$NS_A" "$NS_B" "$B4" 200000
tcp_transfer tcp_to_a "$NS_B" "$NS_A" "$A6" 200000
stop "$PID" INT
rc=$?
wait_until 30 gone "$PID"
check exit_status "exit status $rc (99: valgrind found errors or leaks)" test "$rc" = 0 || show "$LOG"
check summary "no summary line" has_line "$WORK/passthru.log" '^passthru: [0-9]+ packets'
check no_reports "valgrind reported" test ! -s "$LOG" || show "$LOG"
finish
