#pragma once
// Averaged, bucketed gradient all-reduce and the parameter broadcast of data-parallel training.
//
//   ccl::dist::broadcast_parameters(comm, model);      // once: every rank starts from rank 0's θ
//   ... forward, loss, backward on the local shard ...
//   ccl::dist::average_gradients(comm, model);         // grad ← (1/R) Σ_r grad_r
//   optimizer.step();                                 // identical on every rank
//
// Buckets: parameters are packed, in for_each_parameter order, into buffers of at most
// `bucket_elements` values and each bucket is one all-reduce: few large messages instead of one
// per tensor (latency), without a second copy of the whole model (memory). The sums themselves
// are MPI's; with R ranks the average equals the 1-rank gradient of the global-batch mean up to
// the rounding of that sum (exactly, for a sum order the library fixes; see docs/distributed.md).

#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/dist/communicator.hpp>

#include <functional>
#include <vector>

namespace ccl::dist {

struct GradientSyncOptions {
  Index bucket_elements = Index(1) << 20;  ///< values per all-reduce (4 MiB of float)
};

/// Replaces every parameter's gradient by the mean over ranks. Throws ccl::error (on every rank)
/// when a gradient is non-finite on any rank, naming the parameter.
template <class Comm, class Model>
void average_gradients(Comm& comm, Model& model, GradientSyncOptions options = {}) {
  CCL_STATIC_ASSERT_COMMUNICATOR(Comm);
  require(options.bucket_elements > 0, "dist::average_gradients: bucket_elements must be > 0");
  // Packed in double whatever the parameter scalar: float gradients are summed without extra
  // rounding, double ones unchanged.
  std::vector<double> buffer;
  std::vector<std::function<void()>> write_back;  // one per packed parameter
  const double inverse = 1.0 / double(comm.size());
  auto flush = [&] {
    if (write_back.empty()) return;
    comm.all_reduce_sum(buffer.data(), Index(buffer.size()));
    for (auto& write : write_back) write();
    write_back.clear();
    buffer.clear();
  };
  model.for_each_parameter([&](auto& p) {
    require(p.grad.size() == p.value.size(), "dist::average_gradients: parameter '", p.name,
            "' has no gradient buffer");
    if (!write_back.empty() && Index(buffer.size()) + p.grad.size() > options.bucket_elements)
      flush();
    const std::size_t offset = buffer.size();
    for (Index k = 0; k < p.grad.size(); ++k) buffer.push_back(double(p.grad.data()[k]));
    write_back.push_back([&p, &buffer, offset, inverse] {
      using Scalar = typename std::remove_reference_t<decltype(p.grad)>::Scalar;
      for (Index k = 0; k < p.grad.size(); ++k)
        p.grad.data()[k] = Scalar(buffer[offset + std::size_t(k)] * inverse);
      require(p.grad.allFinite(), "dist::average_gradients: parameter '", p.name,
              "' has a non-finite gradient on some rank");
    });
  });
  flush();
}

/// Every rank's parameter values become rank `root`'s (call once after construction).
template <class Comm, class Model>
void broadcast_parameters(Comm& comm, Model& model, int root = 0) {
  CCL_STATIC_ASSERT_COMMUNICATOR(Comm);
  model.for_each_parameter([&](auto& p) { comm.broadcast(p.value.data(), p.value.size(), root); });
}

}  // namespace ccl::dist
