#!/bin/bash
# The benchmark harness (bench/run.sh) in its smoke mode, with little traffic per
# cell: on the unshaped veth and on the 1 Gbit/s tbf link, every workload of the
# bench (TCP 3+3 from two processes and from one --bidir, one TCP stream, 64-byte
# UDP, UDP ping-pong, ping, short TCP connections; tbf: TCP 3+3 and UDP) under every
# default configuration (baseline, the naive loops, passthru and its variants, the
# monitor on the BPF and NFLOG engines, the pacing overrides, windivert and pydivert
# passthru)
# starts, carries traffic through the redirector and stops cleanly; then the table,
# CSV, targets block and chart are complete. No speed is asserted here: speed goals
# live in `make bench`, as ratios measured side by side in one run.
cd "$(dirname "$0")/../.." || exit 1
BENCH_SMOKE=1 exec bash bench/run.sh
