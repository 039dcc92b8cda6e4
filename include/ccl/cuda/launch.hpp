#pragma once
// gpu::launch_elementwise: queues a grid-stride kernel (kernels/grid_stride.cuh) on a stream and
// turns a failed launch into a ccl::error naming the kernel — the launch configuration and the
// check that every element-wise launch would otherwise restate.

#include <ccl/core/error.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/grid_stride.cuh>

#include <cuda_runtime_api.h>

namespace ccl::gpu {

/// kernel<<<elementwise_blocks(items), elementwise_threads, 0, stream>>>(args...), then the launch
/// check. `items` is what the kernel's grid-stride loop covers (elements, or groups of them);
/// nothing is queued when it is 0. Any grid size is correct for such a kernel, so the launch size
/// never changes a result.
template <class... Params, class... Args>
void launch_elementwise(const char* kernel_name, long long items, cudaStream_t stream,
                        void (*kernel)(Params...), Args... args) {
  if (items <= 0) return;
  kernel<<<kernels::elementwise_blocks(items), kernels::elementwise_threads, 0, stream>>>(args...);
  // The message is only built for a failure: a launch is on the hot path of every layer.
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    check(status, ccl::detail::concat("launch of ", kernel_name).c_str(), __FILE__, __LINE__);
}

}  // namespace ccl::gpu
