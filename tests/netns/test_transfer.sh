#!/bin/bash
# A TCP transfer through `ipredir passthru` arrives byte-identical (sha256 of
# both ends), IPv4 and IPv6, plain, with --rewrite and with --snap 128.
#
#   +------+ eth0   eth-a +------+ eth-b   eth0 +------+
#   |  A   |--------------|  R   |--------------|  B   |
#   +------+ 10.77.3.0/24 +------+ 10.77.4.0/24 +------+
#   sender   fd77:3::/64  forward  fd77:4::/64  receiver
#   passthru runs in B (in+out: data and ACKs) or in R (--forward).
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=transfer
. "$(dirname "$0")/lib.sh"
need_root_and transfer "$IPREDIR"
topo_routed 3 || { fail topology "could not build A-R-B"; finish; }
BYTES=20000000

# copy_range NS: the copy range of the first queue in NS.
# shellcheck disable=SC2016 # awk's own $5
copy_range() { in_ns "$1" awk 'NR == 1 { print $5 }' /proc/net/netfilter/nfnetlink_queue; }

# summary_of LOG KEY: a count from passthru's summary line ("..., modified 803, ...").
summary_of() { sed -n "s/^passthru: .* packets.*[:,] $2 \\([0-9]*\\).*/\\1/p" "$1"; }

# transfer_case NAME NS VERSION PASSTHRU_ARGS...: one transfer A -> B through passthru in NS.
transfer_case() {
	local name=$1 ns=$2 v=$3 log=$WORK/$1.passthru pid packets range status
	shift 3
	spawn "$ns" "$log" "$IPREDIR" passthru --quiet "$@"
	pid=$!
	wait_table "$ns" || { fail "$name" "passthru $* did not install its table"; show "$log"; stop "$pid"; return; }
	tcp_transfer "$name" "$NS_A" "$NS_B" "$(addr_of B "$v")" "$BYTES"
	packets=$(queue_packets "$ns") range=$(copy_range "$ns")
	stop "$pid"
	status=$?
	check "$name.queued" "only ${packets:-no} packets went through the queue" test "${packets:-0}" -ge 100
	check "$name.exit" "passthru exited with status $status" test "$status" = 0
	check "$name.table_gone" "the table outlived passthru" no_table "$ns"
	check_options "$name" "$log" "$range" " $* "
}

# check_options NAME LOG RANGE " ARGS ": --snap set the copy range, --rewrite modified packets.
check_options() {
	local name=$1 modified
	modified=$(summary_of "$2" modified)
	case $4 in
	*" --snap 128 "*) check "$name.snap" "copy range is ${3:-unknown}, not 128" test "$3" = 128 ;;
	esac
	case $4 in
	*" --rewrite "*) check "$name.modified" "summary says modified ${modified:-?}" test "${modified:-0}" -ge 100 ;;
	*) check "$name.unmodified" "summary says modified ${modified:-?}" test "${modified:-x}" = 0 ;;
	esac
}

for v in 4 6; do
	transfer_case "local_v$v" "$NS_B" "$v"
	transfer_case "local_rewrite_v$v" "$NS_B" "$v" --rewrite
	transfer_case "local_snap_v$v" "$NS_B" "$v" --snap 128
	transfer_case "forward_v$v" "$NS_R" "$v" --forward
	transfer_case "forward_rewrite_v$v" "$NS_R" "$v" --forward --rewrite
	transfer_case "forward_snap_v$v" "$NS_R" "$v" --forward --snap 128
done
finish
