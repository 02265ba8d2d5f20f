#!/bin/bash
# `ipredir rewrite`, IPv4 and IPv6: --ttl 7 on B's echo replies makes A's ping
# show ttl 7; --dscp 46 on A's echo requests is counted by an nft rule
# `dscp 46` at B; --dnat in A's own namespace (layer out for the client's
# packets, layer in for the server's replies) lets A reach B's server on port
# 8080 through a virtual address on port 80 with a byte-identical TCP transfer;
# --snat ADDR:40000 in A makes B see A's connection come from its second
# address and port 40000, and the transfer still completes.
#
#   +------+ veth-a          veth-b +------+
#   |  A   |------------------------|  B   |
#   +------+ 10.77.43.1  10.77.43.2 +------+
#            fd77:43::1  fd77:43::2
#   virtual (owned by nobody, on-link): 10.77.43.99, fd77:43::99
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=rewrite
. "$(dirname "$0")/lib.sh"
need_root_and rewrite "$IPREDIR"
topo_pair 43 || { fail topology "could not build A-B"; finish; }
V4=10.77.43.99 V6=fd77:43::99

# rewrite_start NS NAME ARGS...: run ipredir rewrite ARGS in NS (REWRITE_PID, log $WORK/NAME.rewrite).
rewrite_start() {
	local ns=$1 name=$2
	shift 2
	spawn "$ns" "$WORK/$name.rewrite" "$IPREDIR" rewrite "$@"
	REWRITE_PID=$!
	wait_until 5 has_line "$WORK/$name.rewrite" 'Ctrl-C' && wait_table "$ns"
}

# rewrite_stop NAME: stop it; true if it exited 0 with its summary.
rewrite_stop() {
	stop "$REWRITE_PID" && has_line "$WORK/$1.rewrite" '^rewrite: [0-9]+ packets'
}

# dscp_counter NAME: packets counted by B's nft counter NAME.
dscp_counter() { in_ns "$NS_B" nft list counter inet dscp "$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }

# ttl_dscp_case: B sets TTL 7 on its echo replies, A sets DSCP 46 on its requests.
ttl_dscp_case() {
	local v b ttl_pid
	in_ns "$NS_B" nft -f - <<-'EOF'
		table inet dscp {
			counter d4 {}
			counter d6 {}
			chain input {
				type filter hook input priority 0;
				ip dscp 46 counter name d4
				ip6 dscp 46 counter name d6
			}
		}
	EOF
	rewrite_start "$NS_B" ttl --out --ttl 7 -f "$(echo_filter 4 reply) or $(echo_filter 6 reply)" ||
		{ fail ttl "rewrite did not start"; show "$WORK/ttl.rewrite"; return; }
	ttl_pid=$REWRITE_PID
	rewrite_start "$NS_A" dscp --out --dscp 46 -f "$(echo_filter 4 request) or $(echo_filter 6 request)" ||
		{ fail dscp "rewrite did not start"; show "$WORK/dscp.rewrite"; stop "$ttl_pid"; return; }
	for v in 4 6; do
		b=$(addr_of B "$v")
		pings "$NS_A" "$b" 3 "$WORK/ttl_v$v.ping"
		check "ttl_v$v" "ping replies do not show ttl 7" \
			test "$(count_lines "$WORK/ttl_v$v.ping" '(ttl|hlim)=7 ')" = 3 || show "$WORK/ttl_v$v.ping"
		check "dscp_v$v" "B's nft rule counted $(dscp_counter "d$v") packets with DSCP 46, not 3" \
			test "$(dscp_counter "d$v")" = 3
	done
	check dscp.summary "no clean exit with a summary" rewrite_stop dscp || show "$WORK/dscp.rewrite"
	REWRITE_PID=$ttl_pid
	check ttl.summary "no clean exit with a summary" rewrite_stop ttl || show "$WORK/ttl.rewrite"
	check ttl.counted "did not count 6 rewritten replies" \
		has_line "$WORK/ttl.rewrite" '^rewrite: 6 packets .*rewritten 6 '
}

# dnat_case V: A connects to VIRTUAL:80, the rewrite makes it B:8080 and back.
dnat_case() {
	local v=$1 b virt name=dnat_v$1 server target sent got
	b=$(addr_of B "$v") virt=$(addr_of V "$v")
	target="$b:8080"
	[ "$v" = 6 ] && target="[$b]:8080"
	rewrite_start "$NS_A" "$name" --dnat "$target" -f "tcp dst port 80 and dst host $virt" ||
		{ fail "$name" "rewrite did not start"; show "$WORK/$name.rewrite"; return; }
	spawn "$NS_B" "$WORK/$name.recv" python3 "$NETTOOL" tcp-recv 8080
	server=$!
	wait_until 5 has_line "$WORK/$name.recv" '^listening'
	in_ns "$NS_A" timeout 20 python3 "$NETTOOL" tcp-send "$virt" 80 1000000 >"$WORK/$name.send" 2>&1
	wait_until 5 gone "$server"
	stop "$server"
	sent=$(sed -n 's/^sent //p' "$WORK/$name.send")
	got=$(sed -n 's/^received //p' "$WORK/$name.recv")
	check "$name.transfer" "sent ${sent:-nothing}, received ${got:-nothing}" \
		test -n "$sent" -a "$sent" = "$got" -a "${got%% *}" = bytes=1000000 ||
		show "$WORK/$name.send" "$WORK/$name.recv"
	check "$name.summary" "no clean exit with a summary" rewrite_stop "$name" || show "$WORK/$name.rewrite"
	check "$name.one_flow" "expected one flow translated both ways" \
		has_line "$WORK/$name.rewrite" 'translated [1-9][0-9]*, replies translated back [1-9][0-9]*\), unchanged 0; flows 1$' ||
		show "$WORK/$name.rewrite"
}

# snat_case V: A's packets to B:5201 leave from A's second address S:40000
# (counted by an nft rule at B); B's replies are translated back.
snat_case() {
	local v=$1 b s name=snat_v$1 target family=ip
	b=$(addr_of B "$v") s=10.77.43.50 target=10.77.43.50:40000
	[ "$v" = 6 ] && s=fd77:43::50 target="[fd77:43::50]:40000" family=ip6
	ip -n "$NS_A" addr add "$s" dev "$IF_A" nodad 2>/dev/null || ip -n "$NS_A" addr add "$s" dev "$IF_A"
	in_ns "$NS_B" nft add table inet "snat$v"
	in_ns "$NS_B" nft add counter inet "snat$v" seen
	in_ns "$NS_B" nft add chain inet "snat$v" input "{ type filter hook input priority 0; }"
	in_ns "$NS_B" nft add rule inet "snat$v" input "$family" saddr "$s" tcp sport 40000 counter name seen
	rewrite_start "$NS_A" "$name" --snat "$target" -f "tcp dst port 5201 and dst host $b" ||
		{ fail "$name" "rewrite did not start"; show "$WORK/$name.rewrite"; return; }
	tcp_transfer "$name.transfer" "$NS_A" "$NS_B" "$b" 300000
	check "$name.source" "B saw no packet from $target" \
		test "$(in_ns "$NS_B" nft list counter inet "snat$v" seen | sed -n 's/.*packets \([0-9]*\).*/\1/p')" -gt 10
	check "$name.summary" "no clean exit with a summary" rewrite_stop "$name" || show "$WORK/$name.rewrite"
	check "$name.one_flow" "expected one flow translated both ways" \
		has_line "$WORK/$name.rewrite" 'translated [1-9][0-9]*, replies translated back [1-9][0-9]*\), unchanged 0; flows 1$' ||
		show "$WORK/$name.rewrite"
}

ttl_dscp_case
for v in 4 6; do
	dnat_case "$v"
	snat_case "$v"
done
finish
