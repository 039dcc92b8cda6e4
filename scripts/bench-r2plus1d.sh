#!/usr/bin/env bash
# One training step of the narrow R(2+1)D student (issue 3), ccl next to PyTorch CPU:
#
#   scripts/bench-r2plus1d.sh [--threads "1 2"] [--compiler g++] [--out DIR]
#
# 1. builds bench/bench_r2plus1d_step (Release, -march=native, OpenMP) in build-bench-r2plus1d/;
# 2. for each thread count: runs it (BM_narrow_step: forward + cross-entropy + backward + SGD on
#    [16, 1, 8, 32, 32] clips), then bench/peer_r2plus1d.py, the same network and step in
#    PyTorch, with OpenBLAS as libblas.so.3 and OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from
#    the peer's environment only;
#    with more than one thread, ccl runs a second time with Eigen's GEMMs on one thread
#    (CCL_GEMM_THREADS=1) and its row loops on all;
# 3. prints wall and CPU ms per step of both and the ratios (PyTorch / ccl: > 1 means ccl is
#    faster), and writes everything to DIR (default build-bench-r2plus1d/results).
#
# Both sides run with OMP_WAIT_POLICY=passive unless the caller sets it (see scripts/bench.sh).
# A few minutes on 2 cores. Needs cmake, libbenchmark-dev, python3 with torch and numpy (Debian:
# python3-torch python3-numpy) and an optimized BLAS (Debian: libopenblas0-pthread).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
threads_list="1 2"
cxx=g++
build="$root/build-bench-r2plus1d"
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads_list="$2"; shift ;;
    --compiler) cxx="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "bench-r2plus1d.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
out="${out:-$build/results}"
mkdir -p "$out"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
python="${PYTHON:-/usr/bin/python3}"

cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release \
  -DCCL_BUILD_BENCHMARKS=ON -DCCL_BUILD_TESTS=OFF -DCCL_BUILD_EXAMPLES=OFF -DCCL_INSTALL=OFF \
  > "$out/cmake.log"
cmake --build "$build" --target bench_r2plus1d_step -j2 > "$out/build.log" 2>&1

{
  echo "== $(date -u '+%Y-%m-%d %H:%M UTC')"
  lscpu | grep -E '^(Model name|CPU\(s\))' || true
  echo "compiler: $("$cxx" --version | head -1)"
  echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/machine.txt"

for t in $threads_list; do
  echo "== ccl, $t thread(s)" >&2
  CCL_THREADS=$t OMP_NUM_THREADS=$t "$build/bench/bench_r2plus1d_step" \
    --benchmark_filter=BM_narrow_step --benchmark_out="$out/ccl-$t.json" \
    --benchmark_out_format=json
  if [[ $t -gt 1 ]]; then
    # ccl's row loops on t threads but Eigen's GEMMs on one: Eigen's threaded GEMM busy-waits
    # at every k-block, which a loaded machine turns into seconds per step (docs/performance.md).
    echo "== ccl, $t thread(s), GEMMs on 1" >&2
    CCL_THREADS=$t CCL_GEMM_THREADS=1 OMP_NUM_THREADS=$t "$build/bench/bench_r2plus1d_step" \
      --benchmark_filter=BM_narrow_step --benchmark_out="$out/ccl-$t-gemm1.json" \
      --benchmark_out_format=json
  fi
  echo "== PyTorch, $t thread(s)" >&2
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u OPENBLAS_VERBOSE \
    OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t \
    "$python" "$root/bench/peer_r2plus1d.py" --threads "$t" --json "$out/peer-$t.json" > /dev/null
done
echo "load after the run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"

python3 - "$out" $threads_list <<'PY' | tee "$out/table.md"
import json, sys
out, threads = sys.argv[1], sys.argv[2:]
print("| threads | ccl ms/step (wall) | PyTorch ms/step (wall) | ratio | ccl CPU ms/step "
      "| PyTorch CPU ms/step | ratio (CPU) | ccl clips/s |")
print("|---|---|---|---|---|---|---|---|")
import os
rows = []
for t in threads:
    rows.append((t, t, f"{out}/ccl-{t}.json"))
    if os.path.exists(f"{out}/ccl-{t}-gemm1.json") and int(t) > 1:
        rows.append((f"{t} (ccl GEMMs on 1)", t, f"{out}/ccl-{t}-gemm1.json"))
for label, t, path in rows:
    c = json.load(open(path))["benchmarks"][0]
    p = json.load(open(f"{out}/peer-{t}.json"))
    cw, cc, pw, pc = c["ms_per_step_median"], c["cpu_ms_per_step_median"], p["ms_per_step_median"], \
        p["cpu_ms_per_step_median"]
    print(f"| {label} | {cw:.1f} | {pw:.1f} | {pw / cw:.2f} | {cc:.1f} | {pc:.1f} | {pc / cc:.2f} "
          f"| {16e3 / cw:.0f} |")
print(f"\nparameters: ccl {int(c['parameters'])} (encoder {int(c['encoder_parameters'])}), "
      f"PyTorch {p['parameters']} (encoder {p['encoder_parameters']}); "
      f"mkldnn available: {p['mkldnn_available']}; PyTorch BLAS: "
      f"{p['blas']['blas_libraries'][-1] if p['blas']['blas_libraries'] else 'none'} "
      f"(core {p['blas']['openblas_core']})")
print("ratio = PyTorch / ccl: above 1, ccl is faster. Medians over the timed steps.")
PY
