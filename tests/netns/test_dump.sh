#!/bin/bash
# `ipredir dump`, IPv4 and IPv6: -w writes a LINUX_SLL2 pcap file that
# tcpdump reads with exactly -c packets, the right directions and interface,
# every packet whole with a right ICMP checksum; an unwritable file stops it
# at once; -w FILE.pcapng writes pcapng that tshark and capinfos read with the
# interface's name, directions, the layer, the process and socket owner as comment, the
# filter in the section header and the counts in the statistics; -w - streams
# pcap and pcapng into a pipe as packets come;
# the text mode prints one line per packet with the right addresses; --monitor
# does the same from copies, and SIGINT loses none of them; -j prints JSON lines
# and a JSON summary.
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
command -v tshark >/dev/null || { skip dump "tshark not installed (scripts/install-deps.sh)"; exit 0; }
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

# dump_finish NAME LOG [COUNT [SUMMARY]]: the dump stops by itself after -c COUNT
# (default PACKETS) packets, with status 0 and a summary line matching SUMMARY.
dump_finish() {
	local name=$1 log=$2 count=${3:-$PACKETS} rc
	local summary=${4:-"^dump: $count packets "}
	if ! wait_until 5 gone "$DUMP_PID"; then
		fail "$name.count_exit" "dump did not stop after -c $count"
		stop "$DUMP_PID"
		show "$log"
		return 1
	fi
	wait "$DUMP_PID"
	rc=$?
	check "$name.exit" "dump exited $rc" test "$rc" = 0 || show "$log"
	check "$name.summary" "no summary line" has_line "$log" "$summary"
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

# signal_case VERSION [--monitor]: without -c, SIGINT ends dump with status 0, a
# summary and a complete file; packets flow on after it. A monitor stopped right
# after pings 2 ms apart, before the wake-up of their batch, writes them all.
signal_case() {
	local v=$1 mode=${2:+monitor} name file log b n
	name="sigint${mode:+_$mode}_v$v" file=$WORK/sigint${mode:+_$mode}_v$v.pcap
	log=$WORK/$name.log b=$(addr_of B "$v")
	dump_start "$log" -w "$file" -f "$(echoes "$v")" ${2:+"$2"} ||
		{ fail "$name" "dump did not install its table"; show "$log"; return; }
	if [ -n "$mode" ]; then
		check "$name.ping" "pings past dump were not answered" \
			in_ns "$NS_A" ping -n -q -c "$PINGS" -i 0.002 -W 1 "$b"
	else
		check "$name.ping" "pings through dump were not answered" pings "$NS_A" "$b" "$PINGS"
	fi
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

# ng_fields FILE DISPLAY_FILTER FIELD...: tshark's FIELDs of the matching packets of
# FILE, comma-separated, one line each.
ng_fields() {
	local file=$1 filter=$2 f args=()
	shift 2
	for f; do args+=(-e "$f"); done
	tshark -r "$file" -Y "$filter" -T fields -E separator=, "${args[@]}" 2>/dev/null
}

# isb_counts FILE: "delivered=N dropped=N" of the first Interface Statistics Block.
isb_counts() {
	python3 - "$1" <<'PYEOF'
import struct, sys

raw = open(sys.argv[1], "rb").read()
pos = 0
while pos + 12 <= len(raw):
    kind, size = struct.unpack("=II", raw[pos:pos + 8])
    if kind == 5:
        opt, counts = pos + 20, {}
        while opt + 4 <= pos + size - 4:
            code, length = struct.unpack("=HH", raw[opt:opt + 4])
            if code == 0:
                break
            if code in (5, 8):
                counts[code] = struct.unpack("=Q", raw[opt + 4:opt + 12])[0]
            opt += 4 + (length + 3) // 4 * 4
        print("delivered=%s dropped=%s" % (counts.get(8), counts.get(5)))
        break
    pos += size
PYEOF
}

# pcapng_case VERSION: dump -w FILE.pcapng of pings to B and B's own UDP datagrams
# (two and the end one), read back by tshark and capinfos.
pcapng_case() {
	local v=$1 name="pcapng_v$1" file=$WORK/pcapng_v$1.pcapng info=$WORK/pcapng_v$1.info
	local a b filter count=$((PACKETS + 3)) owner
	a=$(addr_of A "$v") b=$(addr_of B "$v")
	filter="$(echoes "$v") or udp dst port 7002"
	dump_start "$WORK/$name.log" -w "$file" -c "$count" -f "$filter" ||
		{ fail "$name" "dump did not install its table"; show "$WORK/$name.log"; return; }
	check "$name.ping" "pings through dump were not answered" pings "$NS_A" "$b" "$PINGS"
	in_ns "$NS_B" python3 "$NETTOOL" udp-send "$a" 7002 datagram 2
	dump_finish "$name" "$WORK/$name.log" "$count" || return
	capinfos "$file" >"$info" 2>&1
	check "$name.format" "capinfos: not pcapng" has_line "$info" '^File type: +.*pcapng' || show "$info"
	check "$name.interface" "capinfos: not one interface named $IF_B" \
		test "$(count_lines "$info" "^ +Name = $IF_B\$")" = 1
	check "$name.filter" "capinfos: no comment with the filter" \
		has_line "$info" "^Capture comment: +host .*; filter ${filter//[/\\[}"
	check "$name.application" "capinfos: no ipredir application" \
		has_line "$info" "^Capture application: +ipredir $LIB_VERSION_RE\$"
	check "$name.in" "tshark: not $PINGS echo requests inbound on $IF_B, layer 1" \
		test "$(ng_fields "$file" 'icmp.type == 8 or icmpv6.type == 128' frame.interface_name \
			frame.packet_flags_direction frame.packet_flags_reserved |
			grep -c "^$IF_B,0x00000001,1\$")" = "$PINGS"
	check "$name.out" "tshark: not $PINGS echo replies outbound on $IF_B, layer 2" \
		test "$(ng_fields "$file" 'icmp.type == 0 or icmpv6.type == 129' frame.interface_name \
			frame.packet_flags_direction frame.packet_flags_reserved |
			grep -c "^$IF_B,0x00000002,2\$")" = "$PINGS"
	owner="process python3 pid [0-9]+; uid $(id -u) gid $(id -g)"
	check "$name.comment" "tshark: not 3 UDP datagrams outbound with comment \"$owner\"" \
		test "$(ng_fields "$file" 'udp.dstport == 7002' frame.packet_flags_direction \
			frame.comment | grep -Ec "^0x00000002,$owner\$")" = 3
	check "$name.statistics" "statistics: $(isb_counts "$file"), expected $count delivered, 0 dropped" \
		test "$(isb_counts "$file")" = "delivered=$count dropped=0"
}

# lines_are FILE REGEX N: FILE has N lines that match REGEX.
lines_are() { [ "$(count_lines "$1" "$2")" = "$3" ]; }

# pipe_case FORMAT: dump -w - --format FORMAT into tshark through a pipe; tshark shows
# every packet while dump runs on; SIGINT ends dump with status 0.
pipe_case() {
	local fmt=$1 name="pipe_$1" out=$WORK/pipe_$1.out log=$WORK/pipe_$1.log
	ip netns exec "$NS_B" "$IPREDIR" dump -w - --format "$fmt" -f "$(echoes 4)" 2>"$log" \
		</dev/null > >(tshark -l -r - -T fields -e frame.protocols >"$out" 2>&1) &
	DUMP_PID=$!
	wait_table "$NS_B" || { fail "$name" "dump did not install its table"; show "$log"; return; }
	check "$name.ping" "pings through dump were not answered" pings "$NS_A" "$B4" "$PINGS"
	check "$name.streamed" "tshark did not show $PACKETS packets while dump ran" \
		wait_until 5 lines_are "$out" icmp "$PACKETS" || show "$out"
	check "$name.exit" "dump did not exit 0 on SIGINT" stop "$DUMP_PID" INT || show "$log"
}

# json_case VERSION: dump -j prints one JSON object per packet and a JSON summary.
json_case() {
	local v=$1 name="json_v$1" log=$WORK/json_v$1.log a b
	a=$(addr_of A "$v") b=$(addr_of B "$v")
	dump_start "$log" -j -c "$PACKETS" -f "$(echoes "$v")" ||
		{ fail "$name" "dump did not install its table"; show "$log"; return; }
	check "$name.ping" "pings past dump were not answered" pings "$NS_A" "$b" "$PINGS"
	dump_finish "$name" "$log" "$PACKETS" "^\\{\"tool\": \"dump\", \"printed\": $PACKETS," || return
	check "$name.packets" "not $PINGS requests in and $PINGS replies out as JSON" \
		test "$(python3 -c '
import json, sys
want = {"in": (sys.argv[2], sys.argv[3], (8, 128)), "out": (sys.argv[3], sys.argv[2], (0, 129))}
seen = {"in": 0, "out": 0}
for line in open(sys.argv[1]):
    o = json.loads(line)
    if "tool" in o:
        continue
    src, dst, types = want[o["layer"]]
    ok = (o["interface"] == sys.argv[4] and o["ifindex"] > 0 and o["src"] == src and
          o["dst"] == dst and o["icmp_type"] in types and o["protocol"].startswith("icmp") and
          o["ip"] == int(sys.argv[5]) and o["len"] == o["caplen"] and o["time"] > 0)
    seen[o["layer"]] += ok
print(seen["in"], seen["out"])' "$log" "$a" "$b" "$IF_B" "$v")" = "$PINGS $PINGS" || show "$log"
}

full_case
pipe_case pcap
pipe_case pcapng
for v in 4 6; do
	pcapng_case "$v"
	json_case "$v"
	pcap_case "$v"
	signal_case "$v"
	signal_case "$v" --monitor
	text_case "$v"
	text_case "$v" --monitor
done
finish
