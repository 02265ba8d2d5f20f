#!/bin/bash
# Per-process redirection: `ipredir run -- COMMAND` starts COMMAND in a cgroup
# v2 of its own, passes exactly COMMAND's packets through passthru (none of
# another process sending at the same time from the same namespace), prints
# the summary, exits with COMMAND's status and removes its cgroup.
# `ipredir run --cgroup PATH` does the same for a cgroup of ours. IPv4 and IPv6.
#
#   +------+ veth-a                veth-b +------+
#   |  A   |------------------------------|  B   |
#   +------+ 10.77.27.1       10.77.27.2  +------+
#   udp-recv x 2, tcp-recv                ipredir run -- nettool udp-send  (20 + end datagram)
#                                         nettool udp-send                 (50 + end, not redirected)
#   udp-send x 2                          ipredir run -- nettool udp-recv  (gets 20 + end)
#                                         nettool udp-recv                 (gets 50 + end, not redirected)
#   run goes into B through nsenter --net (this host's mounts), and in the ways-in
#   cases also through `ip netns exec` (a fresh /sys without cgroups) and as on a
#   v2-only host; curl there fetches a file from an HTTP server in A. Cgroups are
#   host-wide: ours are named after this script's pid and removed at exit.
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=run
. "$(dirname "$0")/lib.sh"
# Start python3 itself, not a version manager's shim in front of it (~1 s per start).
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) && PATH=${PY%/*}:$PATH
need_root_and run "$IPREDIR"
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
if [ -z "$CG2" ] || ! command -v nsenter >/dev/null; then
	skip run "needs a cgroup v2 mount and nsenter"
	exit 0
fi
topo_pair 27 || { fail topology "could not build A-B"; finish; }
CMD_COUNT=20   # datagrams of the redirected command (plus its end datagram)
OTHER_COUNT=50 # datagrams of the other process (plus its end datagram)
OWN_CGROUPS=()

# cgroups_remove: end the processes in our own cgroups and remove them.
cgroups_remove() {
	local cg
	for cg in "${OWN_CGROUPS[@]}"; do
		[ -d "$cg" ] || continue
		# shellcheck disable=SC2046 # one pid per word
		kill -s KILL $(cat "$cg/cgroup.procs") 2>/dev/null
		wait_until 3 cgroup_empty "$cg"
		rmdir "$cg"
	done
}
cgroup_empty() { [ ! -s "$1/cgroup.procs" ]; }
trap 'rc=$?; cgroups_remove; (exit $rc); cleanup' EXIT

# host_spawn NS LOG CMD...: spawn, but keeping this host's mounts (/sys/fs/cgroup).
host_spawn() {
	local ns=$1 log=$2
	shift 2
	nsenter --net="/run/netns/$ns" "$@" >"$log" 2>&1 </dev/null &
}

# packets_of LOG: the packet count of passthru's summary line.
packets_of() { sed -n 's/^passthru: \([0-9]*\) packets.*/\1/p' "$1"; }

# got LOG PAYLOAD: datagrams with PAYLOAD that a udp-recv logged.
got() { count_lines "$1" "^got $2\$"; }

# listen2 NAME: two UDP receivers in A (ports 7027 and 7028): RECV_CMD, RECV_OTHER.
listen2() {
	udp_listen "$NS_A" "$WORK/$1.cmd.recv" 7027 || return 1
	RECV_CMD=$UDP_RECV_PID
	udp_listen "$NS_A" "$WORK/$1.other.recv" 7028 || return 1
	RECV_OTHER=$UDP_RECV_PID
}

# other_start NAME VERSION: B sends OTHER_COUNT datagrams over 1.5 s from outside
# any redirected cgroup; returns once the first arrived (OTHER_PID).
other_start() {
	spawn "$NS_B" "$WORK/$1.other.send" python3 "$NETTOOL" udp-send "$(addr_of A "$2")" 7028 \
		other "$OTHER_COUNT" 0.03
	OTHER_PID=$!
	wait_until 5 has_line "$WORK/$1.other.recv" '^got other$'
}

# receivers_done NAME: both senders finished; the receivers saw their end datagrams.
# Checks that every datagram arrived and that the two really overlapped.
receivers_done() {
	local name=$1 overlapped=$2
	wait "$OTHER_PID"
	wait_until 10 gone "$RECV_CMD"
	wait_until 10 gone "$RECV_OTHER"
	stop "$RECV_CMD"
	stop "$RECV_OTHER"
	check "$name.cmd_delivered" "A got $(got "$WORK/$name.cmd.recv" cmd) of $CMD_COUNT datagrams of the command" \
		test "$(got "$WORK/$name.cmd.recv" cmd)" = "$CMD_COUNT"
	check "$name.other_delivered" "A got $(got "$WORK/$name.other.recv" other) of $OTHER_COUNT other datagrams" \
		test "$(got "$WORK/$name.other.recv" other)" = "$OTHER_COUNT"
	check "$name.concurrent" "the other sender was not sending while the redirector ran" test "$overlapped" = 1
}

# command_case VERSION: run -- udp-send: exactly the command's datagrams are counted.
command_case() {
	local v=$1 name=command_v$1 log=$WORK/command_v$1.run pid status packets overlapped=0
	listen2 "$name" || { fail "$name" "UDP receivers did not listen"; return; }
	other_start "$name" "$v" || { fail "$name" "the other sender's datagrams did not arrive"; return; }
	host_spawn "$NS_B" "$log" "$IPREDIR" run --quiet -- python3 "$NETTOOL" udp-send \
		"$(addr_of A "$v")" 7027 cmd "$CMD_COUNT" 0.01
	pid=$!
	wait "$pid"
	status=$?
	running "$OTHER_PID" && overlapped=1
	packets=$(packets_of "$log")
	check "$name.exit" "run exited with status $status" test "$status" = 0 || show "$log"
	check "$name.packets" "summary says ${packets:-no} packets, the command sent $((CMD_COUNT + 1))" \
		test "${packets:-x}" = $((CMD_COUNT + 1)) || show "$log"
	check "$name.cgroup_gone" "$CG2/ipredir-run-$pid stayed" test ! -e "$CG2/ipredir-run-$pid"
	check "$name.table_gone" "the table outlived run" no_table "$NS_B"
	receivers_done "$name" "$overlapped"
}

# inbound_case VERSION: run -- udp-recv: the datagrams A sends to the command are
# redirected, those A sends at the same time to another receiver in B are not.
inbound_case() {
	local v=$1 name=inbound_v$1 log=$WORK/inbound_v$1.run b pid other sender status packets
	b=$(addr_of B "$v")
	spawn "$NS_B" "$WORK/$name.other.recv" python3 "$NETTOOL" udp-recv 7031
	other=$!
	wait_until 5 has_line "$WORK/$name.other.recv" '^listening' || { fail "$name" "receiver did not listen"; return; }
	host_spawn "$NS_B" "$log" "$IPREDIR" run --quiet -- python3 "$NETTOOL" udp-recv 7030
	pid=$!
	wait_until 5 has_line "$log" '^listening' || { fail "$name" "the command did not listen"; show "$log"; stop "$pid"; return; }
	spawn "$NS_A" "$WORK/$name.other.send" python3 "$NETTOOL" udp-send "$b" 7031 other "$OTHER_COUNT" 0.01
	sender=$!
	in_ns "$NS_A" python3 "$NETTOOL" udp-send "$b" 7030 cmd "$CMD_COUNT" 0.01
	wait_until 10 gone "$pid"
	stop "$pid"
	status=$?
	wait "$sender"
	wait_until 10 gone "$other"
	stop "$other"
	packets=$(packets_of "$log")
	check "$name.exit" "run exited with status $status" test "$status" = 0 || show "$log"
	check "$name.cmd_delivered" "the command got $(got "$log" cmd) of $CMD_COUNT datagrams" \
		test "$(got "$log" cmd)" = "$CMD_COUNT"
	check "$name.other_delivered" "the other receiver got $(got "$WORK/$name.other.recv" other) of $OTHER_COUNT datagrams" \
		test "$(got "$WORK/$name.other.recv" other)" = "$OTHER_COUNT"
	check "$name.packets" "summary says ${packets:-no} packets, A sent the command $((CMD_COUNT + 1))" \
		test "${packets:-x}" = $((CMD_COUNT + 1)) || show "$log"
}

# tcp_case VERSION: run -- tcp-send: the command's transfer arrives intact and was redirected.
tcp_case() {
	local v=$1 name=tcp_v$1 log=$WORK/tcp_v$1.run pid recv status packets sent got bytes=5000000
	spawn "$NS_A" "$WORK/$name.recv" python3 "$NETTOOL" tcp-recv 7029
	recv=$!
	wait_until 5 has_line "$WORK/$name.recv" '^listening' || { fail "$name" "receiver did not listen"; return; }
	host_spawn "$NS_B" "$log" "$IPREDIR" run --quiet -- python3 "$NETTOOL" tcp-send \
		"$(addr_of A "$v")" 7029 "$bytes"
	pid=$!
	wait "$pid"
	status=$?
	wait_until 10 gone "$recv"
	stop "$recv"
	sent=$(sed -n 's/^sent //p' "$log") got=$(sed -n 's/^received //p' "$WORK/$name.recv")
	packets=$(packets_of "$log")
	check "$name.exit" "run exited with status $status" test "$status" = 0 || show "$log"
	check "$name.intact" "sent ${sent:-nothing}, received ${got:-nothing}" \
		same_transfer "$sent" "$got" "$bytes"
	check "$name.redirected" "summary says ${packets:-no} packets for a 5 MB transfer" \
		test "${packets:-0}" -ge 50
	grep '^passthru:' "$log" | sed "s/^/# $SUITE.$name: /"
}

# status_case NAME WANT CMD...: run exits with WANT, prints its summary, leaves no cgroup.
status_case() {
	local name=$1 want=$2 log=$WORK/$1.run pid status
	shift 2
	host_spawn "$NS_B" "$log" "$IPREDIR" run --quiet -- "$@"
	pid=$!
	wait "$pid"
	status=$?
	check "$name" "run exited with status $status, the command with $want" test "$status" = "$want" ||
		show "$log"
	check "$name.summary" "no summary line" has_line "$log" '^passthru: [0-9]+ packets'
	check "$name.cgroup_gone" "$CG2/ipredir-run-$pid stayed" test ! -e "$CG2/ipredir-run-$pid"
}

# lifecycle_case: while COMMAND runs it is in $CG2/ipredir-run-PID (PID: run's); afterwards
# the directory is gone. COMMAND waits on a FIFO that the test opens when it is done.
lifecycle_case() {
	local name=lifecycle log=$WORK/lifecycle.run fifo=$WORK/go cgfile=$WORK/lifecycle.cgroup pid status
	mkfifo "$fifo"
	# shellcheck disable=SC2016 # expanded by the command's shell
	host_spawn "$NS_B" "$log" "$IPREDIR" run --quiet -- \
		sh -c 'cat /proc/self/cgroup >"$0.tmp" && mv "$0.tmp" "$0" && read -r x <"$1"; exit 5' "$cgfile" "$fifo"
	pid=$!
	wait_until 5 test -s "$cgfile" || { fail "$name" "the command did not start"; show "$log"; stop "$pid"; return; }
	check "$name.in_cgroup" "the command's cgroup v2: $(grep '^0::' "$cgfile"), wanted /ipredir-run-$pid" \
		grep -q "^0::/ipredir-run-$pid\$" "$cgfile"
	check "$name.cgroup_exists" "$CG2/ipredir-run-$pid does not exist while the command runs" \
		test -d "$CG2/ipredir-run-$pid"
	check "$name.table" "no table while the command runs" has_table "$NS_B"
	echo go >"$fifo"
	wait "$pid"
	status=$?
	check "$name.exit" "run exited with status $status, the command with 5" test "$status" = 5 || show "$log"
	check "$name.cgroup_gone" "$CG2/ipredir-run-$pid stayed" test ! -e "$CG2/ipredir-run-$pid"
	check "$name.table_gone" "the table outlived run" no_table "$NS_B"
}

# cgroup_case VERSION WAY: run --cgroup PATH (a path of this host's cgroup2 mount), started
# the way WAY goes into B (see way_spawn), redirects a process we moved into PATH, and no other.
cgroup_case() {
	local v=$1 way=$2 name=cgroup_v$1 log=$WORK/cgroup_v$1.run cg=$CG2/ipr-test-run-$$-v$1 pid member status packets overlapped=0
	mkdir "$cg" || { fail "$name" "could not create $cg"; return; }
	OWN_CGROUPS+=("$cg")
	listen2 "$name" || { fail "$name" "UDP receivers did not listen"; return; }
	way_spawn "$way" "$log" "$IPREDIR" run --quiet --cgroup "$cg"
	pid=$!
	wait_table "$NS_B" || { fail "$name" "run --cgroup did not install its table"; show "$log"; stop "$pid"; return; }
	other_start "$name" "$v" || { fail "$name" "the other sender's datagrams did not arrive"; stop "$pid"; return; }
	# shellcheck disable=SC2016 # expanded by the member's shell
	host_spawn "$NS_B" "$WORK/$name.member" sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" \
		python3 "$NETTOOL" udp-send "$(addr_of A "$v")" 7027 cmd "$CMD_COUNT" 0.01
	member=$!
	wait "$member"
	running "$OTHER_PID" && overlapped=1
	wait_until 10 gone "$RECV_CMD"
	stop "$pid"
	status=$?
	packets=$(packets_of "$log")
	check "$name.exit" "run --cgroup exited with status $status after SIGTERM" test "$status" = 0 || show "$log"
	check "$name.packets" "summary says ${packets:-no} packets, the member sent $((CMD_COUNT + 1))" \
		test "${packets:-x}" = $((CMD_COUNT + 1)) || show "$log" "$WORK/$name.member"
	check "$name.table_gone" "the table outlived run" no_table "$NS_B"
	receivers_done "$name" "$overlapped"
	check "$name.cgroup_removable" "could not remove $cg" rmdir "$cg"
}

# ---------------------------------------------------------------- ways in
# The same run under each way into B's namespace: `ip netns exec` (a fresh
# /sys without cgroups: run mounts cgroup2 privately), nsenter --net (this
# host's mounts: cgroup v1 beside v2, or v2 only) and a v2-only host (a mount
# namespace with cgroup2 alone at /sys/fs/cgroup).

# way_spawn WAY LOG CMD...: spawn CMD in B's namespace the way WAY goes in.
way_spawn() {
	local way=$1 log=$2
	shift 2
	case $way in
	netns_exec) spawn "$NS_B" "$log" "$@" ;;
	nsenter) host_spawn "$NS_B" "$log" "$@" ;;
	v2_only)
		# shellcheck disable=SC2016 # expanded by the inner shell
		unshare --mount --propagation private sh -c 'umount -R /sys/fs/cgroup &&
			mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec nsenter --net="$0" "$@"' \
			"/run/netns/$NS_B" "$@" >"$log" 2>&1 </dev/null &
		;;
	esac
}

# way_case WAY: run -- sh: the command is in its own cgroup, exits with its status, the
# cgroup is gone afterwards; run -- curl fetches a file through the redirector while
# another process of B sends UDP, and run -f udp -- curl takes none of those datagrams.
way_case() {
	local way=$1 name=$1 log=$WORK/$1.run pid status packets
	# shellcheck disable=SC2016 # expanded by the command's shell
	way_spawn "$way" "$log" "$IPREDIR" run --quiet -- sh -c 'grep "^0::" /proc/self/cgroup; exit 7'
	pid=$!
	wait "$pid"
	status=$?
	check "$name.exit" "run exited with status $status, the command with 7" test "$status" = 7 || show "$log"
	check "$name.in_cgroup" "the command's cgroup: $(grep '^0::' "$log")" \
		has_line "$log" "^0::/ipredir-run-$pid\$"
	check "$name.cgroup_gone" "$CG2/ipredir-run-$pid stayed" test ! -e "$CG2/ipredir-run-$pid"
	curl_case "$way"
}

# curl_case WAY: see way_case; the file's sha256 must match.
curl_case() {
	local way=$1 name=$1.curl log=$WORK/$1.curl.run udp=$WORK/$1.udp.run got=$WORK/$1.got packets
	way_spawn "$way" "$log" "$IPREDIR" run --quiet -- curl -sS -o "$got" "http://$A4:8080/blob"
	wait $!
	packets=$(packets_of "$log")
	check "$name.fetched" "curl under run did not fetch the file intact" \
		test "$(sha256sum <"$got")" = "$BLOB_SUM" || show "$log"
	check "$name.redirected" "summary says ${packets:-no} packets for curl's connection" \
		test "${packets:-0}" -ge 6 || show "$log"
	listen2 "$name" || { fail "$name" "UDP receivers did not listen"; return; }
	other_start "$name" 4 || { fail "$name" "the other sender's datagrams did not arrive"; return; }
	way_spawn "$way" "$udp" "$IPREDIR" run --quiet -f udp -- curl -sS -o /dev/null "http://$A4:8080/blob"
	wait $!
	packets=$(packets_of "$udp")
	check "$name.only_curl" "run -f udp -- curl took ${packets:-no} packets of the other sender" \
		test "${packets:-x}" = 0 || show "$udp"
	in_ns "$NS_B" python3 "$NETTOOL" udp-send "$A4" 7027 cmd 1 0 >/dev/null
	wait "$OTHER_PID"
	wait_until 10 gone "$RECV_CMD"
	stop "$RECV_CMD"
	stop "$RECV_OTHER"
}

if command -v curl >/dev/null && command -v unshare >/dev/null; then
	head -c 300000 /dev/urandom >"$WORK/blob"
	BLOB_SUM=$(sha256sum <"$WORK/blob")
	spawn "$NS_A" "$WORK/http.log" python3 -m http.server --bind "$A4" --directory "$WORK" 8080
	HTTP_PID=$!
	if wait_until 10 port_listening "$NS_A" 8080; then
		for way in netns_exec nsenter v2_only; do way_case "$way"; done
	else
		fail ways "the HTTP server in A did not listen"
	fi
	stop "$HTTP_PID"
else
	skip ways "needs curl and unshare"
fi

for v in 4 6; do
	command_case "$v"
	inbound_case "$v"
	tcp_case "$v"
done
cgroup_case 4 netns_exec
cgroup_case 6 nsenter
status_case exit_3 3 sh -c 'exit 3'
status_case exit_0 0 true
# shellcheck disable=SC2016 # expanded by the command's shell
status_case killed 143 sh -c 'kill -s TERM $$'
status_case not_found 127 /nonexistent/command
lifecycle_case
finish
