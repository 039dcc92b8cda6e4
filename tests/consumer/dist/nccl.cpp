// Compiles and links against ccl::nccl (running it needs GPUs).
#include <ccl/dist/nccl.hpp>

int main() {
  static_assert(ccl::dist::is_communicator_v<ccl::dist::nccl>,
                "dist::nccl must model the communicator concept");
  return 0;
}
