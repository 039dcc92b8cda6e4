#!/usr/bin/env bash
# The GPU checks of the CUDA backend, for a machine with an NVIDIA GPU (A100/H100/H200 class):
#
#   1. configure with the CUDA backend required, for the local GPU's architecture
#   2. build the CUDA tests, the standalone-header check and the GPU benchmark
#   3. ctest -L cuda: cuda.headers_standalone, cuda.host and cuda.gpu (CUDA vs CPU, must PASS,
#      not be skipped)
#   4. compute-sanitizer memcheck and racecheck (and synccheck) on the [gpu] tests
#   5. the benchmark: cuBLAS vs fused multi-class NCE, then the PyTorch peer if torch is importable
#
# Everything is logged under $BUILD_DIR/gpu-check/. Exits non-zero on the first failure.
#   BUILD_DIR=build-gpu  CUDA_ARCH=90  BENCH_BATCHES=1024,4096,16384,65536  scripts/gpu-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD_DIR:-build-gpu}
logs="$build/gpu-check"
batches=${BENCH_BATCHES:-1024,4096,16384,32768,65536,131072}
jobs=${JOBS:-$(nproc)}

# nvcc and compute-sanitizer from $CUDA_HOME (or $CUDA_PATH) when they are not on PATH.
cuda_home=${CUDA_HOME:-${CUDA_PATH:-}}
if ! command -v nvcc >/dev/null && [ -n "$cuda_home" ]; then
  export PATH="$cuda_home/bin:$PATH"
fi

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L; then
  echo "gpu-check: no NVIDIA GPU visible (nvidia-smi failed); nothing to check" >&2
  exit 77
fi
mkdir -p "$logs"
# The local GPU's architecture unless given, e.g. "90" on H100/H200.
arch=${CUDA_ARCH:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d .)}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCCL_ENABLE_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="$arch" -DCCL_BUILD_EXAMPLES=OFF 2>&1 | tee "$logs/configure.log"
cmake --build "$build" -j"$jobs" --target test_cuda ccl_cuda_standalone_headers \
  bench_cuda_contrastive 2>&1 | tee "$logs/build.log"

ctest --test-dir "$build" -L cuda --output-on-failure 2>&1 | tee "$logs/ctest.log"
if grep -q "cuda.gpu .*Skipped" "$logs/ctest.log"; then
  echo "gpu-check: cuda.gpu was skipped although nvidia-smi sees a GPU" >&2
  exit 1
fi
"$build/tests/cuda/test_cuda" --require-device "[gpu]" --durations yes \
  2>&1 | tee "$logs/test_cuda_durations.log"

sanitizer=$(command -v compute-sanitizer || true)
if [ -z "$sanitizer" ] && command -v nvcc >/dev/null; then
  for candidate in "$(dirname "$(command -v nvcc)")/compute-sanitizer" \
                   "$(dirname "$(command -v nvcc)")/../compute-sanitizer/compute-sanitizer"; do
    if [ -x "$candidate" ]; then sanitizer=$candidate; break; fi
  done
fi
if [ -n "$sanitizer" ]; then
  # [large] is skipped under the sanitizer: the CPU reference dominates and nothing new is tested.
  for tool in memcheck racecheck synccheck; do
    "$sanitizer" --tool "$tool" --error-exitcode 1 --print-limit 20 \
      "$build/tests/cuda/test_cuda" --require-device "[gpu]~[large]" 2>&1 | tee "$logs/$tool.log"
  done
else
  echo "gpu-check: compute-sanitizer not found; memcheck/racecheck NOT run" | tee "$logs/sanitizer.log"
fi

"$build/tests/cuda/bench_cuda_contrastive" --batches "$batches" 2>&1 | tee "$logs/bench_ccl.md"
python3 tests/cuda/torch_multiclass_nce.py --batches "$batches" 2>&1 | tee "$logs/bench_torch.md" || true
python3 tests/cuda/torch_multiclass_nce.py --batches "$batches" --tf32 2>&1 |
  tee "$logs/bench_torch_tf32.md" || true
echo "gpu-check: all checks passed; logs in $logs"
