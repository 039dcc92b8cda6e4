#!/usr/bin/env bash
# One fuzz harness's ctest smoke run:
#   smoke.sh FUZZER SECONDS SEED_DIR REGRESSION_DIR WORK_DIR
# Replays every seed and every regression input, then (SECONDS > 0) mutates them for SECONDS.
# New inputs go to WORK_DIR (emptied first); a failing input is written there as crash-*,
# leak-*, oom-* or timeout-* and the test fails, printing the sanitizer's report.
set -euo pipefail
fuzzer=$1 seconds=$2 seeds=$3 regressions=$4 work=$5
rm -rf "$work" && mkdir -p "$work/corpus"
dirs=("$work/corpus" "$seeds")
[ -d "$regressions" ] && dirs+=("$regressions")
# -malloc_limit_mb: one allocation above 512 MB is a finding (every reader bounds its sizes far
# below that); -timeout: an input taking 10 s is a hang.
common=(-rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -print_final_stats=1
        "-artifact_prefix=$work/")
if [ "$seconds" -gt 0 ]; then
  exec "$fuzzer" "${common[@]}" -max_total_time="$seconds" "${dirs[@]}"
fi
exec "$fuzzer" "${common[@]}" -runs=0 "${dirs[@]}"
