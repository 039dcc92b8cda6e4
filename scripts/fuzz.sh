#!/usr/bin/env bash
# Long fuzzing campaigns of the readers of untrusted bytes (tests/fuzz/):
#
#   scripts/fuzz.sh [SECONDS] [HARNESS ...]     default: 600 s each, every harness
#
# Builds the harnesses with the `asan` preset (clang, ASan + UBSan, build/asan), writes the seed
# corpus, then runs PARALLEL harnesses at a time (default 2), each for SECONDS, keeping what they
# find: the growing corpus in build/fuzz/corpus/<harness>/ (reused by the next campaign) and
# failing inputs in build/fuzz/findings/<harness>/ (crash-*, leak-*, oom-*, timeout-*). A finding
# that is a ccl bug becomes a unit test and a file in tests/fuzz/regressions/<harness>/ once
# fixed. Prints one line per harness: executions, corpus size, findings.
#
# Limits per input as in CI's smoke runs: one allocation over 512 MB, 2 GB resident or 10 s is a
# finding. fuzz_hdf5_video mostly finds bugs of libhdf5 itself (docs/data.md, "Trust model").
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
all=(npy idx gzip benchmark_cache checkpoint teacher_layout image hdf5_video)
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=("${all[@]}")
parallel=${PARALLEL:-2}

cmake --preset asan > /dev/null || exit 1
targets=(make_fuzz_seeds)
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
cmake --build build/asan --target "${targets[@]}" || exit 1
out=build/fuzz
mkdir -p "$out"
build/asan/tests/fuzz/make_fuzz_seeds "$out/seeds" tests/data || exit 1

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
run_one() {
  local h=$1
  mkdir -p "$out/corpus/$h" "$out/findings/$h"
  local dirs=("$out/corpus/$h" "$out/seeds/$h")
  [ -d "tests/fuzz/regressions/$h" ] && dirs+=("tests/fuzz/regressions/$h")
  # -fork: a finding (or a crash inside libhdf5) ends that child only; the campaign goes on for
  # the whole time and collects every distinct finding.
  "build/asan/tests/fuzz/fuzz_$h" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$out/findings/$h/" "${dirs[@]}" \
    > "$out/$h.log" 2>&1
  local execs corpus findings
  execs=$(grep -oE '#[0-9]+' "$out/$h.log" | tail -1 | tr -d '#')
  corpus=$(find "$out/corpus/$h" -type f | wc -l)
  findings=$(find "$out/findings/$h" -type f | wc -l)
  echo "fuzz_$h: ${execs:-?} executions in ${seconds} s, corpus ${corpus} inputs, ${findings} findings (log: $out/$h.log)"
}
running=0
for h in "${harnesses[@]}"; do
  run_one "$h" &
  running=$((running + 1))
  if [ "$running" -ge "$parallel" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait
