#!/bin/bash
# The benchmark harness (bench/run.sh) in its smoke mode, with little traffic per
# cell: on the unshaped veth and on the 1 Gbit/s tbf link, every workload (3+3 TCP
# streams, one TCP stream, 64-byte UDP, UDP ping-pong, short TCP connections; tbf:
# TCP 3+3 and UDP) under every configuration (baseline, naive and naive+ references,
# passthru full copy, passthru --process, --snap 128, --rewrite, monitor-only, -q 1)
# starts, carries traffic through the redirector and stops cleanly; then the table,
# CSV, targets block and chart are complete. No speed is asserted here: speed goals
# live in `make bench`, as ratios measured side by side in one run.
cd "$(dirname "$0")/../.." || exit 1
BENCH_SMOKE=1 exec bash bench/run.sh
