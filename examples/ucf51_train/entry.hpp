#pragma once
// The program's backend entry points. run_cpu.cpp instantiates the training template for
// ccl::cpu; run_cuda.cu (built when ccl::cuda and cuDNN exist) for ccl::cuda, and no_cuda.cpp
// stands in for it otherwise — so main.cpp chooses a backend at run time without #ifdef.

#include "config.hpp"
#include "source.hpp"

#include <string>

namespace ccl_examples {
class Communicator;  // the run's ranks (../common/ranks.hpp): one process, or MPI_COMM_WORLD
}

namespace ucf51_train {

/// Data-parallel over `comm`'s ranks when it has more than one (run_cpu.cpp).
CellResult run_cell_cpu(Method method, Mode mode, const Config& config, Ucf51Source& data,
                        ccl_examples::Communicator& comm);

/// Whether this program was built with the CUDA backend.
bool cuda_built();
/// Whether a CUDA device is usable now (false when not built with CUDA).
bool cuda_device_present();
/// "NVIDIA H100 80GB HBM3 (device 0)" or why there is none.
std::string cuda_device_description();
CellResult run_cell_cuda(Method method, Mode mode, const Config& config, Ucf51Source& data);

}  // namespace ucf51_train
