#!/usr/bin/env bash
# One training step of the R(2+1)D students on the CPU, ccl next to PyTorch in the same run:
#
#   scripts/bench-r2plus1d.sh [--threads "1 2"] [--students "narrow official"] [--compiler g++]
#                             [--out DIR]
#
# 1. builds bench/bench_r2plus1d_step (Release, -march=native, OpenMP) in build-bench-r2plus1d/;
# 2. for each student and thread count (default: 1, 2 and all cores; "all" is accepted): runs ccl
#    (BM_narrow_step: forward + cross-entropy + backward + SGD on [16, 1, 8, 32, 32] clips, Table
#    1's student; BM_official_step: the official-width student on [2, 3, 16, 112, 112]), then
#    bench/peer_r2plus1d.py, the same network and step in PyTorch (oneDNN convolutions), with
#    OpenBLAS as libblas.so.3 and OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from the peer's
#    environment only;
# 3. prints wall and CPU ms per step of both, the ratios (PyTorch / ccl: > 1 means ccl is faster)
#    and each side's speed-up over its own one-thread step, and writes everything to DIR
#    (default build-bench-r2plus1d/results).
#
# Both sides run with OpenMP's default waiting (spin briefly, then sleep) unless the caller sets
# OMP_WAIT_POLICY; measure on an idle machine (load average below 1.5): a thread that waits for a
# busy core makes its whole team wait. About 2 minutes for the narrow student on 2 cores, 3-5 more
# for the official one. Needs cmake, libbenchmark-dev, python3 with torch and numpy (Debian:
# python3-torch python3-numpy) and an optimized BLAS (Debian: libopenblas0-pthread).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cores="$(nproc)"
threads_list="1 2 all"
students="narrow official"
cxx=g++
build="$root/build-bench-r2plus1d"
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads_list="$2"; shift ;;
    --students) students="$2"; shift ;;
    --compiler) cxx="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "bench-r2plus1d.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
# "all" is the core count; a count that repeats another runs once.
resolved=""
for t in $threads_list; do
  [[ $t == all ]] && t=$cores
  [[ " $resolved " == *" $t "* ]] || resolved="$resolved $t"
done
threads_list="${resolved# }"
out="${out:-$build/results}"
mkdir -p "$out"
python="${PYTHON:-/usr/bin/python3}"

cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release \
  -DCCL_BUILD_BENCHMARKS=ON -DCCL_BUILD_TESTS=OFF -DCCL_BUILD_EXAMPLES=OFF -DCCL_INSTALL=OFF \
  > "$out/cmake.log"
cmake --build "$build" --target bench_r2plus1d_step -j2 > "$out/build.log" 2>&1

{
  echo "== $(date -u '+%Y-%m-%d %H:%M UTC')"
  lscpu | grep -E '^(Model name|CPU\(s\))' || true
  echo "compiler: $("$cxx" --version | head -1)"
  echo "OMP_WAIT_POLICY: ${OMP_WAIT_POLICY:-(OpenMP default)}"
  echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/machine.txt"

declare -A benchmark=([narrow]=BM_narrow_step [official]=BM_official_step)
declare -A batch=([narrow]=16 [official]=2)
declare -A steps=([narrow]=30 [official]=3)
for s in $students; do
  [[ -n "${benchmark[$s]:-}" ]] || { echo "bench-r2plus1d.sh: unknown student '$s'" >&2; exit 2; }
  for t in $threads_list; do
    echo "== $s student, ccl, $t thread(s)" >&2
    CCL_THREADS=$t OMP_NUM_THREADS=$t "$build/bench/bench_r2plus1d_step" \
      --benchmark_filter="${benchmark[$s]}" --benchmark_out="$out/ccl-$s-$t.json" \
      --benchmark_out_format=json
    echo "== $s student, PyTorch, $t thread(s)" >&2
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u OPENBLAS_VERBOSE \
      OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t \
      "$python" "$root/bench/peer_r2plus1d.py" --student "$s" --batch "${batch[$s]}" \
      --steps "${steps[$s]}" --warmup 1 --threads "$t" --json "$out/peer-$s-$t.json" > /dev/null
  done
done
echo "load after the run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"

python3 - "$out" "$students" $threads_list <<'PY' | tee "$out/table.md"
import json, sys
out, students, threads = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
print("| student, clips | threads | ccl ms/step (wall) | PyTorch ms/step (wall) | ratio "
      "| ccl speed-up over 1 thread | PyTorch speed-up | ccl CPU ms/step | PyTorch CPU ms/step |")
print("|---|---|---|---|---|---|---|---|---|")
shapes = {"narrow": "narrow, [16, 1, 8, 32, 32]", "official": "official, [2, 3, 16, 112, 112]"}
for s in students:
    first = None
    for t in threads:
        c = json.load(open(f"{out}/ccl-{s}-{t}.json"))["benchmarks"][0]
        p = json.load(open(f"{out}/peer-{s}-{t}.json"))
        cw, cc = c["ms_per_step_median"], c["cpu_ms_per_step_median"]
        pw, pc = p["ms_per_step_median"], p["cpu_ms_per_step_median"]
        if first is None:
            first = (cw, pw)
        print(f"| {shapes[s]} | {t} | {cw:.1f} | {pw:.1f} | {pw / cw:.2f} | {first[0] / cw:.2f} "
              f"| {first[1] / pw:.2f} | {cc:.1f} | {pc:.1f} |")
print(f"\nparameters (last student): ccl {int(c['parameters'])}, PyTorch {p['parameters']}; "
      f"mkldnn available: {p['mkldnn_available']}; PyTorch BLAS: "
      f"{p['blas']['blas_libraries'][-1] if p['blas']['blas_libraries'] else 'none'} "
      f"(core {p['blas']['openblas_core']})")
print("ratio = PyTorch / ccl: above 1, ccl is faster. Speed-ups relative to the first thread "
      "count listed. Medians over the timed steps.")
PY
