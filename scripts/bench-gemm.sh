#!/usr/bin/env bash
# How close ccl's matrix products come to the machine's peak, with Eigen's kernel and with the
# optional CBLAS path (CCL_BLAS, OpenBLAS), on one thread and on all cores:
#
#   scripts/bench-gemm.sh [--threads "1 all"] [--out DIR]
#
# 1. builds bench_peak_fma, bench_multiclass_nce and bench_r2plus1d_step, the last two also as
#    *_cblas (Release, -march=native -mtune=generic, OpenMP) in build-bench-gemm/;
# 2. measures the peak FMA rate (bench_peak_fma: 256- and 512-bit FMAs in registers, the best of
#    the two is the peak);
# 3. runs fwd+bwd multi-class NCE and its GEMM roof (B = 1024, 4096, 16384; D = 512; tau = 0.1) and
#    four Conv3d layers of the R(2+1)D students (BM_conv3d) with each kernel;
# 4. prints GFLOP/s and the share of the peak at the same thread count, and writes everything to
#    DIR (default build-bench-gemm/results).
#
# The CBLAS runs use OPENBLAS_NUM_THREADS=1 (ccl's threads call the BLAS; it must not start its
# own). Measure on an idle machine (load average below 1.5). About 5 minutes on 2 cores.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
threads_list="1 all"
build="$root/build-bench-gemm"
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads_list="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench-gemm.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
cores="$(nproc)"
resolved=""
for t in $threads_list; do
  [[ $t == all ]] && t=$cores
  [[ " $resolved " == *" $t "* ]] || resolved="$resolved $t"
done
threads_list="${resolved# }"
out="${out:-$build/results}"
mkdir -p "$out"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCCL_BUILD_BENCHMARKS=ON -DCCL_BLAS=ON \
  -DCCL_BUILD_TESTS=OFF -DCCL_BUILD_EXAMPLES=OFF -DCCL_BUILD_TOOLS=OFF -DCCL_INSTALL=OFF \
  > "$out/cmake.log"
cmake --build "$build" -j2 --target bench_peak_fma bench_multiclass_nce bench_multiclass_nce_cblas \
  bench_r2plus1d_step bench_r2plus1d_step_cblas > "$out/build.log" 2>&1

{
  echo "== $(date -u '+%Y-%m-%d %H:%M UTC')"
  lscpu | grep -E '^(Model name|CPU\(s\))' || true
  # The flags list avx2 before avx512f: test for the wider one first.
  if grep -q -w avx512f /proc/cpuinfo; then echo "widest vector ISA: avx512f"
  elif grep -q -w avx2 /proc/cpuinfo; then echo "widest vector ISA: avx2"; fi
  echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/machine.txt"

bin="$build/bench"
nce_filter='BM_(ccl_multiclass_nce/B:(1024|4096|16384)/tau10:1|eigen_gemm_roof/B:(1024|4096|16384))/'
for t in $threads_list; do
  echo "== $t thread(s)" >&2
  CCL_THREADS=$t "$bin/bench_peak_fma" --benchmark_out="$out/peak-$t.json" \
    --benchmark_out_format=json --benchmark_filter="threads:(1|0)/" > /dev/null
  for kernel in eigen cblas; do
    suffix=""
    [[ $kernel == cblas ]] && suffix=_cblas
    OPENBLAS_NUM_THREADS=1 CCL_THREADS=$t "$bin/bench_multiclass_nce$suffix" \
      --benchmark_filter="$nce_filter" --benchmark_out="$out/nce-$kernel-$t.json" \
      --benchmark_out_format=json > /dev/null
    OPENBLAS_NUM_THREADS=1 CCL_THREADS=$t "$bin/bench_r2plus1d_step$suffix" \
      --benchmark_filter=BM_conv3d --benchmark_out="$out/conv-$kernel-$t.json" \
      --benchmark_out_format=json > /dev/null
  done
done
echo "load after the run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"

python3 - "$out" $threads_list <<'PY' | tee "$out/table.md"
import json, re, sys
out, threads = sys.argv[1], sys.argv[2:]

def rows(path):
    return json.load(open(path))["benchmarks"]

print("| threads | peak GFLOP/s | product | Eigen kernel GFLOP/s | share of peak "
      "| OpenBLAS GFLOP/s | share of peak |")
print("|---|---|---|---|---|---|---|")
for t in threads:
    # The peak at this thread count: the better of the two widths (median of the repetitions).
    want = "threads:1/" if t == "1" else "threads:0/"
    peak = max(r["GFLOP_per_s"] / 1e9 if r["GFLOP_per_s"] > 1e6 else r["GFLOP_per_s"]
               for r in rows(f"{out}/peak-{t}.json")
               if want in r["name"] and r.get("aggregate_name") == "median")
    def rate(r, key):
        v = r[key]
        return v / 1e9 if v > 1e6 else v  # rate counters are per second in the JSON
    table = {}
    for kernel in ("eigen", "cblas"):
        for r in rows(f"{out}/nce-{kernel}-{t}.json"):
            if r.get("aggregate_name") not in (None, "median"):
                continue
            m = re.match(r"BM_(ccl_multiclass_nce|eigen_gemm_roof)/B:(\d+)", r["name"])
            what = ("multi-class NCE fwd+bwd" if m.group(1) == "ccl_multiclass_nce"
                    else "its three GEMMs alone") + f", B = {m.group(2)}"
            table.setdefault(what, {})[kernel] = rate(r, "gemm_GFLOPs")
        for r in rows(f"{out}/conv-{kernel}-{t}.json"):
            m = re.match(r"BM_conv3d/cin:(\d+)/cout:(\d+)/kt:(\d+)/k:(\d+)/N:(\d+)/T:(\d+)/HW:(\d+)",
                         r["name"])
            cin, cout, kt, k, n, frames, hw = m.groups()
            what = (f"Conv3d {kt}x{k}x{k} {cin}->{cout} fwd+bwd on [{n}, {cin}, {frames}, {hw}, "
                    f"{hw}]")
            table.setdefault(what, {})[kernel] = rate(r, "GFLOP_per_s")
    for what, rates in table.items():
        e, c = rates.get("eigen", float("nan")), rates.get("cblas", float("nan"))
        print(f"| {t} | {peak:.0f} | {what} | {e:.1f} | {100 * e / peak:.0f} % | {c:.1f} "
              f"| {100 * c / peak:.0f} % |")
print("\nGFLOP/s of the products only (the losses: 3 x 2·B²·D per call; a convolution: 3 x "
      "2·Cout·Cin·k·P·N), wall time; medians of the repetitions.")
PY
