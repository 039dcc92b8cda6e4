#pragma once
// Which CUDA devices this process can use. device_status() never throws, so programs (and the
// test runner) can ask "is there a GPU?" and fall back to the CPU backend with a clear message
// when the driver is missing, no device is visible, or CUDA_VISIBLE_DEVICES hides them all.

#include <ccl/core/error.hpp>
#include <ccl/cuda/error.hpp>

#include <cuda_runtime_api.h>

#include <string>

namespace ccl::gpu {

struct DeviceStatus {
  int count = 0;                    ///< usable devices (0 when the query failed)
  cudaError_t query = cudaSuccess;  ///< what cudaGetDeviceCount returned

  bool available() const { return query == cudaSuccess && count > 0; }

  /// One line for logs and skipped tests, e.g. "no CUDA device: cudaErrorNoDevice (...)".
  std::string describe() const {
    if (query != cudaSuccess) {
      return ccl::detail::concat("no CUDA device: cudaGetDeviceCount failed with ",
                                 cudaGetErrorName(query), " (", cudaGetErrorString(query), ")");
    }
    if (count == 0) return "no CUDA device: cudaGetDeviceCount returned 0";
    return ccl::detail::concat(count, " CUDA device(s)");
  }
};

/// Queries the device count without throwing; clears the error the failed query leaves behind.
inline DeviceStatus device_status() noexcept {
  DeviceStatus status;
  status.query = cudaGetDeviceCount(&status.count);
  if (status.query != cudaSuccess) {
    status.count = 0;
    (void)cudaGetLastError();
  }
  return status;
}

inline bool device_available() noexcept { return device_status().available(); }

/// Name and compute capability of a device, e.g. "NVIDIA H100 80GB HBM3 (sm_90)".
inline std::string device_name(int device) {
  cudaDeviceProp properties{};
  CCL_CUDA_CHECK(cudaGetDeviceProperties(&properties, device));
  return ccl::detail::concat(properties.name, " (sm_", properties.major, properties.minor, ")");
}

/// The device the calling thread currently uses.
inline int current_device() {
  int device = 0;
  CCL_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

/// Streaming multiprocessors of the current device: sizes the fused kernels' grids.
inline int multiprocessor_count() {
  int count = 0;
  CCL_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, current_device()));
  return count;
}

}  // namespace ccl::gpu
