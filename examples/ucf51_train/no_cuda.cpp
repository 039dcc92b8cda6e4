// Stands in for run_cuda.cu in builds without the CUDA backend (no nvcc, or no cuDNN, which the
// R(2+1)D layers need on the device): the program then trains on the CPU only.

#include "entry.hpp"

#include <ccl/core/error.hpp>

namespace ucf51_train {

bool cuda_built() { return false; }
bool cuda_device_present() { return false; }
std::string cuda_device_description() {
  return "this ucf51_train was built without the CUDA backend (configure with nvcc and cuDNN "
         "found, -DCCL_ENABLE_CUDA=ON)";
}

CellResult run_cell_cuda(Method, Mode, const Config&, Ucf51Source&) {
  throw ccl::error("ucf51_train: --backend cuda, but " + cuda_device_description());
}

}  // namespace ucf51_train
