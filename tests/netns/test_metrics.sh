#!/bin/bash
# Counters for Prometheus and the progress line. With a passthru (2 queues) and
# iprtap (a program of its own) running in B while A pings, `status
# --prometheus` passes `promtool check metrics` and shows passthru's counters
# and iprtap's kernel counters; `passthru --metrics-file` keeps a textfile that
# a reader polling it never sees half-written and that ends with the summary's
# count. The progress line: none into a log by default, one per second with
# --progress, in place on a terminal; the summary comes on SIGINT either way.
#
#   +------+ veth-a          veth-b +------+
#   |  A   |------------------------|  B   |
#   +------+ 10.77.47.1  10.77.47.2 +------+
#   ping                             ipredir passthru, iprtap, status
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=metrics
. "$(dirname "$0")/lib.sh"
need_root_and metrics "$IPREDIR" "$IPRTAP"
topo_pair 47 || { fail topology "could not build A-B"; finish; }

# sample FILE METRIC TOOL: the sum of METRIC's samples of TOOL in FILE.
sample() {
	awk -v m="$2" -v t="tool=\"$3\"" 'index($0, m "{") == 1 && index($0, t) { n += $NF }
		END { print n + 0 }' "$1"
}

# passthru_start NAME ARGS...: passthru in B (PASSTHRU_PID), log $WORK/NAME.log.
passthru_start() {
	local name=$1
	shift
	spawn "$NS_B" "$WORK/$name.log" "$IPREDIR" passthru "$@"
	PASSTHRU_PID=$!
	wait_table "$NS_B" || { fail "$name" "passthru did not install its table"; show "$WORK/$name.log"; return 1; }
}

# promtool_case: status --prometheus over passthru and iprtap.
promtool_case() {
	local out=$WORK/status.prom
	passthru_start status -q 2 --quiet -f icmp || return
	tap_start "$NS_B" "$WORK/tap.log" -f tcp || { fail status.iprtap "iprtap did not start"; stop "$PASSTHRU_PID"; return; }
	pings "$NS_A" "$B4" 5
	in_ns "$NS_B" "$IPREDIR" status --prometheus >"$out" 2>&1
	check status.promtool "promtool check metrics refused the output" promtool check metrics <"$out" ||
		show "$out"
	check status.received "passthru received $(sample "$out" ipredir_received_packets_total passthru) packets, the pings were 10" \
		test "$(sample "$out" ipredir_received_packets_total passthru)" -ge 10
	check status.queues "not both queues of passthru" \
		test "$(grep -c '^ipredir_held_packets{.*tool="passthru"' "$out")" = 2
	check status.labels "no filter and table labels" \
		has_line "$out" '^ipredir_accepted_packets_total\{table="ipredir_[0-9_]+",queue="[0-9]+",tool="passthru",filter="icmp"\} [0-9]+$'
	check status.kernel_only "iprtap: kernel counters only" \
		test "$(grep -c 'tool="iprtap"' "$out")" = 3
	stop "$TAP_PID"
	stop "$PASSTHRU_PID"
}

# textfile_case: a reader polls the metrics file while passthru rewrites it.
textfile_case() {
	local file=$WORK/prom/ipredir.prom reads packets
	mkdir "$WORK/prom"
	passthru_start textfile -q 1 --quiet --metrics-file "$file" || return
	in_ns "$NS_A" ping -n -i 0.05 "$B4" >/dev/null 2>&1 &
	local ping=$!
	reads=$(python3 - "$file" <<'EOF'
import os, sys, time
path, seen, reads = sys.argv[1], set(), 0
end = time.monotonic() + 5
while time.monotonic() < end:
    try:
        text = open(path).read()
    except FileNotFoundError:
        continue
    reads += 1
    lines = text.split("\n")
    assert text.endswith("\n") and text.count("# HELP ") == 11, "half-written:\n" + text
    assert lines[-2].startswith("ipredir_verdict_errors_total{"), "cut:\n" + text
    seen.add(os.stat(path).st_ino)
print(reads, len(seen))
EOF
	)
	check textfile.whole "a read saw a half-written file" test -n "$reads"
	check textfile.rewritten "reads and versions: ${reads:-none}" test "${reads#* }" -ge 2
	stop "$ping"
	stop "$PASSTHRU_PID" INT
	packets=$(sed -n 's/^passthru: \([0-9]*\) packets.*/\1/p' "$WORK/textfile.log")
	check textfile.final "the file says $(sample "$file" ipredir_received_packets_total passthru), the summary ${packets:-nothing}" \
		test "$(sample "$file" ipredir_received_packets_total passthru)" = "${packets:-x}"
	check textfile.promtool "promtool check metrics refused the file" promtool check metrics <"$file"
	check textfile.no_temp "a temporary file stayed" test "$(ls -A "$WORK/prom")" = ipredir.prom
}

# progress_case NAME WANT ARGS...: passthru ARGS into a log over 2.5 s of pings prints
# WANT progress lines (any: "some"), then its summary on SIGINT.
progress_case() {
	local name=$1 want=$2 lines
	shift 2
	passthru_start "$name" "$@" || return
	pings "$NS_A" "$B4" 25
	stop "$PASSTHRU_PID" INT
	lines=$(count_lines "$WORK/$name.log" 'pkt/s.*held [0-9]+')
	if [ "$want" = some ]; then
		check "$name" "$lines progress lines" test "$lines" -ge 2
	else
		check "$name" "$lines progress lines" test "$lines" = "$want"
	fi
	check "$name.summary" "no summary after SIGINT" has_line "$WORK/$name.log" '^passthru: [0-9]+ packets'
}

# tty_case: on a terminal (script's pty) the line is rewritten in place and erased at the end.
tty_case() {
	local log=$WORK/tty.log pid
	spawn "$NS_B" "$log" script -qfec "$IPREDIR passthru -q 1" /dev/null
	pid=$!
	wait_table "$NS_B" || { fail tty "passthru did not install its table"; stop "$pid"; return; }
	pings "$NS_A" "$B4" 15
	kill -s INT "$(pgrep -o --ns "$pid" --nslist net -f "^$IPREDIR passthru")" # not its watchdog
	wait_until 5 gone "$pid"
	stop "$pid"
	check tty.in_place "no line rewritten in place" grep -q $'pkt/s.*held [0-9]*\e\[K\r' "$log" || show "$log"
	check tty.erased "the line was not erased before the summary" grep -q $'\r\e\[Kpassthru: [0-9]* packets' "$log"
}

if command -v promtool >/dev/null; then
	promtool_case
	textfile_case
else
	skip promtool "needs promtool (Debian package prometheus)"
fi
progress_case silent_in_log 0 -q 1
progress_case progress_in_log some -q 1 --progress
progress_case quiet 0 -q 1 --progress --quiet
if command -v script >/dev/null; then tty_case; else skip tty "needs script (util-linux)"; fi
finish
