#!/usr/bin/env bash
# Data-parallel throughput on 1 vs 2 ranks, and the share of each step spent in communication:
#
#   scripts/bench-dist.sh [--steps N] [--batch B] [--dim D] [--out DIR]
#
# Builds examples/distributed (Release, needs MPI) in build-bench-dist/, then runs
# `mpirun -np 1` and `mpirun -np 2` with B samples per rank (default 256, D = 512, 50 steps), one
# ccl thread per rank, and prints rank 0's line of each (samples/s, communication %), also
# written to DIR (default build-bench-dist/results). Weak scaling: the global batch is R·B, so
# the loss over it costs R² more per step while each rank's encoder work stays the same.
# Measure on an idle machine (load average below 1.5).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
steps=50 batch=256 dim=512 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --dim) dim="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "bench-dist: unknown option $1" >&2; exit 2 ;;
  esac
done
build="$root/build-bench-dist"
out="${out:-$build/results}"
mkdir -p "$out"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCCL_BUILD_TESTS=OFF \
  -DCCL_BUILD_TOOLS=OFF -DCCL_TEST_PACKAGING=OFF >/dev/null
cmake --build "$build" --target distributed -j2 >/dev/null
[ -x "$build/examples/distributed/distributed" ] || { echo "bench-dist: needs MPI (libopenmpi-dev openmpi-bin)" >&2; exit 1; }

flags=(--oversubscribe)
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
for ranks in 1 2; do
  CCL_THREADS=1 OMP_NUM_THREADS=1 mpirun "${flags[@]}" -np "$ranks" \
    "$build/examples/distributed/distributed" "$steps" "$batch" "$dim" |
    tail -n 1 | tee "$out/ranks$ranks.txt"
done
