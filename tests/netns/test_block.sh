#!/bin/bash
# `ipredir block` stops exactly the matching traffic, IPv4 and IPv6, and with
# --reject answers at once: a TCP connect is refused (reset) instead of timing
# out, a UDP socket gets ECONNREFUSED (port unreachable) and ping reports the
# destination unreachable. Rejects are tested for packets arriving at B
# (answer injected out), for packets A sends (answer injected in) and for
# packets R forwards (answer injected out, back toward A).
#
#   +------+ eth0    eth-a +------+ eth-b    eth0 +------+
#   |  A   |---------------|  R   |---------------|  B   |
#   +------+ 10.77.41.0/24 +------+ 10.77.42.0/24 +------+
#            fd77:41::/64  forward  fd77:42::/64
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=block
. "$(dirname "$0")/lib.sh"
need_root_and block "$IPREDIR"
topo_routed 41 || { fail topology "could not build A-R-B"; finish; }

PROBE=$WORK/probe.py
cat >"$PROBE" <<'EOF'
# probe.py tcp|udp HOST PORT: print "connected", "refused SECONDS", "reply" or "timeout".
import socket, sys, time
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
start = time.monotonic()
try:
    if kind == "tcp":
        socket.create_connection((host, port), timeout=3).close()
        print("connected")
    else:
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.settimeout(2)
        s.connect((host, port))
        s.send(b"probe")
        s.recv(100)
        print("reply")
except ConnectionRefusedError:
    print("refused %.3f" % (time.monotonic() - start))
except OSError:
    print("timeout")
EOF

# probe NS KIND HOST PORT: the probe's one line.
probe() { in_ns "$1" python3 "$PROBE" "$2" "$3" "$4" 2>&1; }

# refused_fast LINE: "refused S" with S below half a second.
refused_fast() { [[ $1 =~ ^refused\ 0\.[0-4] ]]; }

# block_start NS NAME ARGS...: run ipredir block ARGS in NS (BLOCK_PID, log $WORK/NAME.block).
block_start() {
	local ns=$1 name=$2
	shift 2
	spawn "$ns" "$WORK/$name.block" "$IPREDIR" block "$@"
	BLOCK_PID=$!
	wait_until 5 has_line "$WORK/$name.block" 'Ctrl-C' && wait_table "$ns"
}

# block_stop NAME: stop it; true if it exited 0 with its summary.
block_stop() {
	stop "$BLOCK_PID" && has_line "$WORK/$1.block" '^block: [0-9]+ packets dropped'
}

# drop_checks V: UDP to port 7000 is dropped; pings, UDP 7001 and TCP pass.
drop_checks() {
	local v=$1 b name=drop_v$1
	b=$(addr_of B "$v")
	udp_listen "$NS_B" "$WORK/$name.7000" 7000
	in_ns "$NS_A" python3 "$NETTOOL" udp-send "$b" 7000 blocked 3 0.05
	sleep 0.3
	stop "$UDP_RECV_PID"
	check "$name.udp_blocked" "a datagram to the blocked port arrived" test "$(count_lines "$WORK/$name.7000" '^got')" = 0
	udp_listen "$NS_B" "$WORK/$name.7001" 7001
	in_ns "$NS_A" python3 "$NETTOOL" udp-send "$b" 7001 open 3 0.05
	udp_finish
	check "$name.udp_other_port" "datagrams to another port were lost" test "$(count_lines "$WORK/$name.7001" '^got open')" = 3
	check "$name.ping" "pings were blocked" pings "$NS_A" "$b" 3
	tcp_transfer "$name.tcp" "$NS_A" "$NS_B" "$b" 200000
}

# drop_case: B drops 'udp port 7000' (3 datagrams and the end datagram per family).
drop_case() {
	local v
	block_start "$NS_B" drop -f 'udp port 7000' || { fail drop "block did not start"; show "$WORK/drop.block"; return; }
	for v in 4 6; do drop_checks "$v"; done
	check drop.summary "no clean exit with a summary" block_stop drop || show "$WORK/drop.block"
	check drop.counted "did not count 8 drops" has_line "$WORK/drop.block" '^block: 8 packets dropped'
}

# reject_checks V LAYER: a TCP connect, a UDP probe and a ping are answered at once.
reject_checks() {
	local v=$1 b name="reject_$2_v$1" line
	b=$(addr_of B "$v")
	line=$(probe "$NS_A" tcp "$b" 5201)
	check "$name.tcp_reset" "TCP connect: $line (expected refused in < 0.5 s)" refused_fast "$line"
	line=$(probe "$NS_A" udp "$b" 7000)
	check "$name.udp_unreachable" "UDP probe: $line (expected refused)" refused_fast "$line"
	in_ns "$NS_A" ping -n -c 1 -W 1 "$b" >"$WORK/$name.ping" 2>&1
	check "$name.ping_unreachable" "ping saw no unreachable" \
		has_line "$WORK/$name.ping" 'nreachable|rohibited|filtered' || show "$WORK/$name.ping"
}

# reject_case LAYER: B (layer in), A (layer out) or R (forward) rejects TCP 5201, UDP 7000 and
# pings while B listens on both ports, so every refusal comes from the tool.
reject_case() {
	local layer=$1 name="reject_$1" ns=$NS_B recv_pid v
	[ "$layer" = out ] && ns=$NS_A
	[ "$layer" = forward ] && ns=$NS_R
	spawn "$NS_B" "$WORK/$name.recv" python3 "$NETTOOL" tcp-recv 5201
	recv_pid=$!
	wait_until 5 has_line "$WORK/$name.recv" '^listening'
	udp_listen "$NS_B" "$WORK/$name.udp" 7000
	block_start "$ns" "$name" --reject "--$layer" -f "tcp port 5201 or udp port 7000 or \
$(echo_filter 4 request) or $(echo_filter 6 request)" ||
		{ fail "$name" "block did not start"; show "$WORK/$name.block"; return; }
	for v in 4 6; do reject_checks "$v" "$layer"; done
	check "$name.summary" "no clean exit with a summary" block_stop "$name" || show "$WORK/$name.block"
	check "$name.counted" "expected 2 resets and 4 unreachables" has_line "$WORK/$name.block" \
		'rejected 6 \(TCP resets 2, unreachables 4\), reply errors 0' || show "$WORK/$name.block"
	stop "$UDP_RECV_PID"
	stop "$recv_pid"
}

drop_case
reject_case in
reject_case out
reject_case forward
finish
