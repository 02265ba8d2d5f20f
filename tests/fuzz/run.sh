#!/bin/sh
# tests/fuzz/run.sh DIR SECONDS: run every harness DIR/fuzz_NAME, first over its
# committed seeds (tests/fuzz/corpus/NAME) alone, then fuzzing for SECONDS with
# a scratch corpus DIR/corpus/NAME that starts from the seeds. Prints
# PASS:/FAIL: fuzz.NAME.seeds and fuzz.NAME.run; exit status 1 if any failed.
cd "$(dirname "$0")/../.." || exit 1
dir=$1 seconds=${2:-60}
status=0

# result NAME LOG RC: one PASS or FAIL line, the end of LOG under a failure.
result() {
	if [ "$3" -eq 0 ]; then
		echo "PASS: fuzz.$1"
	else
		echo "FAIL: fuzz.$1 (exit status $3, log $2)"
		grep -E 'ERROR|SUMMARY|runtime error|Assertion|assert' "$2" | head -n 8 | sed 's/^/#   /'
		status=1
	fi
}

for bin in "$dir"/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	seeds=tests/fuzz/corpus/$name
	mkdir -p "$dir/corpus/$name"
	"$bin" -runs=0 "$seeds" >"$dir/$name.seeds.log" 2>&1
	result "$name.seeds" "$dir/$name.seeds.log" $?
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$dir/$name-" "$dir/corpus/$name" "$seeds" \
		>"$dir/$name.run.log" 2>&1
	result "$name.run" "$dir/$name.run.log" $?
done
exit $status
