// The training template on the CUDA backend (ccl::cuda): the same run_cell as run_cpu.cpp, with
// device batches (batch_cuda.cuh), device layers (cuDNN), device losses and a device optimiser.

#include "batch_cuda.cuh"  // first: <ccl/cuda.hpp> and BackendBatch<ccl::cuda>
#include "entry.hpp"
#include "train.hpp"

#include <ccl/cuda/device.hpp>

#include <string>

namespace ucf51_train {

bool cuda_built() { return true; }

bool cuda_device_present() { return ccl::gpu::device_available(); }

std::string cuda_device_description() {
  const auto status = ccl::gpu::device_status();
  if (!status.available()) return status.describe();
  const int device = ccl::gpu::current_device();
  return ccl::gpu::device_name(device) + " (device " + std::to_string(device) + ")";
}

CellResult run_cell_cuda(Method method, Mode mode, const Config& config, Ucf51Source& data) {
  ccl::require(cuda_device_present(), "ucf51_train: --backend cuda, but ",
               cuda_device_description());
  CellResult result = run_cell<ccl::cuda>(method, mode, config, data);
  result.backend = "cuda";
  return result;
}

}  // namespace ucf51_train
