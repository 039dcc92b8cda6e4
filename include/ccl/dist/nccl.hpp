#pragma once
// dist::nccl: the communicator over NCCL, device buffers (pointers from cudaMalloc or
// ccl::cuda buffers), bootstrapped through MPI (rank 0's ncclUniqueId is broadcast with MPI_Bcast).
// Needs the targets ccl::nccl and ccl::mpi. Collectives are enqueued on a stream (see the
// constructors) and the call waits for it, so a returned call has its result in device memory
// like dist::mpi's in host memory.
// Host data (flags, counts, metrics, checkpoint bytes) goes through host(), the MPI communicator it
// was bootstrapped from, which must outlive it; dist::host_communicator picks it.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/dist/communicator.hpp>
#include <ccl/dist/mpi.hpp>

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace ccl::dist {

namespace detail {

inline void check_nccl(ncclResult_t status, const char* call) {
  if (status == ncclSuccess) return;
  throw error(ccl::detail::concat("dist::nccl: ", call, " failed (", int(status),
                                  "): ", ncclGetErrorString(status)));
}

inline void check_cuda_for_nccl(cudaError_t status, const char* call) {
  if (status == cudaSuccess) return;
  throw error(ccl::detail::concat("dist::nccl: ", call, " failed: ", cudaGetErrorString(status)));
}

template <class T>
ncclDataType_t nccl_type() {
  if constexpr (std::is_same_v<T, float>)
    return ncclFloat32;
  else if constexpr (std::is_same_v<T, double>)
    return ncclFloat64;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return ncclInt64;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return ncclInt32;
  else
    static_assert(sizeof(T) == 0, "dist::nccl: element type must be float, double, int32 or int64");
}

}  // namespace detail

class nccl {
 public:
  /// Its collectives take device pointers.
  using memory_space = cuda;

  /// One GPU per rank: `device` is this rank's CUDA device (e.g. local rank % device count).
  /// The collectives run on `stream`; give it the stream of the pipeline whose data they move
  /// (set_execution, which the Trainer calls with its pipeline's execution), so they are ordered
  /// after the kernels that produced that data.
  nccl(mpi& bootstrap, int device, cudaStream_t stream = nullptr)
      : host_(&bootstrap), rank_(bootstrap.rank()), size_(bootstrap.size()), stream_(stream) {
    detail::check_cuda_for_nccl(cudaSetDevice(device), "cudaSetDevice");
    ncclUniqueId id{};
    if (rank_ == 0) detail::check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    detail::check_mpi(MPI_Bcast(&id, int(sizeof id), MPI_BYTE, 0, bootstrap.native()), "MPI_Bcast");
    detail::check_nccl(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
  }
  nccl(const nccl&) = delete;
  nccl& operator=(const nccl&) = delete;
  ~nccl() {
    if (comm_ != nullptr) ncclCommDestroy(comm_);
    if (flag_ != nullptr) (void)cudaFree(flag_);
  }

  int rank() const { return rank_; }
  int size() const { return size_; }
  /// The host communicator of the same ranks (the bootstrap).
  mpi& host() { return *host_; }

  /// Runs the next collectives on `execution`'s stream (core/execution.hpp).
  void set_execution(const Execution<cuda>& execution) {
    if (execution.stream != stream_) wait();
    stream_ = execution.stream;
  }

  template <class T>
  void all_reduce_sum(T* data, Index count) {
    detail::check_nccl(ncclAllReduce(data, data, std::size_t(count), detail::nccl_type<T>(),
                                     ncclSum, comm_, stream()),
                       "ncclAllReduce");
    wait();
  }
  template <class T>
  void all_gather(const T* local, Index count, T* gathered) {
    detail::check_nccl(
        ncclAllGather(local, gathered, std::size_t(count), detail::nccl_type<T>(), comm_, stream()),
        "ncclAllGather");
    wait();
  }
  template <class T>
  void broadcast(T* data, Index count, int root) {
    require(root >= 0 && root < size_, "dist::nccl::broadcast: root ", root, " is not a rank of ",
            size_);
    detail::check_nccl(ncclBroadcast(data, data, std::size_t(count), detail::nccl_type<T>(), root,
                                     comm_, stream()),
                       "ncclBroadcast");
    wait();
  }
  /// A one-element all-reduce on the stream: returns when every rank reached it. The element is
  /// allocated once (cudaMalloc/cudaFree would synchronise the device at every barrier).
  void barrier() {
    if (flag_ == nullptr)
      detail::check_cuda_for_nccl(cudaMalloc(&flag_, sizeof(float)), "cudaMalloc");
    all_reduce_sum(flag_, 1);
  }

 private:
  cudaStream_t stream() const { return stream_; }
  void wait() {
    detail::check_cuda_for_nccl(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  }

  mpi* host_;
  int rank_;
  int size_;
  cudaStream_t stream_;
  ncclComm_t comm_ = nullptr;
  float* flag_ = nullptr;  // barrier()'s element
};

static_assert(is_communicator_v<nccl>, "dist::nccl must model the communicator concept");

}  // namespace ccl::dist
