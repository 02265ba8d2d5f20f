#!/bin/bash
# bench/run.sh - the ipredir benchmark: every configuration side by side in one run
# (`sudo make bench`). First version of the harness of issue 5.
#
#   +----------------+  veth             +--------------------------------+
#   | ns A           |-------------------| ns B                           |
#   | iperf3 -c (x2) |  10.77.60.0/24    | iperf3 -s (5201, 5202)         |
#   | udpseq send    |                   | udpseq recv (5300)             |
#   +----------------+                   | redirector under test (in+out) |
#                                        +--------------------------------+
# Topologies: veth  the veth pair unshaped (the physical limit of this machine)
#             tbf   both ends shaped to 1 Gbit/s with tbf, like the original NIC
#                   (tcp workload only)
# Workloads:
#   tcp  three TCP streams each way at once (two iperf3 clients, -P 3 and -P 3 -R),
#        throughput = sum of both directions, Gbit/s
#   udp  64-byte UDP datagrams from udpseq (sendmmsg, 4 flows) as fast as it can;
#        throughput = datagrams received by the sink / sender's wall time, packets/s
# Configurations (the redirector runs in ns B and sees packets in and out):
#   base     no redirection (the physical limit here)
#   naive    bench/naive.c: libnetfilter_queue, one recv and one verdict per packet,
#            fed by an iptables-nft NFQUEUE rule (--queue-bypass) in ns B
#   full     ipredir passthru --quiet (full copy)
#   snap     ipredir passthru --quiet --snap 128 (headers only)
#   rewrite  ipredir passthru --quiet --rewrite (modify path)
#   monitor  ipredir dump --monitor -w /dev/null (observes copies, holds nothing)
#   q2       ipredir passthru --quiet -q 2
# For the udp workload the queueing redirectors drop on overflow (ipredir
# --fail-closed; naive has no fail-open), so every counted datagram was redirected.
# Per cell: median throughput over the runs, ratio to base, CPU of the whole machine
# from /proc/stat during the measurement (100 % = all cores busy) and packets queued.
#
# Environment: BENCH_TOPOLOGIES (default "veth tbf"; smoke: veth), BENCH_RUNS (default 3), BENCH_SECONDS (TCP seconds per run, default 3),
# BENCH_UDP_COUNT (datagrams per flow, default 300000), BENCH_CONFIGS (subset, in
# order), BENCH_SMOKE=1 (every configuration once, ~1 s per workload; prints
# PASS:/FAIL: bench.smoke.CONFIG lines (bench.smoke.tbf.CONFIG with tbf) and asserts nothing about speed).
# Output: a markdown table on stdout; bench/results/bench-DATE.csv and latest.csv.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@" # make runs it with sh

# shellcheck disable=SC2034 # SUITE is read by lib.sh
SUITE=bench
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/../tests/netns/lib.sh"

NAIVE=$ROOT/build/bench/naive
UDPSEQ=$ROOT/build/tests/udpseq
RESULTS=$ROOT/bench/results
NAIVE_QUEUE=7
UDP_PORT=5300
UDP_FLOWS=4

SMOKE=${BENCH_SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
	RUNS=1 SECONDS_TCP=1 UDP_COUNT=${BENCH_UDP_COUNT:-100000}
	TOPOLOGIES=${BENCH_TOPOLOGIES:-veth}
else
	RUNS=${BENCH_RUNS:-3} SECONDS_TCP=${BENCH_SECONDS:-3} UDP_COUNT=${BENCH_UDP_COUNT:-300000}
	TOPOLOGIES=${BENCH_TOPOLOGIES:-veth tbf}
fi
CONFIGS=${BENCH_CONFIGS:-base naive full snap rewrite monitor q2}

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
# it sees packets; REDIR_PID is its pid (empty for base).
redirector_start() {
	local config=$1 workload=$2 log=$WORK/redirector.log closed=()
	REDIR_PID=
	[ "$workload" = udp ] && closed=(--fail-closed)
	case "$config" in
	base) return 0 ;;
	naive) naive_start "$log" ;;
	full) ipredir_start "$log" passthru --quiet "${closed[@]}" ;;
	snap) ipredir_start "$log" passthru --quiet --snap 128 "${closed[@]}" ;;
	rewrite) ipredir_start "$log" passthru --quiet --rewrite "${closed[@]}" ;;
	monitor) ipredir_start "$log" dump --monitor -w /dev/null ;;
	q2) ipredir_start "$log" passthru --quiet -q 2 "${closed[@]}" ;;
	*) die "unknown configuration $config" ;;
	esac
}

ipredir_start() {
	local log=$1
	shift
	spawn "$NS_B" "$log" "$IPREDIR" "$@"
	REDIR_PID=$!
	wait_table "$NS_B"
}

# naive_start LOG: the reference redirector on its queue, then the rules feeding it.
naive_start() {
	spawn "$NS_B" "$1" "$NAIVE" "$NAIVE_QUEUE"
	REDIR_PID=$!
	wait_until 5 has_line "$1" '^ready ' || return 1
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
	[ "$1" = naive ] && naive_rules -D
	stop "$REDIR_PID"
}

# ---------------------------------------------------------------- workloads

# servers_start: the iperf3 servers and nothing else; the UDP sink starts per run.
servers_start() {
	spawn "$NS_B" "$WORK/iperf3-5201.log" iperf3 -s -p 5201
	spawn "$NS_B" "$WORK/iperf3-5202.log" iperf3 -s -p 5202
	wait_until 5 port_listening "$NS_B" 5201 && wait_until 5 port_listening "$NS_B" 5202
}

# measure_tcp: 3 streams each way; prints the total in bit/s.
measure_tcp() {
	in_ns "$NS_A" iperf3 -c "$B4" -p 5201 -P 3 -t "$SECONDS_TCP" -J >"$WORK/ab.json" &
	in_ns "$NS_A" iperf3 -c "$B4" -p 5202 -P 3 -R -t "$SECONDS_TCP" -J >"$WORK/ba.json"
	wait $!
	python3 - "$WORK/ab.json" "$WORK/ba.json" <<'EOF'
import json, sys
total = 0.0
for path in sys.argv[1:]:
    try:
        total += json.load(open(path))["end"]["sum_received"]["bits_per_second"]
    except (ValueError, KeyError):
        pass
print("%.0f" % total)
EOF
}

# measure_udp: UDP_COUNT datagrams on each of UDP_FLOWS flows; prints packets/s received.
measure_udp() {
	local log=$WORK/udpseq.recv sink t0 t1 received
	spawn "$NS_B" "$log" "$UDPSEQ" recv "$UDP_PORT" --flows "$UDP_FLOWS" --timeout 1
	sink=$!
	wait_until 5 has_line "$log" '^listening' || { echo 0; return; }
	t0=$(date +%s%N)
	in_ns "$NS_A" "$UDPSEQ" send "$B4" "$UDP_PORT" --flows "$UDP_FLOWS" \
		--count "$UDP_COUNT" --size 64 >"$WORK/udpseq.send" 2>&1
	t1=$(date +%s%N)
	wait "$sink"
	received=$(sed -n 's/.*received=\([0-9]*\).*/\1/p' "$log")
	awk -v n="${received:-0}" -v ns="$((t1 - t0))" 'BEGIN { printf "%.0f\n", ns ? n * 1e9 / ns : 0 }'
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

# workloads_of TOPOLOGY: the workloads measured on it.
workloads_of() { if [ "$1" = tbf ]; then echo tcp; else echo tcp udp; fi; }

# cell TOPOLOGY CONFIG WORKLOAD RUN: one measurement; appends a raw CSV row. Fails when the
# redirector did not start, did not exit cleanly or nothing got through.
cell() {
	local topology=$1 config=$2 workload=$3 run=$4 before after value queued=0 ok=0
	redirector_start "$config" "$workload" || {
		show "$WORK/redirector.log"
		redirector_stop "$config"
		return 1
	}
	before=$(cpu_sample)
	value=$("measure_$workload")
	after=$(cpu_sample)
	[ -n "$REDIR_PID" ] && [ "$config" != monitor ] && queued=$(queue_packets "$NS_B")
	redirector_stop "$config" || ok=1
	echo "$topology,$workload,$config,$run,${value:-0},$(cpu_percent "$before" "$after"),$queued" >>"$WORK/raw.csv"
	[ "${value:-0}" != 0 ] || ok=1
	return "$ok"
}

# ---------------------------------------------------------------- report

# report CSV: medians per cell as a markdown table on stdout and as CSV in CSV.
report() {
	python3 - "$WORK/raw.csv" "$1" "$CONFIGS" "$RUNS" "$SECONDS_TCP" "$UDP_COUNT" "$UDP_FLOWS" <<'EOF'
import csv, statistics, sys
raw, out, configs, runs, secs, count, flows = sys.argv[1:]
configs = configs.split()
rows = {}
for t, w, c, r, value, cpu, queued in csv.reader(open(raw)):
    rows.setdefault((t, w, c), []).append((float(value), float(cpu), int(queued)))
topologies = list(dict.fromkeys(k[0] for k in rows))

def median(cell, i):
    return statistics.median(r[i] for r in rows[cell])

print("ipredir bench: two namespaces over veth (unshaped; tbf = shaped to 1 Gbit/s),")
print("redirector in the server namespace;")
print("tcp: 3+3 iperf3 streams, %s s per run; udp: 64-byte datagrams, %s flows x %s;" % (secs, flows, count))
print("medians of %s runs; CPU is the whole machine, %% of all cores" % runs)
print()
print("| link | workload | config | throughput | ratio to base | CPU % | CPU %/Gbit/s | queued/run |")
print("|---|---|---|---:|---:|---:|---:|---:|")
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["topology", "workload", "config", "runs", "throughput", "unit", "ratio", "cpu_pct",
                "cpu_pct_per_gbit", "queued"])
    for t, wl in [(t, wl) for t in topologies for wl in ("tcp", "udp")]:
        base = median((t, wl, "base"), 0) if (t, wl, "base") in rows else 0
        for c in configs:
            cell = (t, wl, c)
            if cell not in rows:
                continue
            v, cpu, q = median(cell, 0), median(cell, 1), median(cell, 2)
            ratio = v / base if base else float("nan")
            if wl == "tcp":
                shown, unit, scaled = "%.2f Gbit/s" % (v / 1e9), "Gbit/s", v / 1e9
                per = "%.1f" % (cpu / scaled) if scaled else "-"
            else:
                shown, unit, scaled, per = "%.0f kpps" % (v / 1e3), "packets/s", v, "-"
            print("| %s | %s | %s | %s | %.2f | %.0f | %s | %d |" % (t, wl, c, shown, ratio, cpu, per, q))
            w.writerow([t, wl, c, len(rows[cell]), "%.4g" % scaled, unit, "%.3f" % ratio,
                        "%.1f" % cpu, per, int(q)])
EOF
}

# ---------------------------------------------------------------- main

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces): sudo make bench"
for prog in "$IPREDIR" "$NAIVE" "$UDPSEQ"; do
	[ -x "$prog" ] || die "${prog#"$ROOT"/} is missing: run make first"
done
command -v iperf3 >/dev/null || die "iperf3 is missing: sudo make deps"
command -v iptables-nft >/dev/null || die "iptables-nft is missing: sudo make deps"

topo_pair 60 || die "could not set up the namespaces"
servers_start || die "iperf3 servers did not start"
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
			ok=1
			for workload in $(workloads_of "$topology"); do
				cell "$topology" "$config" "$workload" "$run" || ok=0
			done
			name=smoke.$config
			[ "$topology" = veth ] || name=smoke.$topology.$config
			if [ "$SMOKE" = 1 ]; then
				if [ "$ok" = 1 ]; then pass "$name"; else fail "$name" "see above"; fi
			elif [ "$ok" = 0 ]; then
				echo "bench: $topology $config failed in run $run" >&2
			fi
		done
	done
done

mkdir -p "$RESULTS"
csv=$RESULTS/bench-$(date -u +%Y%m%d-%H%M%S).csv
[ "$SMOKE" = 1 ] && csv=$WORK/smoke.csv
report "$csv"
[ "$SMOKE" = 1 ] || cp "$csv" "$RESULTS/latest.csv"
echo "took $(($(date +%s) - started)) s; CSV: ${csv#"$ROOT"/}" >&2
