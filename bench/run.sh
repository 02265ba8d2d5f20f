#!/bin/bash
# bench/run.sh - the ipredir benchmark: every configuration side by side in one run
# (`sudo make bench`).
#
#   +------------------+  veth             +--------------------------------+
#   | ns A             |-------------------| ns B                           |
#   | iperf3 -c        |  10.77.60.0/24    | iperf3 -s (5201, 5202)         |
#   | udpseq send      |                   | udpseq recv (5300)             |
#   | pingpong client  |                   | pingpong server (5400)         |
#   | churn client     |                   | churn server (5500)            |
#   +------------------+                   | redirector under test (in+out) |
#                                          +--------------------------------+
# Topologies: veth  the veth pair unshaped (the physical limit of this machine)
#             tbf   both ends shaped to 1 Gbit/s with tbf, like the original NIC
# Workloads (veth: all; tbf: tcp and udp):
#   tcp   three TCP streams each way at once (two iperf3 clients, -P 3 and -P 3 -R);
#         throughput = sum of both directions, Gbit/s
#   tcp1  one TCP stream A to B (iperf3 -P 1), Gbit/s
#   udp   64-byte UDP datagrams from udpseq (sendmmsg, 4 flows) as fast as it can;
#         throughput = datagrams received by the sink / sender's wall time, packets/s
#   rr    UDP ping-pong (bench/pingpong.c): one 64-byte datagram and its echo at a
#         time; median and 99th percentile round trip, us
#   churn short TCP connections (bench/churn.c): 8 client threads each connect, send
#         64 bytes, read 64 bytes back and the server's close, one connection after
#         another, for BENCH_SECONDS; completed connections per second
#   bidir three TCP streams each way from one process (iperf3 --bidir -P 3), Gbit/s
#   ping  ICMP echo: BENCH_PING_COUNT pings 2 ms apart; median and 99th percentile
#         round trip, us
# Configurations (the redirector runs in ns B and sees packets in and out):
#   base     no redirection (the physical limit here)
#   naive    bench/naive.c: libnetfilter_queue, one recv and one verdict per packet,
#            fed by an iptables-nft NFQUEUE rule (--queue-bypass) in ns B
#   naive+   the same loop set up as the documentation advises (naive --tuned: 64 MiB
#            socket buffer, GSO, queue of 8192, fail-open, ENOBUFS counted)
#   full     ipredir passthru --quiet (full copy, one queue and thread per CPU, the
#            default: -q 2 on a 2-core machine; shown as "passthru")
#   proc     ipredir passthru --quiet --process (the same, naming the process of
#            every packet: a socket lookup per new flow; "passthru --process")
#   snap     ipredir passthru --quiet --snap 128 (headers only)
#   rewrite  ipredir passthru --quiet --rewrite (modify path)
#   monitor  ipredir dump --monitor -w /dev/null (observes copies, holds nothing)
#   monsnap  the same with --snap 128 (headers only)
#   monnflog, monsnapnflog  monitor and monsnap on the NFLOG engine
#            (IPREDIR_MONITOR_ENGINE=nflog), the fallback where BPF is refused
#   q1       ipredir passthru --quiet -q 1 (one queue, one thread)
#   stay     ipredir passthru --quiet --no-follow-cpu (one queue per thread, threads
#            where the scheduler puts them; the default moves a thread to the CPU
#            its sparse packets come from)
#   nopace   ipredir passthru --quiet --busy-poll 0 --coalesce 0 (no pacing: every
#            receive sleeps at once; the default adapts both to the traffic)
#   poll     ipredir passthru --quiet --busy-poll 50 (spin before sleeping: latency)
#   coalesce ipredir passthru --quiet --coalesce 100 (fuller batches: small packets)
#   wdpass   examples/windivert/passthru "true" CPUS 64: WinDivert's passthru sample over
#            libwindivert, a thread per CPU as passthru has, batches of 64: what the
#            compatible API costs
#   wdpass1  the same with one thread
#   pydpass  bench/pydivert_passthru.py: `for packet in w: w.send(packet)` through the
#            pydivert package (python/pydivert over libwindivert), one thread
#   CONFIG@cmp  any ipredir configuration run with the build named by BENCH_COMPARE
#            (e.g. BENCH_COMPARE=/tmp/old/build BENCH_CONFIGS="base full full@cmp"): the
#            same redirector before and after a change, side by side in one run
# For the udp workload the queueing redirectors drop on overflow (--fail-closed for
# ipredir and naive+; naive has no fail-open), so every counted datagram was redirected.
# Per cell: median over the runs of the throughput (or round trip), its ratio to base,
# the CPU of the whole machine from /proc/stat during the measurement (100 % = all
# cores busy), CPU per Gbit/s (tcp) or per 100 kpps (udp), and the packets the
# redirector reported (and the copies a monitor lost). Each run measures every configuration in turn, so drift hits
# all alike. After the table, a targets block: each goal of the benchmark with its
# measured value and met/missed.
#
# Environment: BENCH_TOPOLOGIES (default "veth tbf"), BENCH_WORKLOADS (default
# "tcp bidir tcp1 udp rr ping churn"), BENCH_CONFIGS (subset, in order), BENCH_RUNS (default 5),
# BENCH_COMPARE (another build directory for the CONFIG@cmp configurations),
# BENCH_SECONDS (TCP and churn seconds per run, default 3), BENCH_UDP_COUNT (datagrams per flow,
# default 150000), BENCH_RR_COUNT (round trips per run, default 10000), BENCH_PING_COUNT
# (pings per run, default 600), BENCH_RESULTS
# (where the CSV files and the chart go, default bench/results).
# BENCH_SMOKE=1: every cell once with little traffic (8 MB of TCP, 20000 datagrams
# per flow, 200 round trips, 50 pings, 300 short connections); prints PASS:/FAIL: lines bench.smoke.TOPOLOGY.WORKLOAD.
# CONFIG and bench.smoke.report, and asserts nothing about speed.
# Output: the table and targets on stdout; in BENCH_RESULTS bench-DATE.csv, latest.csv
# and latest.png (the ratios as a chart, with gnuplot).
# shellcheck disable=SC2317 # measure_WORKLOAD and report_complete are called indirectly
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@" # make runs it with sh

# shellcheck disable=SC2034 # SUITE is read by lib.sh
SUITE=bench
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/../tests/netns/lib.sh"

NAIVE=$BUILD/bench/naive
WDPASS=$BUILD/examples/windivert/passthru
PINGPONG=$BUILD/bench/pingpong
CHURN=$BUILD/bench/churn
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
NAIVE_QUEUE=7
UDP_PORT=5300
UDP_FLOWS=4
RR_PORT=5400
CHURN_PORT=5500
CHURN_THREADS=8

SMOKE=${BENCH_SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
	RUNS=1 TCP_LENGTH=(-n 8M) UDP_COUNT=${BENCH_UDP_COUNT:-20000} RR_COUNT=${BENCH_RR_COUNT:-200}
	CHURN_LENGTH=(--count 300) PING_COUNT=${BENCH_PING_COUNT:-50}
else
	RUNS=${BENCH_RUNS:-5} TCP_LENGTH=(-t "${BENCH_SECONDS:-3}")
	CHURN_LENGTH=(--seconds "${BENCH_SECONDS:-3}")
	UDP_COUNT=${BENCH_UDP_COUNT:-150000} RR_COUNT=${BENCH_RR_COUNT:-10000}
	PING_COUNT=${BENCH_PING_COUNT:-600}
fi
TOPOLOGIES=${BENCH_TOPOLOGIES:-veth tbf}
WORKLOADS=${BENCH_WORKLOADS:-tcp bidir tcp1 udp rr ping churn}
CONFIGS=${BENCH_CONFIGS:-base naive naive+ full proc snap rewrite monitor monsnap monnflog monsnapnflog q1 stay nopace poll coalesce wdpass pydpass}

die() {
	echo "bench: $*" >&2
	exit 1
}

# ---------------------------------------------------------------- CPU

# cpu_sample: "busy total" jiffies of the whole machine from /proc/stat.
cpu_sample() {
	# shellcheck disable=SC2016 # awk's own fields
	awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}

# cpu_percent BEFORE AFTER: busy share between two samples, in % of all cores.
cpu_percent() {
	# shellcheck disable=SC2086 # two words each
	set -- $1 $2
	awk -v b="$(($3 - $1))" -v t="$(($4 - $2))" 'BEGIN { printf "%.1f", t ? 100 * b / t : 0 }'
}

# ---------------------------------------------------------------- redirectors

# redirector_start CONFIG WORKLOAD: start CONFIG's redirector in ns B and wait until
# it is in place; REDIR_PID is its pid (empty for base).
redirector_start() {
	local config=$1 workload=$2 log=$WORK/redirector.log closed=()
	REDIR_PID=
	REDIR_BIN=$IPREDIR
	[ "$workload" = udp ] && closed=(--fail-closed)
	if [[ $config == *@cmp ]]; then
		REDIR_BIN=$BENCH_COMPARE/ipredir config=${config%@cmp}
	fi
	case "$config" in
	base) return 0 ;;
	naive) naive_start "$log" ;;
	naive+) naive_start "$log" --tuned "${closed[@]}" ;;
	full) ipredir_start "$log" passthru --quiet "${closed[@]}" ;;
	proc) ipredir_start "$log" passthru --quiet --process "${closed[@]}" ;;
	snap) ipredir_start "$log" passthru --quiet --snap 128 "${closed[@]}" ;;
	rewrite) ipredir_start "$log" passthru --quiet --rewrite "${closed[@]}" ;;
	monitor) ipredir_start "$log" dump --monitor -w /dev/null ;;
	monsnap) ipredir_start "$log" dump --monitor --snap 128 -w /dev/null ;;
	monnflog) nflog_monitor_start "$log" ;;
	monsnapnflog) nflog_monitor_start "$log" --snap 128 ;;
	q1) ipredir_start "$log" passthru --quiet -q 1 "${closed[@]}" ;;
	stay) ipredir_start "$log" passthru --quiet --no-follow-cpu "${closed[@]}" ;;
	nopace) ipredir_start "$log" passthru --quiet --busy-poll 0 --coalesce 0 "${closed[@]}" ;;
	poll) ipredir_start "$log" passthru --quiet --busy-poll 50 "${closed[@]}" ;;
	coalesce) ipredir_start "$log" passthru --quiet --coalesce 100 "${closed[@]}" ;;
	wdpass) REDIR_BIN=$WDPASS && ipredir_start "$log" true "$(nproc)" 64 ;;
	wdpass1) REDIR_BIN=$WDPASS && ipredir_start "$log" true 1 64 ;;
	pydpass)
		REDIR_BIN=$(command -v env)
		ipredir_start "$log" PYTHONPATH="$ROOT/python" "$PY" "$ROOT/bench/pydivert_passthru.py"
		;;
	*) die "unknown configuration $config" ;;
	esac
}

ipredir_start() {
	local log=$1
	shift
	spawn "$NS_B" "$log" "$REDIR_BIN" "$@"
	REDIR_PID=$!
	wait_table "$NS_B"
}

# nflog_monitor_start LOG [OPTION...]: dump --monitor on the NFLOG engine.
nflog_monitor_start() {
	local log=$1
	shift
	REDIR_BIN=$(command -v env)
	ipredir_start "$log" IPREDIR_MONITOR_ENGINE=nflog "$IPREDIR" dump --monitor "$@" -w /dev/null
}

# naive_start LOG [OPTION...]: the reference redirector on its queue, then the rules
# feeding it.
naive_start() {
	local log=$1
	shift
	spawn "$NS_B" "$log" "$NAIVE" "$@" "$NAIVE_QUEUE"
	REDIR_PID=$!
	wait_until 5 has_line "$log" '^ready ' || return 1
	naive_rules -I
}

# naive_rules -I|-D: insert or delete the NFQUEUE rules (input and output) in ns B.
naive_rules() {
	local chain
	for chain in INPUT OUTPUT; do
		in_ns "$NS_B" iptables-nft -w "$1" "$chain" -j NFQUEUE \
			--queue-num "$NAIVE_QUEUE" --queue-bypass || return 1
	done
}

# redirector_stop CONFIG: stop the redirector; fails if it did not exit cleanly.
redirector_stop() {
	[ -n "$REDIR_PID" ] || return 0
	case "$1" in naive*) naive_rules -D ;; esac
	stop "$REDIR_PID"
}

# redirected_of LOG: the packet count in the redirector's final report.
redirected_of() {
	sed -En 's/^(passthru|dump): ([0-9]+) packets.*/\2/p; s/^packets=([0-9]+).*/\1/p' "$1" |
		tail -n 1
}

# lost_of LOG: the copies a monitor's final report says it lost (empty for others).
lost_of() { sed -En 's/^dump: .*, ([0-9]+) copies lost\)$/\1/p' "$1" | tail -n 1; }

# queued_ids: the packets the queues of ns B took (their last ids, summed), for a
# redirector that reports no count of its own; read before it stops.
queued_ids() {
	in_ns "$NS_B" cat /proc/net/netfilter/nfnetlink_queue | awk '{ n += $8 } END { print n + 0 }'
}

# ---------------------------------------------------------------- workloads

# servers_start: the iperf3, ping-pong and churn servers; the UDP sink starts per run.
servers_start() {
	spawn "$NS_B" "$WORK/iperf3-5201.log" iperf3 -s -p 5201
	spawn "$NS_B" "$WORK/iperf3-5202.log" iperf3 -s -p 5202
	spawn "$NS_B" "$WORK/pingpong.server" "$PINGPONG" server "$RR_PORT"
	spawn "$NS_B" "$WORK/churn.server" "$CHURN" server "$CHURN_PORT"
	wait_until 5 port_listening "$NS_B" 5201 && wait_until 5 port_listening "$NS_B" 5202 &&
		wait_until 5 has_line "$WORK/pingpong.server" '^listening' &&
		wait_until 5 has_line "$WORK/churn.server" '^listening'
}

# Each measure_WORKLOAD prints "VALUE,P99": the figure of one run (bit/s, packets/s,
# the median round trip in us or connections/s) and the 99th percentile round trip (rr only).

# iperf3_sum JSON...: the received bit/s of iperf3 runs, summed; an iperf3 error goes to stderr.
iperf3_sum() {
	"$PY" - "$@" <<'EOF'
import json, sys
total = 0.0
for path in sys.argv[1:]:
    try:
        doc = json.load(open(path))
        if "error" in doc:
            print("bench: iperf3: %s" % doc["error"], file=sys.stderr)
        for key in ("sum_received", "sum_received_bidir_reverse"):
            total += doc["end"].get(key, {}).get("bits_per_second", 0)
    except (ValueError, KeyError):
        pass
print("%.0f," % total)
EOF
}

# iperf3_run NAME PORT ARGS...: one iperf3 client from A to B, JSON in $WORK/NAME.json.
iperf3_run() {
	local name=$1 port=$2
	shift 2
	in_ns "$NS_A" iperf3 -c "$B4" -p "$port" "${TCP_LENGTH[@]}" -J "$@" >"$WORK/$name.json"
}

# measure_tcp: 3 streams each way at once.
measure_tcp() {
	iperf3_run ab 5201 -P 3 &
	iperf3_run ba 5202 -P 3 -R
	wait $!
	iperf3_sum "$WORK/ab.json" "$WORK/ba.json"
}

# measure_bidir: 3 streams each way from one iperf3 process.
measure_bidir() {
	iperf3_run bidir 5201 -P 3 --bidir
	iperf3_sum "$WORK/bidir.json"
}

# measure_tcp1: one stream A to B.
measure_tcp1() {
	iperf3_run one 5201 -P 1
	iperf3_sum "$WORK/one.json"
}

# measure_udp: UDP_COUNT datagrams on each of UDP_FLOWS flows; packets/s received.
measure_udp() {
	local log=$WORK/udpseq.recv sink t0 t1 received
	spawn "$NS_B" "$log" "$UDPSEQ" recv "$UDP_PORT" --flows "$UDP_FLOWS" --timeout 1
	sink=$!
	wait_until 5 has_line "$log" '^listening' || { echo 0,; return; }
	t0=$(date +%s%N)
	in_ns "$NS_A" "$UDPSEQ" send "$B4" "$UDP_PORT" --flows "$UDP_FLOWS" \
		--count "$UDP_COUNT" --size 64 >"$WORK/udpseq.send" 2>&1
	t1=$(date +%s%N)
	wait "$sink"
	received=$(sed -n 's/.*received=\([0-9]*\).*/\1/p' "$log")
	awk -v n="${received:-0}" -v ns="$((t1 - t0))" 'BEGIN { printf "%.0f,\n", ns ? n * 1e9 / ns : 0 }'
}

# measure_rr: RR_COUNT ping-pong round trips; median and p99 in us.
measure_rr() {
	local log=$WORK/pingpong.client
	in_ns "$NS_A" "$PINGPONG" client "$B4" "$RR_PORT" --count "$RR_COUNT" >"$log" 2>&1
	sed -n 's/.*median_us=\([0-9.]*\) p99_us=\([0-9.]*\).*/\1,\2/p' "$log" | grep . || echo 0,
}

# measure_ping: PING_COUNT ICMP echoes 2 ms apart; median and p99 in us.
measure_ping() {
	# shellcheck disable=SC2016 # awk's own fields
	in_ns "$NS_A" ping -n -c "$PING_COUNT" -i 0.002 "$B4" 2>/dev/null |
		sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' | sort -g | awk '
		{ t[NR] = $1 * 1000 }
		END {
			if (!NR) { print "0,"; exit }
			m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
			printf "%.1f,%.1f\n", m, t[int((NR * 99 + 99) / 100)]
		}'
}

# measure_churn: short connections from CHURN_THREADS threads; connections/s, or 0
# when any connection failed.
measure_churn() {
	local log=$WORK/churn.client
	in_ns "$NS_A" "$CHURN" client "$B4" "$CHURN_PORT" --threads "$CHURN_THREADS" \
		"${CHURN_LENGTH[@]}" >"$log" 2>&1 || { cat "$log" >&2; echo 0,; return; }
	sed -n 's/.*per_second=\([0-9]*\).*/\1,/p' "$log" | grep . || echo 0,
}

# ---------------------------------------------------------------- topologies

# shape RATE|none: tbf at RATE on both veth ends (egress), or no qdisc of ours.
shape() {
	local ns dev
	for ns in "$NS_A:$IF_A" "$NS_B:$IF_B"; do
		dev=${ns#*:} ns=${ns%%:*}
		tc -n "$ns" qdisc del dev "$dev" root 2>/dev/null
		[ "$1" = none ] || tc -n "$ns" qdisc add dev "$dev" root tbf rate "$1" \
			burst 256kb latency 20ms || return 1
	done
}

# workloads_of TOPOLOGY: the workloads measured on it (of those asked for).
workloads_of() {
	local w
	for w in $WORKLOADS; do
		[ "$1" = tbf ] && [ "$w" != tcp ] && [ "$w" != udp ] && continue
		echo "$w"
	done
}

# cell TOPOLOGY CONFIG WORKLOAD RUN: one measurement; appends a raw CSV row. Fails
# when the redirector did not start or not exit cleanly, when nothing got through, or
# when a redirector reported no packet.
cell() {
	local topology=$1 config=$2 workload=$3 run=$4 before after value redirected=0 lost='' ok=0
	redirector_start "$config" "$workload" || {
		show "$WORK/redirector.log"
		redirector_stop "$config"
		return 1
	}
	before=$(cpu_sample)
	value=$("measure_$workload")
	after=$(cpu_sample)
	if [ -n "$REDIR_PID" ]; then
		[[ $config == wdpass* || $config == pydpass ]] && redirected=$(queued_ids)
		redirector_stop "$config" || ok=1
		[[ $config == wdpass* || $config == pydpass ]] ||
			redirected=$(redirected_of "$WORK/redirector.log")
		lost=$(lost_of "$WORK/redirector.log")
		[ "${redirected:-0}" -gt 0 ] || ok=1
	fi
	echo "$topology,$workload,$config,$run,$value,$(cpu_percent "$before" "$after"),${redirected:-0},$lost" \
		>>"$WORK/raw.csv"
	[ "${value%%,*}" != 0 ] || ok=1
	[ "$ok" = 0 ] || show "$WORK/redirector.log"
	return "$ok"
}

# verdict NAME RUN STATUS: in smoke mode a PASS/FAIL line; else a note on failure,
# which makes the exit status 1 (the figures are still written).
verdict() {
	if [ "$SMOKE" = 1 ]; then
		if [ "$3" = 0 ]; then pass "smoke.$1"; else fail "smoke.$1" "see above"; fi
	elif [ "$3" != 0 ]; then
		echo "bench: $1 failed in run $2" >&2
		FAILED=1
	fi
}

# ---------------------------------------------------------------- report

# report CSV PNG: the table and targets on stdout, the cells in CSV, the chart in PNG
# (none without gnuplot).
report() {
	local desc
	desc="ipredir bench: two namespaces over veth (unshaped; tbf = shaped to 1 Gbit/s), "
	desc+="redirector in the server namespace; tcp: iperf3 ${TCP_LENGTH[*]} per run; "
	desc+="udp: 64-byte datagrams, $UDP_FLOWS flows x $UDP_COUNT; ping-pong: $RR_COUNT round trips; "
	desc+="churn: $CHURN_THREADS threads of 64-byte request/reply connections, ${CHURN_LENGTH[*]}"
	"$PY" "$ROOT/bench/report.py" "$WORK/raw.csv" "$1" "$WORK/chart.dat" "$CONFIGS" "$RUNS" \
		"$desc" || return 1
	if command -v gnuplot >/dev/null; then
		gnuplot -e "data='$WORK/chart.dat'; out='$2'; title='ipredir bench $(date -u +%F)'" \
			"$ROOT/bench/plot.gp"
	else
		echo "bench: gnuplot is missing, no chart (sudo make deps)" >&2
	fi
}

# report_complete CSV PNG: the CSV has a row per cell measured, the targets block is
# there and the chart was drawn.
report_complete() {
	local rows cells
	rows=$(($(wc -l <"$1") - 1))
	cells=$(cut -d, -f1-3 "$WORK/raw.csv" | sort -u | wc -l)
	[ "$rows" = "$cells" ] && has_line "$WORK/report.txt" '^targets' && [ -s "$2" ]
}

# ---------------------------------------------------------------- main

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces): sudo make bench"
for prog in "$IPREDIR" "$NAIVE" "$PINGPONG" "$CHURN" "$UDPSEQ"; do
	[ -x "$prog" ] || die "${prog#"$ROOT"/} is missing: run make first"
done
if [[ " $CONFIGS " == *@cmp\ * ]] && [ ! -x "${BENCH_COMPARE:-}/ipredir" ]; then
	die "configurations named CONFIG@cmp need BENCH_COMPARE=DIR with DIR/ipredir"
fi
command -v iperf3 >/dev/null || die "iperf3 is missing: sudo make deps"
command -v iptables-nft >/dev/null || die "iptables-nft is missing: sudo make deps"

topo_pair 60 || die "could not set up the namespaces"
servers_start || die "the iperf3 or ping-pong servers did not start"
: >"$WORK/raw.csv"
started=$(date +%s)

for topology in $TOPOLOGIES; do
	case "$topology" in
	veth) shape none ;;
	tbf) shape 1gbit ;;
	*) die "unknown topology $topology" ;;
	esac || die "could not shape the link for $topology"
	for run in $(seq "$RUNS"); do
		for config in $CONFIGS; do
			echo "$topology run $run of $RUNS: $config" >&2
			for workload in $(workloads_of "$topology"); do
				cell "$topology" "$config" "$workload" "$run"
				verdict "$topology.$workload.$config" "$run" $?
			done
		done
	done
done

mkdir -p "$RESULTS"
stamp=$(date -u +%Y%m%d-%H%M%S)
csv=$RESULTS/bench-$stamp.csv png=$RESULTS/latest.png
[ "$SMOKE" = 1 ] && csv=$WORK/smoke.csv png=$WORK/smoke.png
report "$csv" "$png" | tee "$WORK/report.txt"
if [ "$SMOKE" = 1 ]; then
	check smoke.report "table, CSV, targets or chart incomplete" report_complete "$csv" "$png"
else
	cp "$csv" "$RESULTS/latest.csv"
fi
echo "took $(($(date +%s) - started)) s; CSV: ${csv#"$ROOT"/}; chart: ${png#"$ROOT"/}" >&2
finish
