// Compile-and-link check of dist::nccl (built where NCCL is found; run only on a multi-GPU host:
// `mpirun -np 2 nccl_link` all-reduces one float per rank on device `rank % device count`).
#include <ccl/dist/nccl.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  ccl::dist::environment env(argc, argv);
  return ccl::dist::guard([] {
    ccl::dist::mpi bootstrap;
    int devices = 0;
    ccl::dist::detail::check_cuda_for_nccl(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
    ccl::dist::nccl comm(bootstrap, bootstrap.rank() % devices);
    float* value = nullptr;
    ccl::dist::detail::check_cuda_for_nccl(cudaMalloc(&value, sizeof(float)), "cudaMalloc");
    const float one = 1.0f;
    cudaMemcpy(value, &one, sizeof one, cudaMemcpyHostToDevice);
    comm.all_reduce_sum(value, 1);
    float sum = 0;
    cudaMemcpy(&sum, value, sizeof sum, cudaMemcpyDeviceToHost);
    cudaFree(value);
    if (sum != float(comm.size())) throw ccl::error("dist::nccl all-reduce gave a wrong sum");
    std::printf("nccl all-reduce over %d ranks: ok\n", comm.size());
  });
}
