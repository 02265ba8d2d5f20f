#!/bin/bash
# The benchmark harness (bench/run.sh) in its seconds-long smoke mode: every
# configuration (baseline, naive reference, passthru full copy, --snap 128,
# --rewrite, monitor-only, -q 2) starts, carries TCP and UDP traffic between two
# private namespaces, and stops cleanly. No speed is asserted here: speed goals
# live in `make bench`, as ratios measured side by side in one run.
cd "$(dirname "$0")/../.." || exit 1
BENCH_SMOKE=1 exec bash bench/run.sh
