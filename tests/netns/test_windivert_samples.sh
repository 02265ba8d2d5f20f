#!/bin/bash
# WinDivert's sample programs on libwindivert (examples/windivert/), each run once
# against real traffic between two private namespaces:
#   passthru      a TCP stream through it arrives intact; SIGTERM and SIGINT end it
#                 with status 0 and remove its table;
#   netdump       prints the packets of a ping (IPv4 and IPv6), which still arrive;
#   netfilter     a TCP connect to a listening port is refused (its reset), a UDP
#                 datagram to a bound port gets "port unreachable" (its ICMP);
#   webfilter     a request for a listed site gets the block page, others the server's page;
#   streamdump    a TCP stream through its local proxy arrives intact, and is dumped;
#   windivertctl  list shows the handle of a running passthru, as ipredir status does (its
#                 layer, priority, flags and filter); uninstall fails;
#   flowtrack     shows a TCP stream from A to B as tcpstream's outbound flow while it
#                 runs, and no more once it ended;
#   socketdump    prints a connect from A with its process and remote end; with --block
#                 a connect to the filter's port fails (EPERM) while another succeeds,
#                 and succeeds again once socketdump exited.
#
#   +------+ veth-a                veth-b +------+
#   |  A   |------------------------------|  B   |
#   +------+ 10.77.91.1        10.77.91.2 +------+
#            fd77:91::1        fd77:91::2
#   A: clients, webfilter, streamdump,    B: servers, passthru, netdump, netfilter
#      flowtrack, socketdump
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=windivert_samples
. "$(dirname "$0")/lib.sh"
WD=$BUILD/examples/windivert
need_root_and windivert_samples "$WD/passthru" "$WD/netdump" "$WD/netfilter" \
	"$WD/webfilter" "$WD/streamdump" "$WD/windivertctl" "$WD/flowtrack" "$WD/socketdump" \
	"$TCPSTREAM"
topo_pair 91 || { fail topology "could not build A-B"; finish; }

# sample_start NS NAME LOG ARGS...: run the sample NAME with ARGS in NS; SAMPLE_PID is
# its pid. Returns 0 once its handle's table is installed in NS.
sample_start() {
	local ns=$1 name=$2 log=$3
	shift 3
	spawn "$ns" "$log" "$WD/$name" "$@"
	SAMPLE_PID=$!
	wait_until 5 has_table "$ns" && return 0
	stop "$SAMPLE_PID" KILL
	return 1
}

# sample_stop NS [SIGNAL]: end the running sample, wait for its table to go from NS.
# Returns the sample's exit status.
sample_stop() {
	local rc
	stop "$SAMPLE_PID" "${2:-TERM}"
	rc=$?
	wait_until 3 no_table "$1"
	return "$rc"
}

# stream_start NAME NS PORT: a tcpstream receiver on PORT in NS (STREAM_RECV_PID).
stream_start() {
	spawn "$2" "$WORK/$1.recv" "$TCPSTREAM" recv "$3"
	STREAM_RECV_PID=$!
	wait_until 5 has_line "$WORK/$1.recv" '^listening'
}

# stream_check NAME: the tcpstream started by stream_start NAME is over, and its two
# ends agree on the bytes, none of them corrupt.
stream_check() {
	local sent got
	wait_until 10 gone "$STREAM_RECV_PID"
	stop "$STREAM_RECV_PID"
	sent=$(sed -n 's/^sent bytes=\([0-9]*\).*/\1/p' "$WORK/$1.send")
	got=$(sed -n 's/^received bytes=\([0-9]*\) corrupt=0 .*/\1/p' "$WORK/$1.recv")
	check "$1" "sent ${sent:-nothing}, received ${got:-nothing} uncorrupted" \
		same_count "$sent" "$got" || show "$WORK/$1.send" "$WORK/$1.recv"
}

same_count() { [ -n "$1" ] && [ "$1" -gt 0 ] && [ "$1" = "$2" ]; }

# probe_is WANT COMMAND ARGS...: nettool.py COMMAND ARGS in A prints WANT.
probe_is() {
	local want=$1
	shift
	in_ns "$NS_A" python3 "$NETTOOL" "$@" >"$WORK/probe.out" 2>&1
	[ "$(cat "$WORK/probe.out")" = "$want" ] || { show "$WORK/probe.out" && return 1; }
}

both_directions() {
	has_line "$1" '^Packet \[.*Direction=inbound ' && has_line "$1" '^Packet \[.*Direction=outbound '
}

pings_both() { pings "$NS_A" "$B4" 2 && pings "$NS_A" "$B6" 2; }

# passthru_case SIGNAL PORT: a 2 s TCP stream from A through passthru in B (2 threads,
# batches of 32) arrives intact after passing its queue; SIGNAL then ends it cleanly.
passthru_case() {
	local sig=$1 port=$2 name=passthru_${1,,} log=$WORK/passthru_$1.log
	stream_start "$name" "$NS_B" "$port" || { fail "$name" "receiver did not listen"; return; }
	sample_start "$NS_B" passthru "$log" "tcp.DstPort == $port or tcp.SrcPort == $port" 2 32 ||
		{ fail "$name" "did not start"; show "$log"; return; }
	in_ns "$NS_A" timeout -k 2 10 "$TCPSTREAM" send "$B4" "$port" --seconds 2 >"$WORK/$name.send" 2>&1
	stream_check "$name"
	check "$name.queued" "only $(queue_packets "$NS_B") packets passed its queue" \
		test "$(queue_packets "$NS_B")" -ge 100
	check "$name.exit" "SIG$sig did not end it with status 0" sample_stop "$NS_B" "$sig" ||
		show "$log"
	check "$name.table_gone" "its table outlived it" no_table "$NS_B"
}

test_netdump() {
	local log=$WORK/netdump.log
	sample_start "$NS_B" netdump "$log" "icmp or icmpv6.Type == 128 or icmpv6.Type == 129" ||
		{ fail netdump "did not start"; show "$log"; return; }
	check netdump.pings_pass "a ping was lost while netdump ran" pings_both
	check netdump.request4 "no IPv4 echo request printed" \
		wait_until 3 has_line "$log" "^ICMP \[Type=8 Code=0 "
	check netdump.reply4 "no IPv4 echo reply printed" has_line "$log" "^ICMP \[Type=0 Code=0 "
	check netdump.ipv4 "no IPv4 header from A to B printed" \
		has_line "$log" "^IPv4 \[Version=4 .* SrcAddr=${A4//./\\.} DstAddr=${B4//./\\.}\]"
	check netdump.request6 "no ICMPv6 echo request printed" \
		wait_until 3 has_line "$log" "^ICMPV6 \[Type=128 Code=0 "
	check netdump.ipv6 "no IPv6 header from B to A printed" \
		has_line "$log" "^IPv6 \[Version=6 .* SrcAddr=$B6 DstAddr=$A6\]"
	check netdump.directions "not both directions printed" both_directions "$log" || show "$log"
	sample_stop "$NS_B"
}

# netfilter_case VERSION: TCP and UDP to B's listening ports from A are answered
# by netfilter as if nothing listened.
netfilter_case() {
	local v=$1 b
	b=$(addr_of B "$v")
	check "netfilter.tcp_refused_v$v" "connect was not refused" probe_is refused tcp-connect "$b" 7001
	check "netfilter.udp_unreachable_v$v" "no port unreachable came back" \
		probe_is refused udp-probe "$b" 7002
}

test_netfilter() {
	local log=$WORK/netfilter.log
	spawn "$NS_B" "$WORK/nf_http.log" python3 -m http.server 7001
	wait_until 5 port_listening "$NS_B" 7001 || { fail netfilter "no TCP listener"; return; }
	udp_listen "$NS_B" "$WORK/nf_udp.log" 7002 || { fail netfilter "no UDP listener"; return; }
	check netfilter.connects_without "connect failed before netfilter ran" \
		probe_is connected tcp-connect "$B4" 7001
	sample_start "$NS_B" netfilter "$log" "inbound and (tcp.DstPort == 7001 or udp.DstPort == 7002)" ||
		{ fail netfilter "did not start"; show "$log"; return; }
	netfilter_case 4
	netfilter_case 6
	check netfilter.udp_dropped "the blocked datagrams reached the listener" \
		not has_line "$WORK/nf_udp.log" '^got probe'
	check netfilter.printed "no BLOCK line for the SYN" has_line "$log" \
		"^BLOCK ip.SrcAddr=${A4//./\\.} ip.DstAddr=${B4//./\\.} tcp.SrcPort=[0-9]+ tcp.DstPort=7001 tcp.Flags=\[SYN\]" ||
		show "$log"
	sample_stop "$NS_B"
	check netfilter.connects_after "connect failed after netfilter exited" \
		probe_is connected tcp-connect "$B4" 7001
}

not() { ! "$@"; }

# fetch_has SITE PATH TEXT: GET http://SITE/PATH from A (sent to B's address) has TEXT.
fetch_has() {
	in_ns "$NS_A" curl -s -m 5 -H "Host: $1" "http://$B4$2" >"$WORK/fetch.out" 2>&1
	grep -q "$3" "$WORK/fetch.out" || { show "$WORK/fetch.out" && return 1; }
}

test_webfilter() {
	local log=$WORK/webfilter.log page="the server's own page"
	mkdir -p "$WORK/www/private" && echo "$page" >"$WORK/www/page.txt" &&
		echo "$page" >"$WORK/www/private/page.txt"
	printf '# sites\nblocked.example\nsite.example/private  # one part of it\n' >"$WORK/blacklist"
	spawn "$NS_B" "$WORK/http.log" python3 -m http.server 80 --bind "$B4" --directory "$WORK/www"
	wait_until 5 port_listening "$NS_B" 80 || { fail webfilter "no HTTP server"; return; }
	sample_start "$NS_A" webfilter "$log" "$WORK/blacklist" ||
		{ fail webfilter "did not start"; show "$log"; return; }
	check webfilter.site_blocked "no block page" fetch_has blocked.example /page.txt BLOCKED
	check webfilter.subdomain_blocked "no block page" fetch_has www.blocked.example /page.txt BLOCKED
	check webfilter.path_blocked "no block page" fetch_has site.example /private/page.txt BLOCKED
	check webfilter.other_allowed "not the server's page" fetch_has site.example /page.txt "$page"
	check webfilter.printed "no BLOCKED! line" has_line "$log" '^URL blocked\.example/page\.txt: BLOCKED!$' ||
		show "$log"
	sample_stop "$NS_A"
	check webfilter.allowed_after "not the server's page after webfilter exited" \
		fetch_has blocked.example /page.txt "$page"
}

# proxy_ready: streamdump's proxy listens in A (it starts once the handle is open).
proxy_ready() { port_listening "$NS_A" 34010 && has_table "$NS_A"; }

test_streamdump() {
	local log=$WORK/streamdump.log port=5301
	stream_start streamdump "$NS_B" "$port" || { fail streamdump "receiver did not listen"; return; }
	spawn "$NS_A" "$log" "$WD/streamdump" "$port"
	SAMPLE_PID=$!
	wait_until 5 proxy_ready || { fail streamdump "did not start"; show "$log"; return; }
	in_ns "$NS_A" timeout -k 2 10 "$TCPSTREAM" send "$B4" "$port" --bytes 4000000 \
		>"$WORK/streamdump.send" 2>&1
	stream_check streamdump
	check streamdump.dumped "no chunk of the stream printed" has_line "$log" '^\[[0-9]{4,}\] ' ||
		show "$log"
	sample_stop "$NS_A"
}

# uninstall_refused: "windivertctl uninstall" fails and says why.
uninstall_refused() {
	in_ns "$NS_B" "$WD/windivertctl" uninstall >"$WORK/uninstall.log" 2>&1 && return 1
	has_line "$WORK/uninstall.log" '^error: uninstall: there is no WinDivert driver'
}

test_windivertctl() {
	local log=$WORK/windivertctl.log rc=0
	check windivertctl.uninstall_fails "uninstall did not fail with its reason" uninstall_refused ||
		show "$WORK/uninstall.log"
	sample_start "$NS_B" passthru "$WORK/ctl_passthru.log" "udp.DstPort == 9" ||
		{ fail windivertctl "passthru did not start"; return; }
	in_ns "$NS_B" "$WD/windivertctl" list >"$log" 2>&1 || rc=$?
	check windivertctl.list "no OPEN line for passthru (pid $SAMPLE_PID), status $rc" \
		has_line "$log" "^OPEN .* pid=$SAMPLE_PID .*layer=NETWORK .*priority=0 " || show "$log"
	in_ns "$NS_B" "$IPREDIR" status >"$WORK/status.log" 2>&1
	check windivertctl.status "ipredir status does not show the handle's layer, priority and filter" \
		has_line "$WORK/status.log" 'filter +windivert NETWORK priority=0 flags=0x0: udp.DstPort == 9' ||
		show "$WORK/status.log"
	sample_stop "$NS_B"
}

# last_drawing LOG: flowtrack's last table in LOG (tables are separated by blank lines).
last_drawing() { awk 'BEGIN { RS = "" } { last = $0 } END { print last }' "$1"; }

drawn() { last_drawing "$1" | grep -Eq -- "$2"; }
not_drawn() { ! drawn "$@"; }

test_flowtrack() {
	local log=$WORK/flowtrack.log port=5401
	local row="^[0-9]+ +tcpstream +TCP +${A4//./\\.}:[0-9]+ ----> ${B4//./\\.}:$port\$"
	stream_start flowtrack "$NS_B" "$port" || { fail flowtrack "receiver did not listen"; return; }
	spawn "$NS_A" "$log" "$WD/flowtrack" "tcp and remotePort == $port"
	SAMPLE_PID=$!
	wait_until 5 has_line "$log" '^PID +PROGRAM +PROT +FLOW' ||
		{ fail flowtrack "did not start"; show "$log"; return; }
	in_ns "$NS_A" timeout -k 2 10 "$TCPSTREAM" send "$B4" "$port" --seconds 3 \
		>"$WORK/flowtrack.send" 2>&1 &
	check flowtrack.shows_flow "no row for the stream while it ran" wait_until 3 drawn "$log" "$row" ||
		show "$log"
	wait $!
	stream_check flowtrack
	check flowtrack.flow_gone "the stream's row outlived it" wait_until 4 not_drawn "$log" "$row" ||
		show "$log"
	check flowtrack.exit "SIGTERM did not end it with status 0" stop "$SAMPLE_PID"
}

# connect_is WANT tcp|udp PORT: a connect from A to B's PORT says WANT; connect_says
# the same, quiet (for polling).
connect_is() { probe_is "$1" "$2-connect" "$B4" "$3"; }
connect_says() { [ "$(in_ns "$NS_A" python3 "$NETTOOL" "$2-connect" "$B4" "$3" 2>&1)" = "$1" ]; }

# sniffed_connect LOG PORT: a UDP connect from A to PORT is printed in LOG (it has started).
sniffed_connect() { connect_says connected udp "$2" && has_line "$1" '^CONNECT '; }

both_listening() { port_listening "$NS_B" "$1" && port_listening "$NS_B" "$2"; }

socketdump_start() {
	local log=$1
	shift
	spawn "$NS_A" "$log" "$WD/socketdump" "$@"
	SAMPLE_PID=$!
}

test_socketdump() {
	local log=$WORK/socketdump.log port=5501 blocked=5502
	local pid_re="pid=[0-9]+ program=python3 endpoint=[1-9][0-9]* parent=0 protocol=TCP"
	spawn "$NS_B" "$WORK/sd_http.log" python3 -m http.server "$port"
	spawn "$NS_B" "$WORK/sd_http2.log" python3 -m http.server "$blocked"
	wait_until 5 both_listening "$port" "$blocked" || { fail socketdump "no TCP listeners"; return; }
	socketdump_start "$log" "remotePort == $port"
	wait_until 5 sniffed_connect "$log" "$port" ||
		{ fail socketdump "did not start"; show "$log"; return; }
	check socketdump.connect "the TCP connect was not printed" connect_is connected tcp "$port"
	check socketdump.printed "no CONNECT line with its process and remote end" \
		wait_until 3 has_line "$log" "^CONNECT $pid_re .*remote=\[${B4//./\\.}\]:$port\$" ||
		show "$log"
	check socketdump.exit "SIGTERM did not end it with status 0" stop "$SAMPLE_PID"
	log=$WORK/socketdump_block.log
	socketdump_start "$log" --block "remotePort == $blocked"
	wait_until 5 connect_says blocked udp "$blocked" ||
		{ fail socketdump.block "did not start"; show "$log"; return; }
	check socketdump.blocks "a TCP connect to port $blocked was not refused" \
		connect_is blocked tcp "$blocked"
	check socketdump.others_pass "a TCP connect to port $port failed" \
		connect_is connected tcp "$port"
	check socketdump.block_printed "no CONNECT line for the refused connect" \
		wait_until 3 has_line "$log" "^CONNECT $pid_re .*remote=\[${B4//./\\.}\]:$blocked\$" ||
		show "$log"
	check socketdump.block_exit "SIGTERM did not end it with status 0" stop "$SAMPLE_PID"
	check socketdump.unblocked "a connect to port $blocked still failed after it exited" \
		connect_is connected tcp "$blocked"
}

passthru_case TERM 5101
passthru_case INT 5102
test_netdump
test_netfilter
test_webfilter
test_streamdump
test_windivertctl
test_flowtrack
test_socketdump
finish
