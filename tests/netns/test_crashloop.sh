#!/bin/bash
# A redirector killed again and again under load never breaks a connection:
# 3+3 TCP streams (A->B over IPv4, B->A over IPv6) run through `ipredir
# passthru` in B, which is SIGKILLed CRASH_KILLS times (default 20) and
# restarted each time. After every kill its table is gone by the time the
# process is reaped, and the streams' total rate is back to half the rate
# before the first kill within 1 s. Then the redirector is frozen with SIGSTOP
# for STOP_SECONDS and continued: traffic keeps moving while it is frozen (its
# watchdog process passes new packets; TCP retransmits what the frozen process
# holds) and recovers after SIGCONT. At the end
# every byte of every stream arrived intact (each byte checked, and counts).
#
#   +------+ veth-a                  veth-b +------+
#   |  A   |--------------------------------|  B   |
#   +------+ 10.77.73.1        10.77.73.2   +------+
#   3 x tcpstream send -> 10.77.73.2       3 x tcpstream recv
#   3 x tcpstream recv <- fd77:73::2       3 x tcpstream send, ipredir passthru <- kill -9 / -STOP
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=crashloop
. "$(dirname "$0")/lib.sh"
need_root_and crashloop "$IPREDIR" "$TCPSTREAM"
topo_pair 73 || { fail topology "could not build A-B"; finish; }
KILLS=${CRASH_KILLS:-20}
STOP_SECONDS=${STOP_SECONDS:-3}
PY=/usr/bin/python3
EVENTS=$WORK/events # "kill MS", "stop MS", "cont MS": wall-clock milliseconds

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# streams_start: three streams each way; SEND_PIDS and RECV_PIDS.
streams_start() {
	local i
	SEND_PIDS=() RECV_PIDS=()
	for i in 1 2 3; do
		spawn "$NS_B" "$WORK/ab$i.recv" "$TCPSTREAM" recv $((6000 + i))
		RECV_PIDS+=($!)
		spawn "$NS_A" "$WORK/ba$i.recv" "$TCPSTREAM" recv $((6100 + i))
		RECV_PIDS+=($!)
	done
	for i in 1 2 3; do
		wait_until 5 has_line "$WORK/ab$i.recv" '^listening' &&
			wait_until 5 has_line "$WORK/ba$i.recv" '^listening' || return 1
		spawn "$NS_A" "$WORK/ab$i.send" "$TCPSTREAM" send "$B4" $((6000 + i))
		SEND_PIDS+=($!)
		spawn "$NS_B" "$WORK/ba$i.send" "$TCPSTREAM" send "$A6" $((6100 + i))
		SEND_PIDS+=($!)
	done
}

# streams_check: stop the senders; each stream arrived whole and intact.
streams_check() {
	local pid s sent got
	for pid in "${SEND_PIDS[@]}"; do kill -INT "$pid"; done
	for pid in "${SEND_PIDS[@]}" "${RECV_PIDS[@]}"; do
		wait_until 30 gone "$pid" || fail streams "a stream did not end within 30 s"
	done
	for s in ab1 ab2 ab3 ba1 ba2 ba3; do
		sent=$(sed -n 's/^sent bytes=//p' "$WORK/$s.send")
		got=$(sed -n 's/^received bytes=\([0-9]*\) corrupt=0 .*/\1/p' "$WORK/$s.recv")
		check "stream_$s" "sent ${sent:-?} bytes, received ${got:-? or corrupt}" \
			test -n "$sent" -a "$sent" = "$got" || show "$WORK/$s.send" "$WORK/$s.recv"
		echo "# stream $s: ${got:-?} bytes intact"
	done
}

PT_PID=
passthru_start() {
	spawn "$NS_B" "$WORK/passthru.log" "$IPREDIR" passthru --quiet
	PT_PID=$!
	wait_table "$NS_B"
}

# kill_once K: SIGKILL the redirector; the first look at the tables after it
# is reaped must find its table gone.
kill_once() {
	local t0 t1 t2
	t0=$(now_ms)
	echo "kill $t0" >>"$EVENTS"
	kill -KILL "$PT_PID"
	wait "$PT_PID"
	t1=$(now_ms)
	check "kill$1.table_gone" "the table outlived the killed process" no_table "$NS_B"
	t2=$(now_ms)
	echo "$((t1 - t0)) $((t2 - t0))" >>"$WORK/gone_ms"
	passthru_start || fail "kill$1.restart" "passthru did not come back"
} 2>/dev/null

# queue_sum FILE COLUMN: a column of /proc/net/netfilter/nfnetlink_queue summed over queues.
queue_sum() { awk -v c="$2" '{ n += $c } END { print n + 0 }' "$1"; }

# held_now FILE: the packets B's queues hold now (saved in FILE), as a number.
held_now() {
	in_ns "$NS_B" cat /proc/net/netfilter/nfnetlink_queue >"$1"
	queue_sum "$1" 3
}

# freeze_holding: SIGSTOP the redirector at a moment it holds packets. Stopped
# while it waited for the next with none in hand, it holds none (the watchdog
# passes the rest): SIGCONT and try again; the fifth stop stays, holding or not.
freeze_holding() {
	local try at
	for try in 1 2 3 4 5; do
		at=$(now_ms)
		kill -STOP "$PT_PID"
		sleep 0.2
		if [ "$(held_now "$WORK/queue.frozen")" -gt 0 ] || [ "$try" = 5 ]; then
			break
		fi
		kill -CONT "$PT_PID"
		sleep 0.3
	done
	echo "stop $at" >>"$EVENTS"
	echo "# stopped for good at SIGSTOP number $try"
}

# frozen_phase: SIGSTOP the redirector, watch its queue, SIGCONT it. While it
# is frozen its queues hold the packets it had taken and drop none.
frozen_phase() {
	local held after
	freeze_holding
	sleep "$STOP_SECONDS"
	held=$(held_now "$WORK/queue.frozen")
	echo "cont $(now_ms)" >>"$EVENTS"
	kill -CONT "$PT_PID"
	sleep 2
	after=$(held_now "$WORK/queue.after")
	check frozen.holds "no packet held while frozen" test "$held" -gt 0
	check frozen.no_drops "the kernel dropped packets" \
		test "$(queue_sum "$WORK/queue.frozen" 6)" -eq 0 -a "$(queue_sum "$WORK/queue.frozen" 7)" -eq 0
	echo "# held while frozen: $held packets; 2 s after SIGCONT: $after"
}

# rates: per-event analysis of the 100 ms intervals of every receiver.
rates() {
	cat "$WORK"/*.recv | grep '^intervals' | "$PY" -c '
import sys, statistics
events = [(l.split()[0], int(l.split()[1])) for l in open(sys.argv[1])]
total = {}
for line in sys.stdin:
    f = dict(kv.split("=") for kv in line.split()[1:])
    start = int(float(f["start_ms"]))
    for i, b in enumerate(f["bytes"].split(",")):
        total[start + 100 * i] = total.get(start + 100 * i, 0) + int(b)
first = events[0][1]
warm = [b for t, b in total.items() if first - 1500 <= t < first - 100]
base = statistics.median(warm)
print("base %d" % base)
for i, (kind, t) in enumerate(events):
    after = sorted((s, b) for s, b in total.items() if s >= t)
    back = next((s + 100 - t for s, b in after if b >= base / 2), -1)
    until = events[i + 1][1] if i + 1 < len(events) else t + 1000
    later = sum(b for s, b in after if t + 1000 <= s and s + 100 <= until)
    print("%s %d %d %d" % (kind, t, back, later))
' "$EVENTS"
}

streams_start || { fail streams "receivers did not listen"; finish; }
passthru_start || { fail passthru "passthru did not install its table"; finish; }
sleep 2 # the redirected rate before the first kill
for k in $(seq "$KILLS"); do
	kill_once "$k"
	sleep 0.8
done
frozen_phase
streams_check
rates >"$WORK/rates"
base=$(sed -n 's/^base //p' "$WORK/rates")
echo "# redirected rate before the kills: $((base * 80 / 1000000)) Mbit/s (all six streams)"
# shellcheck disable=SC2016 # awk's own fields
echo "# ms from SIGKILL until reaped: $(awk '{ print $1 }' "$WORK/gone_ms" | sort -n | tr '\n' ' ')"
echo "# ms from SIGKILL until nft (itself slow on a loaded machine) showed no table:" \
	"$(awk '{ print $2 }' "$WORK/gone_ms" | sort -n | tr '\n' ' ')"
n=0
while read -r kind t back later; do
	case $kind in
	kill)
		n=$((n + 1))
		echo "# kill $n: back to half rate after $back ms"
		check "kill$n.recovered" "rate not back to half of $base bytes/100 ms within 1 s" \
			test "$back" -ge 0 -a "$back" -le 1000
		;;
	stop)
		echo "# frozen: $later bytes arrived from 1 s after SIGSTOP to SIGCONT"
		check frozen.moving "only $later bytes moved while frozen (rate $base bytes/100 ms)" \
			test "$later" -ge $((2 * base))
		;;
	cont)
		echo "# SIGCONT: back to half rate after $back ms"
		check "sigcont.recovered" "rate not back to half within 1 s of SIGCONT" \
			test "$back" -ge 0 -a "$back" -le 1000
		;;
	esac
done < <(grep -v '^base' "$WORK/rates")
finish
