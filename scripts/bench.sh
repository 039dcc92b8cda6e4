#!/usr/bin/env bash
# The whole performance comparison of issue 5 in one command:
#
#   scripts/bench.sh [--quick] [--phase all|1|2] [--compilers "g++ clang++"] [--out DIR]
#
# 1. builds bench/bench_multiclass_nce with each compiler (Release, -march=native, OpenMP) in
#    build-bench-<compiler>/;
# 2. runs it with 2 threads: fwd+bwd multi-class NCE, B = 256 ... 65,536, D = 512, τ = 0.1 and
#    0.5, and Eigen's plain GEMM on the same shapes;
# 3. runs the PyTorch peers (bench/peer_torch.py) on identical inputs with 2 threads, OpenBLAS
#    as libblas.so.3 and OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from its environment, so
#    OpenBLAS picks the kernel for this CPU itself (the script records which one ran);
# 4. prints the ratio table (bench/ratio_table.py) and writes everything to DIR
#    (default build-bench/results).
#
# Both sides run with OMP_WAIT_POLICY=passive unless the caller sets it: on a machine shared with
# other work, OpenMP threads that spin at barriers burn the cores the other thread needs (measured
# here: 2 spinning threads slower than 1 under load); on an idle machine it costs microseconds.
#
# About 20 minutes on 2 cores, most of it B = 65,536; --quick stops at B = 4096 (a minute).
# --phase 1 runs B <= 16,384 and the peers, --phase 2 only B = 65,536 (both write into DIR, and
# each prints the table of everything DIR holds), for a machine where 20 quiet minutes are rare.
# Needs: cmake, libbenchmark-dev, g++/clang++, python3 with torch and numpy (Debian:
# python3-torch python3-numpy) and an optimized BLAS behind it (Debian: libopenblas0-pthread,
# which takes over the libblas.so.3 alternative).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
compilers="g++ clang++"
out="$root/build-bench/results"
quick=0
phase=all
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --phase) phase="$2"; shift ;;
    --compilers) compilers="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

bash "$root/scripts/setup-debian.sh" --bench
mkdir -p "$out"

threads=2
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
small='B:(256|1024|4096|16384)/'
[[ $quick == 1 ]] && small='B:(256|1024|4096)/'
batches=256,1024,4096,16384,65536  # the peer skips what cannot fit (and says so)
[[ $quick == 1 ]] && batches=256,1024,4096

# A Python that has torch: the Debian one, unless PYTHON says otherwise.
python="${PYTHON:-}"
if [[ -z $python ]]; then
  for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c 'import torch, numpy' 2>/dev/null; then python="$candidate"; break; fi
  done
fi

{
  echo "== phase $phase, $(date -u '+%Y-%m-%d %H:%M UTC')"
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|L2|L3)' || true
  echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "OMP_WAIT_POLICY=$OMP_WAIT_POLICY, $threads threads per side"
} | tee -a "$out/machine.txt"

# Phase 1: every B up to 16,384 for each compiler, then the peers, then the table. Phase 2 (not
# with --quick): B = 65,536, about a minute a call, last so that phase 1's table exists early.
run_ccl() {  # run_ccl <compiler> <filter> <json>
  local cxx="$1" name="${1//+/x}"
  local build="$root/build-bench-$name"
  cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release \
    -DCCL_BUILD_BENCHMARKS=ON -DCCL_BUILD_TESTS=OFF -DCCL_BUILD_EXAMPLES=OFF -DCCL_INSTALL=OFF \
    > "$out/cmake-$name.log"
  cmake --build "$build" --target bench_multiclass_nce -j2 > "$out/build-$name.log"
  echo "== ccl, $cxx ($("$cxx" --version | head -1)), $threads threads, $2" >&2
  CCL_THREADS=$threads "$build/bench/bench_multiclass_nce" --benchmark_filter="$2" \
    --benchmark_out="$3" --benchmark_out_format=json
}
table() {  # everything $out holds, this run's files or an earlier phase's
  local args=() peer=() seen=" "
  for cxx in g++ clang++ $compilers; do  # every compiler with results in $out
    [[ $seen == *" $cxx "* ]] && continue
    seen+="$cxx "
    local name="${cxx//+/x}"
    [[ -f "$out/ccl-$name.json" || -f "$out/ccl-$name-65536.json" ]] || continue
    args+=(--ccl "$cxx=$out/ccl-$name.json,$out/ccl-$name-65536.json")
  done
  [[ -f "$out/peer.json" ]] && peer=(--peer "$out/peer.json")
  python3 "$root/bench/ratio_table.py" "${args[@]}" "${peer[@]}" | tee "$out/table.md"
}

if [[ $phase != 2 ]]; then
  for cxx in $compilers; do run_ccl "$cxx" "$small" "$out/ccl-${cxx//+/x}.json"; done

  if [[ -n $python ]]; then
    echo "== PyTorch peers ($python), $threads threads" >&2
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u OPENBLAS_VERBOSE \
      OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads \
      "$python" "$root/bench/peer_torch.py" --batches "$batches" --threads $threads \
      --json "$out/peer.json"
  else
    echo "bench.sh: no python3 with torch and numpy found; the table has no peer columns" >&2
  fi
  table
fi

if [[ $quick == 0 && $phase != 1 ]]; then
  for cxx in $compilers; do run_ccl "$cxx" 'B:65536/' "$out/ccl-${cxx//+/x}-65536.json"; done
  table
fi
echo "load after the run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"
