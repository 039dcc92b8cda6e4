#pragma once
// Collectives on a backend's matrices, for code written once for the host and the device
// (dist::average_gradients, dist::broadcast_parameters, dist::GlobalObjective):
//
//   dist::all_reduce_sum(comm, mutable_view(bucket), execution);   // in place, Σ over ranks
//   dist::all_gather(comm, view(local), mutable_view(gathered), execution);   // [R·rows, cols]
//   dist::broadcast(comm, mutable_view(values), root, execution);
//
// `execution` is the caller's (core/execution.hpp): the staging copies run on its stream. A
// device communicator runs on its own stream, which must be the data's (Trainer::set_execution
// hands the pipeline's execution to it).
//
// When the communicator works on the memory the views live in (dist::mpi or dist::single and host
// views; dist::nccl and device views) the call passes the pointers through. When it does not (a
// device pipeline over dist::mpi) the data is staged through a host copy: download, collective,
// upload — correct on any GPU cluster without CUDA-aware MPI, at the price of the two copies.
// Host views over a device communicator are refused at compile time: use
// host_communicator(comm) for host data. Views must be contiguous (whole matrices, or row
// blocks of them): the transports move one block of rows·cols elements.

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/execution.hpp>
#include <ccl/core/types.hpp>
#include <ccl/dist/communicator.hpp>

#include <type_traits>

namespace ccl::dist {

namespace detail {

template <class T, class Backend>
void require_contiguous(const char* op, const char* name, const EmbeddingView<T, Backend>& v) {
  require(v.contiguous(), op, ": ", name, " of shape ", v.shape(), " has row stride ",
          v.row_stride(), "; the collectives need contiguous rows");
}

/// Whether data in `Backend` memory goes through a host copy for `Comm`.
template <class Comm, class Backend>
constexpr bool staged() {
  using Memory = memory_space_t<Comm>;
  static_assert(std::is_same_v<Memory, Backend> || std::is_same_v<Memory, cpu>,
                "ccl::dist: host data over a device communicator (dist::nccl); pass host data "
                "to host_communicator(comm) instead");
  return !std::is_same_v<Memory, Backend>;
}

/// Runs an in-place collective `run(pointer, count)` on `data`, through a host copy when the
/// communicator does not work on the view's memory.
template <class Comm, class T, class Backend, class Collective>
void in_place(const char* op, EmbeddingView<T, Backend> data, const Execution<Backend>& execution,
              Collective&& run) {
  require_contiguous(op, "data", data);
  if (data.empty()) return;
  if constexpr (staged<Comm, Backend>()) {
    RowMatrix<T> host(data.rows(), data.cols());
    copy_to_host(EmbeddingView<const T, Backend>(data), mutable_view(host), execution);
    run(host.data(), Index(host.size()));
    copy_from_host(view(host), data, execution);
  } else {
    run(data.data(), data.rows() * data.cols());
  }
}

}  // namespace detail

/// data ← Σ over ranks of every rank's data (same shape on every rank).
template <class Comm, class T, class Backend>
void all_reduce_sum(Comm& comm, EmbeddingView<T, Backend> data,
                    const Execution<Backend>& execution) {
  CCL_STATIC_ASSERT_COMMUNICATOR(Comm);
  detail::in_place<Comm>("dist::all_reduce_sum", data, execution,
                         [&](T* values, Index count) { comm.all_reduce_sum(values, count); });
}

/// gathered = every rank's `local` stacked in rank order ([R·rows, cols]; same shape everywhere).
template <class Comm, class T, class Backend>
void all_gather(Comm& comm, EmbeddingView<const T, Backend> local,
                EmbeddingView<T, Backend> gathered, const Execution<Backend>& execution) {
  CCL_STATIC_ASSERT_COMMUNICATOR(Comm);
  const char* op = "dist::all_gather";
  detail::require_contiguous(op, "local", local);
  detail::require_contiguous(op, "gathered", gathered);
  require(gathered.rows() == local.rows() * comm.size() && gathered.cols() == local.cols(), op,
          ": gathered has shape ", gathered.shape(), ", expected ", comm.size(), " x ",
          local.shape());
  if (local.empty()) return;
  if constexpr (detail::staged<Comm, Backend>()) {
    RowMatrix<T> mine(local.rows(), local.cols()), all(gathered.rows(), gathered.cols());
    copy_to_host(local, mutable_view(mine), execution);
    comm.all_gather(mine.data(), Index(mine.size()), all.data());
    copy_from_host(view(all), gathered, execution);
  } else {
    comm.all_gather(local.data(), local.rows() * local.cols(), gathered.data());
  }
}

/// data ← rank `root`'s data on every rank.
template <class Comm, class T, class Backend>
void broadcast(Comm& comm, EmbeddingView<T, Backend> data, int root,
               const Execution<Backend>& execution) {
  CCL_STATIC_ASSERT_COMMUNICATOR(Comm);
  detail::in_place<Comm>("dist::broadcast", data, execution,
                         [&](T* values, Index count) { comm.broadcast(values, count, root); });
}

}  // namespace ccl::dist
