#pragma once
// Averaged, bucketed gradient all-reduce and the parameter broadcast of data-parallel training,
// written once for host and device parameters.
//
//   ccl::dist::broadcast_parameters(comm, model);      // once: every rank starts from rank 0's θ
//   ... forward, loss, backward on the local shard ...
//   ccl::dist::average_gradients(comm, model);         // grad ← (1/R) Σ_r grad_r
//   optimizer.step();                                 // identical on every rank
//
// Buckets: parameters are packed, in for_each_parameter order, into buffers of at most
// `bucket_elements` values and each bucket is one all-reduce: few large messages instead of one
// per tensor (latency), without a second copy of the whole model (memory). The buckets are
// matrices of the parameters' backend (backend_of_t<Model>, host unless the model declares
// `backend_type`), so device gradients are packed by device kernels and all-reduced in device
// memory by dist::nccl, or staged through the host for dist::mpi (dist/collectives.hpp). The
// sums themselves are the transport's; with R ranks the average equals the 1-rank gradient of
// the global-batch mean up to the rounding of that sum (exactly, for a sum order the library
// fixes; see docs/distributed.md).

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/dist/collectives.hpp>
#include <ccl/dist/communicator.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

namespace ccl::dist {

struct GradientSyncOptions {
  Index bucket_elements = Index(1) << 20;  ///< values per all-reduce (8 MiB of double)
};

namespace detail {

/// A parameter's value or gradient (a whole matrix) as one [1, size] row, the bucket's layout.
template <class Matrix>
auto as_row(Matrix& matrix) {
  const auto whole = mutable_view(matrix);
  using View = std::decay_t<decltype(whole)>;
  return View(whole.data(), whole.empty() ? 0 : 1, whole.rows() * whole.cols());
}

}  // namespace detail

/// The gradient averaging of one training loop: keeps its bucket and scan workspace between
/// steps (on the device, allocating them every step would cost a cudaMalloc/cudaFree pair, and
/// cudaFree synchronises the device).
template <class Backend>
class GradientAverager {
 public:
  explicit GradientAverager(GradientSyncOptions options = {}) : options_(options) {
    require(options_.bucket_elements > 0, "dist::average_gradients: bucket_elements must be > 0");
  }

  /// Replaces every parameter's gradient by the mean over ranks. Throws ccl::error (on every
  /// rank) when a gradient is non-finite on any rank, naming the parameter.
  template <class Comm, class Model>
  void operator()(Comm& comm, Model& model) {
    CCL_STATIC_ASSERT_COMMUNICATOR(Comm);
    static_assert(std::is_same_v<backend_of_t<Model>, Backend>,
                  "ccl::dist::GradientAverager<Backend>: the model's backend_type differs");
    const double inverse = 1.0 / double(comm.size());
    model.for_each_parameter([&](auto& p) {
      const Index size = p.value.rows() * p.value.cols();
      require(p.grad.rows() * p.grad.cols() == size, op_, ": parameter '", p.name,
              "' has no gradient buffer");
      if (size == 0) return;
      if (!packed_.empty() && filled_ + size > options_.bucket_elements) flush(comm);
      if (buffer_.cols() < filled_ + size)  // nothing packed then: the bucket was just flushed
        set_zero(buffer_, 1, std::max(options_.bucket_elements, size), scratch_.execution);
      const auto grad = detail::as_row(p.grad);
      using GradView = std::decay_t<decltype(grad)>;
      using Scalar = std::remove_const_t<typename GradView::Scalar>;
      static_assert(std::is_same_v<GradView, EmbeddingView<Scalar, Backend>>,
                    "ccl::dist::average_gradients: the parameters live in another backend than "
                    "the model's backend_type (a model without one counts as ccl::cpu); declare "
                    "`using backend_type = ccl::cuda;` in a device model");
      convert_into(EmbeddingView<const Scalar, Backend>(grad),
                   mutable_view(buffer_).middle_cols(filled_, size), 1.0, scratch_.execution);
      packed_.push_back({p.name, filled_, size});
      write_back_.push_back([this, grad, inverse](EmbeddingView<const double, Backend> sums) {
        convert_into(sums, grad, inverse, scratch_.execution);
      });
      filled_ += size;
    });
    flush(comm);
  }

  /// The packing, scans and staging run with `execution` (core/execution.hpp): the stream of the
  /// model whose gradients are averaged.
  void set_execution(const Execution<Backend>& execution) { scratch_.set_execution(execution); }

 private:
  struct Packed {
    std::string name;
    Index offset = 0, size = 0;
  };

  template <class Comm>
  void flush(Comm& comm) {
    if (packed_.empty()) return;
    const auto bucket = mutable_view(buffer_).middle_cols(0, filled_);
    all_reduce_sum(comm, bucket, scratch_.execution);
    const EmbeddingView<const double, Backend> sums = bucket;
    const Index bad = first_non_finite(sums, scratch_);
    for (const Packed& p : packed_)
      require(bad < p.offset || bad >= p.offset + p.size, op_, ": parameter '", p.name,
              "' has a non-finite gradient on some rank");
    for (std::size_t k = 0; k < packed_.size(); ++k)
      write_back_[k](sums.middle_cols(packed_[k].offset, packed_[k].size));
    packed_.clear();
    write_back_.clear();
    filled_ = 0;
  }

  static constexpr const char* op_ = "dist::average_gradients";
  GradientSyncOptions options_;
  // Packed in double whatever the parameter scalar: float gradients are summed without extra
  // rounding, double ones unchanged. Every bucket starts at column 0 of the same buffer.
  backend_matrix_t<double, Backend> buffer_;
  OpScratch<double, Backend> scratch_;
  Index filled_ = 0;
  std::vector<Packed> packed_;  // the bucket's parameters, in packing order
  // One per packed parameter: its gradient <- its averaged sums.
  std::vector<std::function<void(EmbeddingView<const double, Backend>)>> write_back_;
};

/// Replaces every parameter's gradient by the mean over ranks (a GradientAverager for one call;
/// a training loop keeps one). Throws ccl::error (on every rank) when a gradient is non-finite on
/// any rank, naming the parameter.
template <class Comm, class Model>
void average_gradients(Comm& comm, Model& model, GradientSyncOptions options = {}) {
  GradientAverager<backend_of_t<Model>> average(options);
  average(comm, model);
}

/// Every rank's parameter values become rank `root`'s (call once after construction). A device
/// model's copies run on `execution`'s stream: the model's (default: the legacy default stream,
/// right for a model that has not been given another).
template <class Comm, class Model>
void broadcast_parameters(Comm& comm, Model& model, int root = 0,
                          const Execution<backend_of_t<Model>>& execution = {}) {
  CCL_STATIC_ASSERT_COMMUNICATOR(Comm);
  model.for_each_parameter(
      [&](auto& p) { broadcast(comm, detail::as_row(p.value), root, execution); });
}

}  // namespace ccl::dist
