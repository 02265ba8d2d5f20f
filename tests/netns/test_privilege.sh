#!/bin/bash
# Least privilege. Without CAP_NET_ADMIN a redirector does not open: one line
# naming the capability, exit status 1. With --user NAME a redirector drops to
# NAME once set up (only CAP_NET_ADMIN stays, which every verdict needs) and
# keeps working: packets pass and are counted, and `block --reject` still
# injects resets, out through its raw socket and in through its tun device,
# both opened before the drop. An unknown user is refused before anything is
# installed (exit status 2).
#
#   +------+ veth-a              veth-b +------+
#   |  A   |----------------------------|  B   |  redirectors run in B
#   +------+ 10.77.43.1      10.77.43.2 +------+
#            fd77:43::1      fd77:43::2
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=privilege
. "$(dirname "$0")/lib.sh"
need_root_and privilege "$IPREDIR"
NOBODY_UID=$(id -u nobody 2>/dev/null) || { skip all "no user nobody"; finish; }
topo_pair 43 || { fail topology "could not build A-B"; finish; }

# unprivileged NAME CMD...: CMD exits 1 and says it needs CAP_NET_ADMIN.
unprivileged() {
	local name=$1 rc
	shift
	in_ns "$NS_B" "$@" >"$WORK/$name.log" 2>&1 </dev/null
	rc=$?
	check "$name.status" "exit status $rc, expected 1" test "$rc" = 1
	check "$name.message" "no line naming CAP_NET_ADMIN" has_line "$WORK/$name.log" '^ipredir [a-z]+: .*needs CAP_NET_ADMIN'
	check "$name.nothing_installed" "a table stayed" no_table "$NS_B"
}

AS_NOBODY=(setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_UID" --clear-groups)
unprivileged nobody_passthru "${AS_NOBODY[@]}" "$IPREDIR" passthru
unprivileged nobody_monitor "${AS_NOBODY[@]}" "$IPREDIR" dump --monitor
if command -v capsh >/dev/null; then
	unprivileged root_without_cap capsh --drop=cap_net_admin -- -c "exec '$IPREDIR' passthru"
else
	skip root_without_cap "capsh not installed"
fi

in_ns "$NS_B" "$IPREDIR" passthru --user no-such-user-here >"$WORK/unknown.log" 2>&1
rc=$?
check unknown_user.status "exit status $rc, expected 2" test "$rc" = 2
check unknown_user.message "no line naming the user" has_line "$WORK/unknown.log" 'no-such-user-here: no such user'
check unknown_user.nothing_installed "a table stayed" no_table "$NS_B"

# status_field PID FIELD: a line of /proc/PID/status without its label.
status_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s '[:space:]' ' '; }

# dropped NAME PID: PID runs as nobody (all four ids) with CAP_NET_ADMIN (bit 12) only.
dropped() {
	local uids gids caps
	uids=$(status_field "$2" Uid) gids=$(status_field "$2" Gid)
	caps="$(status_field "$2" CapEff)/$(status_field "$2" CapPrm)/$(status_field "$2" CapBnd)"
	check "$1.uid" "Uid: $uids" test "$uids" = "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID "
	check "$1.gid" "Gid: $gids" test "${gids%% *}" != 0
	check "$1.caps" "CapEff/CapPrm/CapBnd $caps" test "$caps" = "0000000000001000 /0000000000001000 /0000000000001000 "
}

# start_as_nobody NAME CMD...: run ipredir CMD --user nobody -v in B (PID), wait for the drop.
start_as_nobody() {
	local name=$1
	shift
	spawn "$NS_B" "$WORK/$name.log" "$IPREDIR" "$@" --user nobody -v
	PID=$!
	wait_until 5 has_line "$WORK/$name.log" "running as nobody \\(uid $NOBODY_UID" && wait_table "$NS_B"
}

# passthru: a TCP transfer each way through a redirector that dropped to nobody.
if start_as_nobody passthru passthru --in --out; then
	dropped passthru "$PID"
	tcp_transfer passthru.tcp4 "$NS_A" "$NS_B" "$B4" 300000
	tcp_transfer passthru.tcp6 "$NS_A" "$NS_B" "$B6" 300000
	stop "$PID" INT
	rc=$?
	packets=$(sed -n 's/^passthru: \([0-9]*\) packets.*verdict errors \([0-9]*\)$/\1 \2/p' "$WORK/passthru.log")
	check passthru.exit "exit status $rc" test "$rc" = 0
	check passthru.counted "summary: ${packets:-none}" test "${packets%% *}" -ge 20 -a "${packets##* }" = 0 2>/dev/null
	check passthru.table_removed "a table stayed" wait_until 5 no_table "$NS_B"
else
	fail passthru.start "did not drop to nobody"
	show "$WORK/passthru.log"
fi

PROBE=$WORK/probe.py
cat >"$PROBE" <<'EOF'
# probe.py HOST PORT: "refused" if a TCP connect is reset within 2 s, else what happened.
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
    print("connected")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print("error", e)
EOF

# refused NS HOST PORT: a connect from NS is refused (reset) at once.
refused() { [ "$(in_ns "$1" python3 "$PROBE" "$2" "$3" 2>&1)" = refused ]; }

# block --reject: resets for connects to B (injected out) and from B (injected in).
if start_as_nobody block block --reject -f 'tcp port 7777'; then
	dropped block "$PID"
	check block.reset_out4 "connect to B was not reset" refused "$NS_A" "$B4" 7777
	check block.reset_out6 "connect to B was not reset" refused "$NS_A" "$B6" 7777
	check block.reset_in4 "connect from B was not reset" refused "$NS_B" "$A4" 7777
	check block.reset_in6 "connect from B was not reset" refused "$NS_B" "$A6" 7777
	check block.still_nobody "uid changed" test "$(status_field "$PID" Uid)" = "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID "
	stop "$PID" INT
	rc=$?
	check block.exit "exit status $rc" test "$rc" = 0
	check block.resets_counted "summary: $(grep '^block:' "$WORK/block.log" | tail -n 1)" \
		has_line "$WORK/block.log" 'TCP resets [4-9][0-9]*, unreachables 0\), reply errors 0$'
	has_line "$WORK/block.log" 'cannot send a reply' && show "$WORK/block.log"
else
	fail block.start "did not drop to nobody"
	show "$WORK/block.log"
fi
finish
