#!/bin/bash
# The rules beyond the queue rule, proven in the kernel with rules_probe in B,
# IPv4 and IPv6 (the probe prints the queue rules' counter on request):
# - inject mark: packets whose mark matches (ping -m, or set at B's prerouting)
#   skip the queue rule of chains out and in; others, also with other bits of
#   the mask set, are counted;
# - skip prefix: packets arriving on a device named PREFIX* skip chain in;
# - queues: with --queues 4 UDP flows that differ only in ports land in more
#   than one queue, and every packet of a flow, both directions, in one queue
#   (counted per queue by the kernel while the probe holds the queues bound);
# - bypass: once one packet of a flow carries the bypass bits in its packet mark
#   (a scratch-table rule stands in for the verdict), the rest of the flow, both
#   directions, skips the queue rule, new flows do not, and the packet mark of
#   later packets is clean again;
# - cgroup: only packets of sockets in a fresh cgroup v2 child are counted,
#   sent (chain out) and received (chain in);
# - monitor: the log rule counts and copies echo requests to an NFLOG group
#   while every ping is answered, also while the NFLOG reader is stopped.
#
#   +--------+ veth-a        veth-b +--------+
#   |   A    |----------------------|   B    |
#   +--------+ 10.77.35.1 10.77.35.2 +--------+
#   ping, UDP  fd77:35::1 fd77:35::2  rules_probe, table inet scratch,
#                                     UDP senders/receivers (some in the cgroup)
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=rules_ext
. "$(dirname "$0")/lib.sh"
need_root_and rules_ext "$RULES_PROBE"
topo_pair 35 || { fail topology "could not build A-B"; finish; }

INJECT=0x10000000
BYPASS=0x20000000
ECHO_REQUESTS="$(echo_filter 4 request) or $(echo_filter 6 request)"
CG= # the cgroup v2 directory made by cgroup_case, removed on exit

# ---------------------------------------------------------------- probe

# probe_start NAME ARGS...: rules_probe ARGS in B, held open through a fifo;
# returns once it installed (PROBE_LOG, PROBE_PID, PROBE_FD), 1 if it did not.
probe_start() {
	PROBE_LOG=$WORK/$1.probe
	shift
	mkfifo "$WORK/probe.in"
	ip netns exec "$NS_B" "$RULES_PROBE" --table ipredir_probe "$@" \
		<"$WORK/probe.in" >"$PROBE_LOG" 2>&1 &
	PROBE_PID=$!
	exec {PROBE_FD}>"$WORK/probe.in"
	wait_until 5 has_line "$PROBE_LOG" '^(installed|error)' && has_line "$PROBE_LOG" '^installed' &&
		return 0
	probe_stop
	return 1
}

# probe_stop: close rules_probe's stdin, reap it, return its exit status.
probe_stop() {
	exec {PROBE_FD}>&-
	rm -f "$WORK/probe.in"
	wait_until 5 gone "$PROBE_PID"
	stop "$PROBE_PID"
}

lines_above() { [ "$(count_lines "$1" "$2")" -gt "$3" ]; }

# matched: the probe's counter now (asks it with a line on its stdin).
matched() {
	local before
	before=$(count_lines "$PROBE_LOG" '^matched=')
	echo >&"$PROBE_FD"
	wait_until 5 lines_above "$PROBE_LOG" '^matched=' "$before" || return 1
	sed -n 's/^matched=//p' "$PROBE_LOG" | tail -n 1
}

# counted NAME WANT CMD...: CMD succeeds and the probe's counter grows by WANT.
counted() {
	local name=$1 want=$2 before after
	shift 2
	before=$(matched)
	if ! "$@"; then
		fail "$name" "$1 failed"
		return 1
	fi
	after=$(matched)
	check "$name" "counter grew by $((after - before)), expected $want" \
		test "$((after - before))" = "$want"
}

# ping_ok NS ADDR [PING OPTIONS...]: 3 echo requests 0.1 s apart, all answered
# (ping -m takes a decimal mark).
ping_ok() {
	local ns=$1 addr=$2 log=$WORK/last.ping
	shift 2
	in_ns "$ns" ping -n -c 3 -i 0.1 -W 1 "$@" "$addr" >"$log" 2>&1 && grep -q " 3 received" "$log"
}

# ---------------------------------------------------------------- traffic

# udp_send NS SPORT DEST DPORT COUNT [PAYLOAD]: COUNT datagrams from port SPORT (0 = any).
udp_send() {
	in_ns "$1" python3 -c '
import socket, sys
sport, host, dport, count, payload = sys.argv[1:6]
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", int(sport)))
for _ in range(int(count)):
    s.sendto(payload.encode(), (host, int(dport)))
' "$2" "$3" "$4" "$5" "${6:-data}"
}

# scratch NFT...: one nft command on table inet scratch in B (made on first use).
scratch() { in_ns "$NS_B" nft "$@"; }

scratch_reset() { scratch delete table inet scratch 2>/dev/null; }

# scratch_counter NAME: packets of the named counter of table inet scratch.
scratch_counter() {
	scratch list counter inet scratch "$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

# counter_reaches NAME N: the scratch counter NAME is at least N.
counter_reaches() { [ "$(scratch_counter "$1")" -ge "$2" ]; }

# seen_counter: scratch counter seen_in of every UDP packet B takes in, at
# priority 100 (after the probe's chains).
seen_counter() {
	scratch -f - <<-EOF
	table inet scratch {
		counter seen_in {}
		chain seen_in {
			type filter hook input priority 100;
			meta l4proto udp counter name "seen_in"
		}
	}
	EOF
}

# udp_in NS SPORT DEST DPORT COUNT [PAYLOAD]: udp_send, then wait until B took them in.
udp_in() {
	local want=$(($(scratch_counter seen_in) + $5))
	udp_send "$@"
	wait_until 5 counter_reaches seen_in "$want"
}

# ---------------------------------------------------------------- inject mark

inject_case() {
	local v addr
	scratch -f - <<-EOF
	table inet scratch {
		chain pre {
			type filter hook prerouting priority 0;
			ip length 100 icmp type echo-request meta mark set $INJECT
			ip6 length 80 icmpv6 type echo-request meta mark set $INJECT
		}
	}
	EOF
	probe_start inject --layers in,out --inject "$INJECT/0x30000000" --bpf "$ECHO_REQUESTS" ||
		{ fail inject "rules_probe did not install"; show "$PROBE_LOG"; return; }
	for v in 4 6; do
		addr=$(addr_of A "$v")
		counted "inject.out_marked_v$v" 0 ping_ok "$NS_B" "$addr" -m $((INJECT))
		counted "inject.out_other_bits_v$v" 3 ping_ok "$NS_B" "$addr" -m $((0x30000000))
		counted "inject.out_unmarked_v$v" 3 ping_ok "$NS_B" "$addr"
		addr=$(addr_of B "$v")
		counted "inject.in_marked_v$v" 0 ping_ok "$NS_A" "$addr" -s 72
		counted "inject.in_unmarked_v$v" 3 ping_ok "$NS_A" "$addr"
	done
	probe_stop
	scratch_reset
}

# ---------------------------------------------------------------- skip prefix

# prefix_case PREFIX WANT: pings arriving on veth-b, with --skip-prefix PREFIX.
prefix_case() {
	local name="prefix_$1" v
	probe_start "$name" --layers in --skip-prefix "$1" --bpf "$ECHO_REQUESTS" ||
		{ fail "$name" "rules_probe did not install"; show "$PROBE_LOG"; return; }
	for v in 4 6; do
		counted "$name.v$v" "$2" ping_ok "$NS_A" "$(addr_of B "$v")"
	done
	probe_stop
}

# ---------------------------------------------------------------- queues

# queue_ids: "Q:N ..." packets each bound queue of B has been given so far.
queue_ids() {
	# shellcheck disable=SC2016 # awk's own $1 and $8
	in_ns "$NS_B" awk '{ printf "%s:%s ", $1, $8 }' /proc/net/netfilter/nfnetlink_queue
}

queue_total() { queue_packets "$NS_B"; }

total_reaches() { [ "$(queue_total)" -ge "$1" ]; }

# queue_delta BEFORE AFTER: the queues whose count changed, as "Q+N ...".
queue_delta() {
	local a b out=""
	for a in $2; do
		for b in $1; do
			[ "${a%%:*}" = "${b%%:*}" ] && [ "${a#*:}" != "${b#*:}" ] &&
				out="$out ${a%%:*}+$((${a#*:} - ${b#*:}))"
		done
	done
	echo "${out# }"
}

# queue_flow N VERSION: flow N (A port 42000+N <-> B port 5300), 2 datagrams each way;
# passes when all 4 went to one queue, whose number is then in FLOW_QUEUE.
queue_flow() {
	local n=$1 v=$2 before after delta want
	before=$(queue_ids) want=$(($(queue_total) + 4))
	udp_send "$NS_A" $((42000 + n)) "$(addr_of B "$v")" 5300 2
	udp_send "$NS_B" 5300 "$(addr_of A "$v")" $((42000 + n)) 2
	wait_until 5 total_reaches "$want"
	after=$(queue_ids)
	delta=$(queue_delta "$before" "$after")
	if [[ $delta =~ ^[0-9]+\+4$ ]]; then
		FLOW_QUEUE=${delta%+*}
	else
		echo "flow $n (IPv$v): queues $delta, expected one queue +4" >&2
		return 1
	fi
}

# note_queue VERSION: add FLOW_QUEUE to the queues used by that IP version (USED4/USED6).
note_queue() {
	local var="USED$1"
	[[ " ${!var} " == *" $FLOW_QUEUE "* ]] || printf -v "$var" '%s' "${!var} $FLOW_QUEUE"
}

# spread_over VERSION: flows of that IP version used more than one queue, all in 20-23.
spread_over() {
	local var="USED$1" q n=0
	for q in ${!var}; do
		[[ $q =~ ^2[0-3]$ ]] || return 1
		n=$((n + 1))
	done
	[ "$n" -gt 1 ]
}

queues_case() {
	local n v bad=0 status
	USED4='' USED6=''
	probe_start queues --layers in,out --queue 20 --queues 4 --bind --bpf udp ||
		{ fail queues "rules_probe did not install"; show "$PROBE_LOG"; return; }
	if ! wait_until 5 has_line "$PROBE_LOG" '^(bound|error)' || ! has_line "$PROBE_LOG" '^bound'; then
		fail queues.bind "rules_probe did not bind queues 20-23"
		show "$PROBE_LOG"
		probe_stop
		return
	fi
	# Flows of one IP version differ only in A's port: spreading them needs the ports.
	for n in $(seq 1 24); do
		v=$((n % 2 ? 4 : 6))
		queue_flow "$n" "$v" 2>>"$WORK/queues.err" || { bad=$((bad + 1)); continue; }
		note_queue "$v"
	done
	check queues.one_queue_per_flow "$bad of 24 flows were split or lost" test "$bad" = 0 ||
		show "$WORK/queues.err"
	check queues.spread_v4 "IPv4 flows used queues$USED4, expected several of 20-23" spread_over 4
	check queues.spread_v6 "IPv6 flows used queues$USED6, expected several of 20-23" spread_over 6
	counted queues.counter 4 queue_flow 25 4
	probe_stop
	status=$?
	check queues.exit "rules_probe exit status $status" test "$status" = 0
}

# ---------------------------------------------------------------- bypass

# bypass_flows VERSION: one flow offloaded at its 4th packet, then new flows.
bypass_flows() {
	local v=$1 a b p=$((43000 + $1 * 10))
	a=$(addr_of A "$v") b=$(addr_of B "$v")
	counted "bypass.before_v$v" 3 udp_in "$NS_A" "$p" "$b" 5400 3
	counted "bypass.offload_packet_v$v" 1 udp_in "$NS_A" "$p" "$b" 5400 1 offload
	counted "bypass.after_v$v" 0 udp_in "$NS_A" "$p" "$b" 5400 3
	counted "bypass.after_reply_dir_v$v" 0 udp_send "$NS_B" 5400 "$a" "$p" 3
	counted "bypass.new_flow_v$v" 3 udp_in "$NS_A" $((p + 1)) "$b" 5400 3
	counted "bypass.new_flow_from_b_v$v" 3 udp_send "$NS_B" 5400 "$a" $((p + 2)) 3
}

bypass_case() {
	local v left
	seen_counter
	# Stands in for a verdict that offloads the flow: the packet saying "offload"
	# gets the bypass bits in its mark (before the probe's chain, priority 0).
	scratch -f - <<-EOF
	table inet scratch {
		counter mark_left {}
		counter ct_marked {}
		chain verdict {
			type filter hook input priority -1;
			udp dport 5400 @th,64,56 0x6f66666c6f6164 meta mark set meta mark or $BYPASS
		}
		chain check_in {
			type filter hook input priority 100;
			meta l4proto udp meta mark & $BYPASS == $BYPASS counter name "mark_left"
			meta l4proto udp ct mark & $BYPASS == $BYPASS counter name "ct_marked"
		}
	}
	EOF
	probe_start bypass --layers in,out --bypass "$BYPASS/$BYPASS" --bpf udp ||
		{ fail bypass "rules_probe did not install"; show "$PROBE_LOG"; return; }
	for v in 4 6; do
		bypass_flows "$v"
	done
	probe_stop
	left=$(scratch_counter mark_left)
	check bypass.packet_mark_cleared "$left packets still had the bypass bits after chain in_post" \
		test "$left" = 0
	check bypass.ct_marked "$(scratch_counter ct_marked) packets of offloaded flows seen, expected 8" \
		test "$(scratch_counter ct_marked)" = 8
	scratch_reset
}

# ---------------------------------------------------------------- cgroup

# in_cgroup LOG CMD...: run CMD in B as a member of cgroup $CG, in the background.
in_cgroup() {
	local log=$1
	shift
	(echo "$BASHPID" >"$CG/cgroup.procs" && exec ip netns exec "$NS_B" "$@") >"$log" 2>&1 </dev/null &
}

cgroup_remove() {
	local pid
	[ -n "$CG" ] && [ -d "$CG" ] || return 0
	while read -r pid; do kill "$pid" 2>/dev/null; done <"$CG/cgroup.procs"
	wait_until 3 test ! -s "$CG/cgroup.procs"
	rmdir "$CG"
}

# udp_from_cgroup DEST DPORT COUNT: a sender in the cgroup; waits for it.
udp_from_cgroup() {
	in_cgroup "$WORK/cgroup.send" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[3])):
    s.sendto(b"data", (sys.argv[1], int(sys.argv[2])))
' "$@"
	wait $!
}

# datagrams in|out: what the receiver in (5501) or out of (5502) the cgroup got.
datagrams() { count_lines "$WORK/cgroup.recv_$1" '^got '; }

both_got() { [ "$(datagrams in)" -ge "$1" ] && [ "$(datagrams out)" -ge "$1" ]; }

cgroup_case() {
	local root id v inside outside
	root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	[ -n "$root" ] || { skip cgroup "no cgroup v2 mount"; return; }
	CG="$root/ipr-rules_ext-$$"
	mkdir "$CG" || { fail cgroup "cannot create $CG"; CG=; return; }
	id=$(stat -c %i "$CG")
	seen_counter
	in_cgroup "$WORK/cgroup.recv_in" python3 "$NETTOOL" udp-recv 5501
	inside=$!
	spawn "$NS_B" "$WORK/cgroup.recv_out" python3 "$NETTOOL" udp-recv 5502
	outside=$!
	if ! wait_until 5 has_line "$WORK/cgroup.recv_in" '^listening' ||
		! wait_until 5 has_line "$WORK/cgroup.recv_out" '^listening'; then
		fail cgroup "UDP receivers did not start"
		return
	fi
	probe_start cgroup --layers in,out --cgroup-id "$id" --cgroup-level 1 --bpf udp ||
		{ fail cgroup "rules_probe did not install"; show "$PROBE_LOG"; return; }
	for v in 4 6; do
		counted "cgroup.out_member_v$v" 3 udp_from_cgroup "$(addr_of A "$v")" 5500 3
		counted "cgroup.out_other_v$v" 0 udp_send "$NS_B" 0 "$(addr_of A "$v")" 5500 3
		counted "cgroup.in_member_v$v" 3 udp_in "$NS_A" 0 "$(addr_of B "$v")" 5501 3
		counted "cgroup.in_other_v$v" 0 udp_in "$NS_A" 0 "$(addr_of B "$v")" 5502 3
	done
	probe_stop
	wait_until 5 both_got 6
	check cgroup.delivered "receivers got $(datagrams in) and $(datagrams out) of 6 datagrams" \
		both_got 6
	stop "$outside"
	stop "$inside"
	cgroup_remove
	scratch_reset
}

# ---------------------------------------------------------------- monitor

# A reader of one NFLOG group (argument): prints "listening", then "copy" per packet.
NFLOG_READER='
import socket, struct, sys
group = int(sys.argv[1])
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
def attr(kind, data):
    a = struct.pack("=HH", 4 + len(data), kind) + data
    return a + b"\0" * (-len(a) % 4)
body = struct.pack("=BBH", 0, 0, socket.htons(group))
body += attr(1, b"\1") + attr(2, struct.pack(">IBB", 0xffff, 2, 0))  # bind, copy packets
s.send(struct.pack("=IHHII", 16 + len(body), (4 << 8) | 1, 1 | 4, 1, 0) + body)
ack = s.recv(4096)
if struct.unpack_from("=i", ack, 16)[0]:
    sys.exit("cannot bind NFLOG group %d" % group)
print("listening", flush=True)
while True:
    buf = s.recv(1 << 16)
    while len(buf) >= 16:
        length, kind = struct.unpack_from("=IH", buf)
        if kind == 4 << 8:
            print("copy", flush=True)
        buf = buf[(length + 3) & ~3:]
'

copies() { count_lines "$WORK/monitor.nflog" '^copy'; }

copies_reach() { [ "$(copies)" -ge "$1" ]; }

monitor_case() {
	local v reader
	spawn "$NS_B" "$WORK/monitor.nflog" python3 -c "$NFLOG_READER" 7
	reader=$!
	wait_until 5 has_line "$WORK/monitor.nflog" '^listening' ||
		{ fail monitor "NFLOG reader did not start"; show "$WORK/monitor.nflog"; return; }
	probe_start monitor --layers in --monitor 7 --bpf "$ECHO_REQUESTS" ||
		{ fail monitor "rules_probe did not install"; show "$PROBE_LOG"; return; }
	for v in 4 6; do
		counted "monitor.answered_counted_v$v" 3 ping_ok "$NS_A" "$(addr_of B "$v")"
	done
	wait_until 5 copies_reach 6
	check monitor.copies "the NFLOG reader got $(copies) of 6 copies" copies_reach 6
	kill -STOP "$reader"
	for v in 4 6; do
		counted "monitor.reader_stopped_v$v" 3 ping_ok "$NS_A" "$(addr_of B "$v")"
	done
	kill -CONT "$reader"
	wait_until 5 copies_reach 12
	check monitor.copies_after_stop "the NFLOG reader got $(copies) of 12 copies" copies_reach 12
	probe_stop
	stop "$reader"
}

ext_cleanup() {
	local rc=$?
	cgroup_remove
	(exit "$rc")
	cleanup
}
trap ext_cleanup EXIT

inject_case
prefix_case veth 0
prefix_case veth-bx 3
queues_case
bypass_case
cgroup_case
monitor_case
finish
