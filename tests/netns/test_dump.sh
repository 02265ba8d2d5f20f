#!/bin/bash
# `ipredir dump`, IPv4 and IPv6: -w writes a LINUX_SLL2 pcap file that
# tcpdump reads with exactly -c packets, the right directions and interface,
# every packet whole with a right ICMP checksum; an unwritable file stops it
# at once;
# the text mode prints one line per packet with the right addresses; --monitor
# does the same from copies.
#
#   +------+ veth-a          veth-b +------+
#   |  A   |------------------------|  B   |
#   +------+ 10.77.41.1  10.77.41.2 +------+
#   ping     fd77:41::1  fd77:41::2  ipredir dump (in, out)
#   Three pings: B sees 3 echo requests in and sends 3 echo replies out.
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=dump
. "$(dirname "$0")/lib.sh"
need_root_and dump "$IPREDIR"
command -v tcpdump >/dev/null || { skip dump "tcpdump not installed"; exit 0; }
topo_pair 41 || { fail topology "could not build A-B"; finish; }

PINGS=3
PACKETS=$((2 * PINGS))

# echoes VERSION: pcap filter for echo requests and replies.
echoes() { echo "$(echo_filter "$1" request) or $(echo_filter "$1" reply)"; }

# dump_start LOG ARGS...: run `ipredir dump ARGS` in B until its table is there (DUMP_PID).
dump_start() {
	local log=$1
	shift
	spawn "$NS_B" "$log" "$IPREDIR" dump "$@"
	DUMP_PID=$!
	wait_table "$NS_B" && return 0
	stop "$DUMP_PID" KILL
	return 1
}

# dump_finish NAME LOG: the dump stops by itself after -c packets, with status 0.
dump_finish() {
	local name=$1 log=$2 rc
	if ! wait_until 5 gone "$DUMP_PID"; then
		fail "$name.count_exit" "dump did not stop after -c $PACKETS"
		stop "$DUMP_PID"
		show "$log"
		return 1
	fi
	wait "$DUMP_PID"
	rc=$?
	check "$name.exit" "dump exited $rc" test "$rc" = 0 || show "$log"
	check "$name.summary" "no summary line" has_line "$log" "^dump: $PACKETS packets "
	check "$name.table_gone" "the table outlived dump" no_table "$NS_B"
}

# intact_records FILE: how many records of a LINUX_SLL2 pcap file hold a whole echo
# request or reply whose ICMP/ICMPv6 checksum is right (every byte as sent).
intact_records() {
	python3 - "$1" <<'PYEOF'
import struct, sys

def csum(data):
    data += b"\0" * (len(data) & 1)
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s

raw = open(sys.argv[1], "rb").read()
pos, good = 24, 0
while pos + 16 <= len(raw):
    _, _, caplen, length = struct.unpack("=IIII", raw[pos:pos + 16])
    ip = raw[pos + 16 + 20:pos + 16 + caplen]
    pos += 16 + caplen
    if caplen != length or not ip:
        continue
    if ip[0] >> 4 == 4:
        ok = ip[9] == 1 and csum(ip[ip[0] % 16 * 4:]) == 0xffff
    else:
        pseudo = ip[8:40] + struct.pack("!I3xB", len(ip) - 40, 58)
        ok = ip[6] == 58 and csum(pseudo + ip[40:]) == 0xffff
    good += ok
print(good)
PYEOF
}

# pcap_case VERSION: dump -w FILE -c N, read back by tcpdump in B's namespace.
pcap_case() {
	local v=$1 name="pcap_v$1" file=$WORK/pcap_v$1.pcap read=$WORK/pcap_v$1.read a b
	a=$(addr_of A "$v") b=$(addr_of B "$v")
	dump_start "$WORK/$name.log" -w "$file" -c "$PACKETS" -f "$(echoes "$v")" ||
		{ fail "$name" "dump did not install its table"; show "$WORK/$name.log"; return; }
	check "$name.ping" "pings through dump were not answered" pings "$NS_A" "$b" "$PINGS"
	dump_finish "$name" "$WORK/$name.log" || return
	in_ns "$NS_B" tcpdump -n -r "$file" >"$read" 2>"$read.err"
	check "$name.readable" "tcpdump could not read the file" has_line "$read.err" 'LINUX_SLL2' ||
		show "$read.err"
	check "$name.count" "tcpdump read $(count_lines "$read" .) packets, expected $PACKETS" \
		test "$(count_lines "$read" .)" = "$PACKETS" || show "$read"
	check "$name.in" "not $PINGS echo requests marked In on $IF_B" \
		test "$(count_lines "$read" " $IF_B +In +IP6? ${a//./\\.} > ${b//./\\.}: ICMP6?,? echo request")" = "$PINGS" ||
		show "$read"
	check "$name.out" "not $PINGS echo replies marked Out on $IF_B" \
		test "$(count_lines "$read" " $IF_B +Out +IP6? ${b//./\\.} > ${a//./\\.}: ICMP6?,? echo reply")" = "$PINGS"
	check "$name.bytes" "$(intact_records "$file") of $PACKETS records whole with a right checksum" \
		test "$(intact_records "$file")" = "$PACKETS"
}

# text_case VERSION [--monitor]: one line per packet with direction, interface and addresses.
text_case() {
	local v=$1 mode=${2:+monitor} name log a b re_in re_out
	name="text${mode:+_$mode}_v$v" log=$WORK/text${mode:+_$mode}_v$v.log
	a=$(addr_of A "$v") b=$(addr_of B "$v")
	dump_start "$log" -c "$PACKETS" -f "$(echoes "$v")" ${2:+"$2"} ||
		{ fail "$name" "dump did not install its table"; show "$log"; return; }
	check "$name.ping" "pings past dump were not answered" pings "$NS_A" "$b" "$PINGS"
	dump_finish "$name" "$log" || return
	re_in="^[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6} in +$IF_B ${a//./\\.} > ${b//./\\.} icmp6? type (8|128) code 0 len [0-9]+$"
	re_out="^[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6} out +$IF_B ${b//./\\.} > ${a//./\\.} icmp6? type (0|129) code 0 len [0-9]+$"
	check "$name.in" "not $PINGS lines of echo requests in on $IF_B" \
		test "$(count_lines "$log" "$re_in")" = "$PINGS" || show "$log"
	check "$name.out" "not $PINGS lines of echo replies out on $IF_B" \
		test "$(count_lines "$log" "$re_out")" = "$PINGS" || show "$log"
}

# signal_case VERSION: without -c, SIGINT ends dump with status 0, a summary
# and a complete file; packets flow on after it.
signal_case() {
	local v=$1 name="sigint_v$1" file=$WORK/sigint_v$1.pcap log=$WORK/sigint_v$1.log b n
	b=$(addr_of B "$v")
	dump_start "$log" -w "$file" -f "$(echoes "$v")" ||
		{ fail "$name" "dump did not install its table"; show "$log"; return; }
	check "$name.ping" "pings through dump were not answered" pings "$NS_A" "$b" "$PINGS"
	check "$name.exit" "dump did not exit 0 on SIGINT" stop "$DUMP_PID" INT || show "$log"
	check "$name.summary" "no summary line" has_line "$log" "^dump: $PACKETS packets written to "
	n=$(in_ns "$NS_B" tcpdump -n -r "$file" 2>/dev/null | grep -c .)
	check "$name.flushed" "tcpdump read $n packets, expected $PACKETS" test "$n" = "$PACKETS"
	check "$name.flows_again" "no ping reply after dump exited" pings "$NS_A" "$b" 1
}

# full_case: a file that cannot be written stops dump at once with the reason, status 1
# and nothing installed.
full_case() {
	local log=$WORK/full.log rc
	in_ns "$NS_B" "$IPREDIR" dump -w /dev/full >"$log" 2>&1
	rc=$?
	check full.exit "dump -w /dev/full exited $rc, not 1" test "$rc" = 1
	check full.reason "no reason given" has_line "$log" "cannot write /dev/full"
	check full.no_table "a table was left behind" no_table "$NS_B"
}

full_case
for v in 4 6; do
	pcap_case "$v"
	signal_case "$v"
	text_case "$v"
	text_case "$v" --monitor
done
finish
