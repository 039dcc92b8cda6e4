#!/usr/bin/env bash
# Every GPU check of the CUDA backend in one command, for a machine with an NVIDIA GPU
# (H100/H200 class; on a machine without one it builds, runs the [host] tests and says so):
#
#   scripts/gpu-check.sh [OUT_DIR]                 all phases, results under OUT_DIR
#   scripts/gpu-check.sh --phases "build test" OUT_DIR
#   scripts/gpu-check.sh --pack OUT_DIR            ... and at the end fold every file but the
#                                                  summary and the tables into results.tar.gz
#   scripts/gpu-check.sh --prepare-deps [DIR]      copy the build's header/library dependencies
#                                                  into DIR (default build-gpu-deps), see below
#
# Phases (in this order; --phases picks some, the build directory is reused between calls):
#   env       nvidia-smi -L / nvidia-smi, nvcc, cmake, compiler, PyTorch: OUT_DIR/env.txt
#   build     configure (CUDA for CUDA_ARCH only, default 90 = H100/H200; cuDNN from the toolkit
#             or from the pip package nvidia-cudnn-*) and build test_cuda, the standalone-header
#             check and the GPU benchmarks: configure.log, build.log
#   test      ctest -L cuda: cuda.host and cuda.gpu (which must pass, and not be skipped when a
#             GPU is visible), and cuda.headers_standalone where it was built (on a GPU machine
#             only with STANDALONE=1: it needs no GPU and costs build time): ctest.log
#   sanitize  compute-sanitizer memcheck and racecheck on a bounded subset of the [gpu] tests
#             (SANITIZE_FILTER, default "[gpu]~[large]~[r2plus1d]": the whole network under the
#             sanitizer would take minutes, its layers are tested one by one), each for at most
#             100 s; a tool stopped at its limit without an error is reported INCOMPLETE, not
#             failed, and its log lists the test cases it finished: memcheck.log, racecheck.log
#   bench     bench_cuda_contrastive (cuBLAS vs fused multi-class NCE, fp32/TF32, B doubling from
#             1024 while a call takes < 1 s) and its PyTorch peer; bench_cuda_r2plus1d_step (one
#             R(2+1)D training step, official and narrow, TF32 off/on) and its PyTorch peer;
#             bench/gpu_table.py: nce_ccl.json, nce_torch.json, step_ccl.json, step_torch.json,
#             gpu_tables.md, gpu_tables.json (the PyTorch peers are skipped when python3 cannot
#             import torch with CUDA)
# Finally summary.txt: one line per phase (ok / FAILED / skipped / timed out), also printed.
#
# Time: the whole run stays under BUDGET_S seconds (default 540): each phase runs under
# `timeout` with the smaller of its own cap and what is left (keeping a reserve for the later
# phases), and a phase that fails or times out is recorded and the next one runs anyway.
# Exit status: 0 when every phase that ran passed or was skipped for want of a GPU; 1 otherwise.
#
# Environment: BUILD_DIR (default build-gpu), CUDA_ARCH (default 90), JOBS (default nproc),
# BUDGET_S, BUILD_CAP_S (the build's own limit, default 360), STANDALONE (1: build and run the
# standalone-header check; default 1 without a GPU, 0 with one), SANITIZE_FILTER, DEPS_DIR (default build-gpu-deps), PYTHON (default python3),
# CMAKE_ARGS (extra configure arguments).
#
# A bare machine (CUDA toolkit, cmake, a C++ compiler, no package manager): the configure step
# needs Eigen 3.4, Boost.Hana, Catch2 v2 and, for the R(2+1)D benchmark, Google Benchmark. Where
# they are not installed, run `scripts/gpu-check.sh --prepare-deps` on a Debian machine that has
# them (scripts/setup-debian.sh) and bring DEPS_DIR (about 20 MB: headers, CMake package files,
# libbenchmark.so) along with the source tree; the build then finds them there. Without Google
# Benchmark only bench_cuda_r2plus1d_step is left out.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1

# ------------------------------------------------------------------------------------------------
# --prepare-deps: headers and CMake package files of this (Debian) machine's Eigen, Boost.Hana,
# Catch2 and Google Benchmark, laid out as an install prefix so that their package files (which
# locate everything relative to themselves) work from DIR.
prepare_deps() {
  local dir="${1:-build-gpu-deps}"
  rm -rf "$dir" && mkdir -p "$dir/include" "$dir/lib/cmake" "$dir/share" \
    "$dir/lib/x86_64-linux-gnu/cmake" || return 1
  dir="$(cd "$dir" && pwd)"
  local arch_lib=/usr/lib/x86_64-linux-gnu
  cp -r /usr/include/eigen3 "$dir/include/" && cp -r /usr/share/eigen3 "$dir/share/" || return 1
  # Boost: Hana, the config headers (every compiler's, nvcc's included) and what Hana includes.
  local hana
  hana=$(printf '#include <boost/hana.hpp>\n#include <boost/version.hpp>\n' |
    g++ -std=c++17 -x c++ -M - 2>/dev/null | tr ' \\' '\n\n' | grep '^/usr/include/boost/' | sort -u)
  [ -n "$hana" ] || { echo "prepare-deps: Boost.Hana not found (libboost-dev)" >&2; return 1; }
  # shellcheck disable=SC2046 # one header path per word
  (cd /usr/include && cp -r --parents boost/hana boost/hana.hpp boost/config boost/config.hpp \
    $(echo "${hana//\/usr\/include\//}" | grep -v -x -e boost/hana.hpp -e boost/config.hpp) \
      "$dir/include/") || return 1
  cp -r "$arch_lib/cmake/Boost-"* "$arch_lib/cmake/boost_headers-"* \
    "$arch_lib/cmake/BoostDetectToolset-"* "$dir/lib/x86_64-linux-gnu/cmake/" || return 1
  cp -r /usr/include/catch2 "$dir/include/" && cp -r /usr/lib/cmake/Catch2 "$dir/lib/cmake/" &&
    cp /usr/lib/libCatch2WithMain.a "$dir/lib/" || return 1
  if [ -d "$arch_lib/cmake/benchmark" ]; then
    cp -r /usr/include/benchmark "$dir/include/" &&
      cp -r "$arch_lib/cmake/benchmark" "$dir/lib/x86_64-linux-gnu/cmake/" &&
      cp -P "$arch_lib"/libbenchmark* "$dir/lib/x86_64-linux-gnu/" || return 1
  fi
  echo "prepare-deps: $(du -sh "$dir" | cut -f1) in $dir"
}

if [ "${1:-}" = "--prepare-deps" ]; then
  prepare_deps "${2:-build-gpu-deps}"
  exit $?
fi

phases="env build test sanitize bench"
pack=0
while [ $# -gt 0 ]; do
  case "$1" in
    --phases) phases="$2"; shift 2 ;;
    --pack) pack=1; shift ;;
    *) break ;;
  esac
done
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,48p' "$0"
  exit 0
fi

build=${BUILD_DIR:-build-gpu}
out=${1:-$build/gpu-check}
mkdir -p "$out" && out="$(cd "$out" && pwd)"
arch=${CUDA_ARCH:-90}
jobs=${JOBS:-$(nproc)}
budget=${BUDGET_S:-540}
deps=${DEPS_DIR:-build-gpu-deps}
python=${PYTHON:-python3}
sanitize_filter=${SANITIZE_FILTER:-[gpu]~[large]~[r2plus1d]}
start=$(date +%s)
summary="$out/summary.txt"
: > "$summary"
failed=0
incomplete=0  # a check that could not run here (tool or peer missing, sanitizer stopped at its limit)

remaining() { echo $((budget - ($(date +%s) - start))); }
note() { echo "gpu-check: $*" | tee -a "$summary"; }
# run_phase NAME CAP RESERVE LOG COMMAND...: the command under `timeout`, for at most CAP seconds
# and never into the last RESERVE seconds of the budget; its output goes to LOG (and the terminal).
run_phase() {
  local name=$1 cap=$2 reserve=$3 log=$4
  shift 4
  local limit
  limit=$(($(remaining) - reserve))
  [ "$limit" -gt "$cap" ] && limit=$cap
  if [ "$limit" -lt 5 ]; then
    note "$name: not run (time budget spent)"
    failed=1
    return 124
  fi
  local t0 rc
  t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" > >(tee "$log") 2>&1
  rc=$?
  wait  # for tee
  if [ "$rc" -eq 0 ]; then
    note "$name: ok ($(($(date +%s) - t0)) s)"
  elif { [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; } && [ "${SOFT_TIMEOUT:-0}" = 1 ]; then
    incomplete=1
    note "$name: INCOMPLETE, stopped at its $limit s limit (no error reported up to there;" \
      "the test cases it finished are listed in $(basename "$log"))"
  elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    note "$name: TIMED OUT after $limit s (partial log: $(basename "$log"))"
    failed=1
  elif [ "$rc" -eq 77 ]; then
    note "$name: skipped ($(grep -m1 SKIPPED "$log" || echo 'exit code 77'))"
  else
    note "$name: FAILED (exit $rc, see $(basename "$log"))"
    failed=1
  fi
  return "$rc"
}
has_phase() { [[ " $phases " == *" $1 "* ]]; }

# nvcc and compute-sanitizer from $CUDA_HOME / $CUDA_PATH / /usr/local/cuda when not on PATH.
for cuda_home in "${CUDA_HOME:-}" "${CUDA_PATH:-}" /usr/local/cuda; do
  if ! command -v nvcc > /dev/null && [ -n "$cuda_home" ] && [ -x "$cuda_home/bin/nvcc" ]; then
    export PATH="$cuda_home/bin:$PATH"
  fi
done
gpu=0
if command -v nvidia-smi > /dev/null && nvidia-smi -L > "$out/nvidia-smi-L.txt" 2>&1; then
  gpu=1
else
  echo "no GPU: nvidia-smi $(command -v nvidia-smi > /dev/null && echo failed || echo 'not found')" \
    > "$out/nvidia-smi-L.txt"
fi

# --- env ----------------------------------------------------------------------------------------
if has_phase env; then
  {
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "== nvidia-smi -L"; cat "$out/nvidia-smi-L.txt"
    [ "$gpu" = 1 ] && { echo "== nvidia-smi"; nvidia-smi; }
    echo "== nvcc"; nvcc --version 2>&1 | tail -2 || echo "nvcc not found"
    echo "== cmake"; cmake --version | head -1
    echo "== c++"; c++ --version 2>&1 | head -1
    echo "== cpu"; nproc; grep -m1 'model name' /proc/cpuinfo || true
    echo "== python"; "$python" -c 'import sys, torch; print(sys.version.split()[0], "torch",
      torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(),
      "cudnn", torch.backends.cudnn.version())' 2>&1 | tail -1
  } > "$out/env.txt" 2>&1
  note "env: $(head -1 "$out/nvidia-smi-L.txt")"
fi
if [ "$gpu" = 0 ]; then
  note "no NVIDIA GPU visible: building and running the [host] tests only"
fi

# --- build --------------------------------------------------------------------------------------
if has_phase build; then
  cmake_args=(-DCMAKE_BUILD_TYPE=Release -DCCL_ENABLE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$arch"
              -DCCL_BUILD_TESTS=ON -DCCL_BUILD_BENCHMARKS=ON -DCCL_BUILD_EXAMPLES=OFF
              -DCCL_BUILD_TOOLS=OFF -DCCL_INSTALL=OFF)
  command -v ninja > /dev/null && [ ! -f "$build/Makefile" ] && cmake_args+=(-G Ninja)
  # Dependencies brought along in DEPS_DIR (see --prepare-deps), where the machine lacks them.
  if [ -d "$deps" ]; then
    d="$(cd "$deps" && pwd)"
    cmake_args+=(-DCMAKE_PREFIX_PATH="$d" -DEigen3_DIR="$d/share/eigen3/cmake"
                 -DCatch2_DIR="$d/lib/cmake/Catch2")
    boost_dir=$(ls -d "$d"/lib/x86_64-linux-gnu/cmake/Boost-* 2> /dev/null | head -1)
    [ -n "$boost_dir" ] && cmake_args+=(-DBoost_DIR="$boost_dir")
    [ -d "$d/lib/x86_64-linux-gnu/cmake/benchmark" ] &&
      cmake_args+=(-Dbenchmark_DIR="$d/lib/x86_64-linux-gnu/cmake/benchmark")
    export LD_LIBRARY_PATH="$d/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  # cuDNN: the toolkit's, the system's, or else the one PyTorch's pip packages bring.
  nvcc_dir=$(dirname "$(command -v nvcc 2> /dev/null || echo /usr/local/cuda/bin/nvcc)")
  if ! ls "$nvcc_dir/../include/cudnn.h" /usr/include/cudnn.h /usr/include/*/cudnn.h \
      "${CUDNN_ROOT:-/nonexistent}/include/cudnn.h" > /dev/null 2>&1; then
    cudnn=$("$python" -c 'import nvidia.cudnn as c; print(list(c.__path__)[0])' 2> /dev/null)
    if [ -n "$cudnn" ] && [ -f "$cudnn/include/cudnn.h" ]; then
      lib=$(ls "$cudnn"/lib/libcudnn.so* 2> /dev/null | head -1)
      cmake_args+=(-DCCL_CUDNN_INCLUDE_DIR="$cudnn/include" -DCCL_CUDNN_LIBRARY="$lib")
      echo "cuDNN from $cudnn" >> "$out/env.txt"
    fi
  fi
  [ -n "${cudnn:-}" ] && export LD_LIBRARY_PATH="$cudnn/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  # shellcheck disable=SC2206
  extra=(${CMAKE_ARGS:-})
  failed_before=$failed
  configured=0
  if run_phase configure 120 300 "$out/configure.log" \
      cmake -S . -B "$build" "${cmake_args[@]}" "${extra[@]}"; then
    configured=1
  elif grep -qi "benchmark" "$out/configure.log"; then
    # Google Benchmark missing: everything but bench_cuda_r2plus1d_step can still be built.
    run_phase configure_without_benchmarks 120 300 "$out/configure.log" \
      cmake -S . -B "$build" "${cmake_args[@]}" "${extra[@]}" -DCCL_BUILD_BENCHMARKS=OFF &&
      configured=1 && failed=$failed_before
  fi
  if [ "$configured" = 1 ]; then
    targets=(test_cuda bench_cuda_contrastive)
    # grep -c reads everything: with pipefail, grep -q would make cmake die of SIGPIPE.
    cmake --build "$build" --target help 2> /dev/null | grep -c bench_cuda_r2plus1d_step \
      > /dev/null && targets+=(bench_cuda_r2plus1d_step)
    # Device data-parallel training (needs MPI on this machine; NCCL for its --nccl half).
    cmake --build "$build" --target help 2> /dev/null | grep -c test_dist_device \
      > /dev/null && targets+=(test_dist_device)
    # The standalone-header check needs no GPU (machines without one run it); on a GPU machine
    # it is left out unless STANDALONE=1, to keep the build within the time budget.
    standalone=${STANDALONE:-$((1 - gpu))}
    [ "$standalone" = 1 ] && targets+=(ccl_cuda_standalone_headers)
    # The build keeps 150 s for the tests and the benchmarks; on a machine without a GPU (where
    # BUDGET_S is raised for a slow build) only the tests.
    reserve=30
    [ "$gpu" = 1 ] && reserve=150
    run_phase build "${BUILD_CAP_S:-360}" "$reserve" "$out/build.log" \
      cmake --build "$build" -j"$jobs" --target "${targets[@]}"
  fi
else
  # Later calls reuse the build: the same library paths as the build phase would set.
  libs=""
  [ -d "$deps/lib/x86_64-linux-gnu" ] && libs="$(cd "$deps" && pwd)/lib/x86_64-linux-gnu"
  cudnn=$(grep -m1 '^CCL_CUDNN_LIBRARY' "$build/CMakeCache.txt" 2> /dev/null | cut -d= -f2)
  [ -n "$cudnn" ] && libs="$(dirname "$cudnn")${libs:+:$libs}"
  [ -n "$libs" ] && export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

test_cuda="$build/tests/cuda/test_cuda"
skip_standalone=""
[ -x "$build/tests/cuda/ccl_cuda_standalone_headers" ] || skip_standalone="-E headers_standalone"

# --- test ---------------------------------------------------------------------------------------
if has_phase test; then
  if [ ! -x "$test_cuda" ]; then
    note "test: test_cuda was not built"
    failed=1
  elif [ "$gpu" = 1 ]; then
    run_phase ctest 200 120 "$out/ctest.log" \
      ctest --test-dir "$build" -L cuda --output-on-failure --timeout 190 $skip_standalone
    if grep -q "cuda.gpu .*Skipped" "$out/ctest.log"; then
      note "test: cuda.gpu was SKIPPED although nvidia-smi sees a GPU"
      failed=1
    fi
    # A device pipeline trained data-parallel (mpirun, 1 and 2 ranks; NCCL at 2 ranks needs 2
    # GPUs and reports itself skipped on one).
    if [ -x "$build/tests/cuda/test_dist_device" ]; then
      run_phase ctest_dist 90 60 "$out/ctest_dist.log" \
        ctest --test-dir "$build" -L gpu-dist --output-on-failure --timeout 60
    else
      note "test: test_dist_device not built (no MPI here): device data-parallel training not run"
    fi
  else
    # Without a device: the header check and the [host] tests; cuda.gpu reports itself skipped.
    run_phase ctest 300 10 "$out/ctest.log" \
      ctest --test-dir "$build" -L cuda --output-on-failure $skip_standalone
  fi
fi

# --- sanitize -----------------------------------------------------------------------------------
if has_phase sanitize; then
  sanitizer=$(command -v compute-sanitizer || true)
  for candidate in "$(dirname "$(command -v nvcc 2> /dev/null || echo /x/x)")/compute-sanitizer" \
                   "$(dirname "$(command -v nvcc 2> /dev/null || echo /x/x)")/../compute-sanitizer/compute-sanitizer"; do
    [ -z "$sanitizer" ] && [ -x "$candidate" ] && sanitizer=$candidate
  done
  if [ "$gpu" = 0 ]; then
    note "sanitize: skipped (no GPU)"
  elif [ -z "$sanitizer" ]; then
    note "sanitize: compute-sanitizer not found; memcheck/racecheck NOT run"
    incomplete=1
  elif [ ! -x "$test_cuda" ]; then
    note "sanitize: test_cuda was not built"
  else
    # Each tool gets at most 100 s and leaves 110 s for the benchmarks; a timed-out tool still
    # leaves the errors it found so far in its log (--print-limit keeps that short).
    for tool in memcheck racecheck; do
      SOFT_TIMEOUT=1 run_phase "$tool" 100 110 "$out/$tool.log" \
        "$sanitizer" --tool "$tool" --error-exitcode 1 --print-limit 20 \
        "$test_cuda" --require-device --durations yes "$sanitize_filter"
    done
  fi
fi

# --- bench --------------------------------------------------------------------------------------
if has_phase bench; then
  torch_cuda=0
  "$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' \
    > /dev/null 2>&1 && torch_cuda=1
  if [ "$gpu" = 0 ]; then
    note "bench: skipped (no GPU)"
  else
    if [ "$torch_cuda" = 0 ]; then
      note "bench: PyTorch with CUDA not importable by $python: peers skipped"
      incomplete=1
    fi
    nce=(--max-call-ms 1000 --point-seconds 2 --repeat 10)
    [ -x "$build/tests/cuda/bench_cuda_contrastive" ] &&
      run_phase bench_nce_ccl 80 75 "$out/bench_nce_ccl.md" \
        "$build/tests/cuda/bench_cuda_contrastive" "${nce[@]}" --json "$out/nce_ccl.json"
    [ "$torch_cuda" = 1 ] &&
      run_phase bench_nce_torch 60 60 "$out/bench_nce_torch.md" env PYTHONUNBUFFERED=1 \
        "$python" tests/cuda/torch_multiclass_nce.py "${nce[@]}" --json "$out/nce_torch.json"
    if [ -x "$build/bench/bench_cuda_r2plus1d_step" ]; then
      run_phase bench_step_ccl 60 35 "$out/bench_step_ccl.txt" \
        "$build/bench/bench_cuda_r2plus1d_step" \
        --benchmark_out="$out/step_ccl.json" --benchmark_out_format=json
    else
      note "bench_step_ccl: not built (needs cuDNN and Google Benchmark)"
      incomplete=1
    fi
    [ "$torch_cuda" = 1 ] &&
      # cudnn.benchmark's first step takes 5-25 s per official-student configuration on an H200
      # (measured): the narrow student first, and 150 s, so that every configuration finishes.
      run_phase bench_step_torch 150 5 "$out/bench_step_torch.txt" env PYTHONUNBUFFERED=1 \
        "$python" bench/peer_r2plus1d.py --device cuda --min-time 0.3 --steps 5 --warmup 2 \
        --configs narrow:16,narrow:128,official:8,official:16 --json "$out/step_torch.json"
    python3 bench/gpu_table.py --nce-ccl "$out/nce_ccl.json" --nce-torch "$out/nce_torch.json" \
      --step-ccl "$out/step_ccl.json" --step-torch "$out/step_torch.json" \
      --json "$out/gpu_tables.json" > "$out/gpu_tables.md" 2>&1 ||
      note "bench: gpu_table.py failed (see gpu_tables.md)"
  fi
fi

echo
echo "== gpu-check summary ($(($(date +%s) - start)) s, budget $budget s; files in $out)"
cat "$summary"
[ -s "$out/gpu_tables.md" ] && { echo; cat "$out/gpu_tables.md"; }
if [ "$failed" = 1 ]; then
  verdict="FAILED (see the lines above)"
elif [ "$gpu" = 0 ]; then
  verdict="no GPU here; build and [host] tests passed, GPU checks NOT run"
elif [ "$incomplete" = 1 ]; then
  verdict="no failure, but not every check ran (see the lines above)"
else
  verdict="every check passed"
fi
echo "gpu-check: $verdict" | tee -a "$summary"
echo "total: $(($(date +%s) - start)) s" >> "$summary"
if [ "$pack" = 1 ]; then
  # For collectors that fetch only a few files: everything in one archive beside the summary.
  (cd "$out" && tar czf results.tar.gz --exclude results.tar.gz ./* &&
    find . -maxdepth 1 -type f ! -name results.tar.gz ! -name summary.txt ! -name 'gpu_tables.*' \
      ! -name nvidia-smi-L.txt -delete)
fi
exit "$failed"
