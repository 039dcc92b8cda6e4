#pragma once
// The device version of the memory-bank engine of CRD and CMC
// (ccl/loss/baselines/detail/contrast_memory.hpp): both banks live in device memory; scores,
// the NCE / softmax objectives, the gradient through the L2 normalisation and the momentum update
// are the kernels of kernels/baselines_memory.cuh. The contrast indices are drawn on the host
// (by the caller, from the same ccl::Rng as the CPU loss) and uploaded, [B, K + 1] 64-bit.
// The banks are initialised on the host from that generator and uploaded, so a seed gives the
// same banks on both backends. Scores are always gathered row by row (B·(K+1)·d work, one warp
// per score); the CPU's whole-bank GEMM path for large K differs from it only in rounding.

#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/backend_matrix.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/checks.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/baselines_memory.cuh>
#include <ccl/cuda/loss/baselines/detail/device_support.hpp>
#include <ccl/cuda/nn/rowwise.hpp>
#include <ccl/cuda/views.hpp>
#include <ccl/loss/baselines/detail/contrast_memory.hpp>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

namespace ccl::gpu::baselines {

template <class Scalar>
class DeviceMemoryContrast {
  static_assert(sizeof(Index) == sizeof(long long) && std::is_signed_v<Index>,
                "ccl::cuda memory banks upload ccl::Index contrast indices as 64-bit integers");

 public:
  using Options = loss::baselines::MemoryContrastOptions;
  using Objective = loss::baselines::ContrastObjective;

  DeviceMemoryContrast(const char* op, Index dataset_size, Index dim, const Options& options,
                       Rng& rng)
      : op_(op), options_(options) {
    loss::baselines::detail::check_memory_options<Scalar>(op, dataset_size, dim, options);
    require(dataset_size <= INT_MAX && dim <= INT_MAX && options.negatives < INT_MAX, op,
            ": dataset size ", dataset_size, ", width ", dim, " or K = ", options.negatives,
            " beyond the CUDA backend's 32-bit indices");
    RowMatrix<Scalar> memory_s, memory_t;
    loss::baselines::detail::initial_banks(dataset_size, dim, rng, memory_s, memory_t);
    dataset_size_ = dataset_size;
    dim_ = dim;
    host_memory_s_ = std::move(memory_s);
    host_memory_t_ = std::move(memory_t);
  }

  /// The loss's stream and TF32 from now on (core/execution.hpp).
  void set_execution(const Execution<cuda>& execution) {
    workspace_.set_execution(execution);
    scratch_.set_execution(execution);
  }
  const Execution<cuda>& execution() const { return scratch_.execution; }

  const Options& options() const { return options_; }
  Index dataset_size() const { return dataset_size_; }
  Index dim() const { return dim_; }
  /// The banks [N, d] in device memory (uploaded at first use, so that a loss can be built
  /// without a device).
  DeviceMatrix<Scalar>& memory_student() { return banks().first; }
  DeviceMatrix<Scalar>& memory_teacher() { return banks().second; }
  double& z_student() { return z_s_; }
  double& z_teacher() { return z_t_; }

  void check_batch(const EmbeddingView<const Scalar, cuda>& e_s,
                   const EmbeddingView<const Scalar, cuda>& e_t,
                   const EmbeddingView<Scalar, cuda>& grad_s,
                   const EmbeddingView<Scalar, cuda>& grad_t) {
    loss::baselines::detail::check_memory_batch(op_, dim(), e_s, e_t, grad_s, grad_t,
                                                options_.check_finite, scratch_);
  }

  void check_indices(const loss::baselines::SampleIndices& indices, Index batch) const {
    loss::baselines::detail::check_sample_indices(op_, indices, batch, dataset_size());
  }

  /// L_s + L_t for given contrast indices; sets Z on the first NCE call; adds weight · dL/de.
  Scalar score(const EmbeddingView<const Scalar, cuda>& e_s,
               const EmbeddingView<const Scalar, cuda>& e_t,
               const loss::baselines::ContrastIndices& idx, Objective objective, Scalar weight,
               const EmbeddingView<Scalar, cuda>& grad_s,
               const EmbeddingView<Scalar, cuda>& grad_t) {
    check_batch(e_s, e_t, grad_s, grad_t);
    loss::baselines::detail::check_contrast_indices(op_, idx, e_s.rows(), dataset_size());
    require(idx.cols() <= INT_MAX, op_, ": ", idx.cols(),
            " contrast columns exceed the CUDA backend's 32-bit indices");
    const cudaStream_t stream = workspace_.stream();
    banks();
    upload(idx.data(), std::size_t(idx.size()), idx_);
    normalize(e_s, unit_s_, norm_s_);
    normalize(e_t, unit_t_, norm_t_);
    const int cols = static_cast<int>(idx.cols());
    const double value_s = side(unit_s_, memory_t_, cols, objective, z_s_, scores_s_);
    const double value_t = side(unit_t_, memory_s_, cols, objective, z_t_, scores_t_);
    backward(unit_s_, norm_s_, memory_t_, cols, scores_s_, weight, grad_s);
    backward(unit_t_, norm_t_, memory_s_, cols, scores_t_, weight, grad_t);
    (void)stream;
    return Scalar(value_s + value_t);
  }

  /// The momentum update of both banks at the batch's own indices (after score()).
  void update(const EmbeddingView<const Scalar, cuda>& e_s,
              const EmbeddingView<const Scalar, cuda>& e_t,
              const loss::baselines::SampleIndices& indices) {
    const cudaStream_t stream = workspace_.stream();
    banks();
    const int b = static_cast<int>(e_s.rows());
    own_host_.resize(std::size_t(b));
    for (int i = 0; i < b; ++i) own_host_[std::size_t(i)] = static_cast<long long>(indices[i]);
    upload(own_host_.data(), own_host_.size(), own_);
    normalize(e_s, unit_s_, norm_s_);
    normalize(e_t, unit_t_, norm_t_);
    kernels::baselines::momentum_update_kernel<Scalar>
        <<<2, kernels::baselines::memory_threads, 0, stream>>>(
            memory_s_.data(), memory_t_.data(), static_cast<int>(dim_), unit_s_.data(),
            unit_t_.data(), own_.data(), b, Scalar(options_.momentum));
    CCL_CUDA_CHECK_LAUNCH("momentum_update_kernel");
    // The caller's indices and embeddings may change once we return; nothing else waits here.
    CCL_CUDA_CHECK(cudaStreamSynchronize(stream));
  }

 private:
  std::pair<DeviceMatrix<Scalar>&, DeviceMatrix<Scalar>&> banks() {
    if (host_memory_s_.size() > 0) {
      memory_s_ = to_device(host_memory_s_, workspace_.stream());
      memory_t_ = to_device(host_memory_t_, workspace_.stream());
      CCL_CUDA_CHECK(cudaStreamSynchronize(workspace_.stream()));
      host_memory_s_.resize(0, 0);
      host_memory_t_.resize(0, 0);
    }
    return {memory_s_, memory_t_};
  }

  template <class T>
  void upload(const T* host, std::size_t count, DeviceBuffer<long long>& device) {
    device.resize(count);
    CCL_CUDA_CHECK(cudaMemcpyAsync(device.data(), host, count * sizeof(long long),
                                   cudaMemcpyHostToDevice, workspace_.stream()));
  }

  void normalize(const EmbeddingView<const Scalar, cuda>& e, DeviceBuffer<Scalar>& unit,
                 DeviceBuffer<Scalar>& norms) {
    const int rows = static_cast<int>(e.rows());
    unit.resize(std::size_t(rows) * std::size_t(dim_));
    norms.resize(std::size_t(rows));
    gpu::normalize_rows<Scalar>(e, unit.data(), norms.data(), workspace_.stream());
  }

  // The loss of one side; on return `scores` holds dL/dx_ik for the logits x_ik = m_ik·u_i / T.
  double side(const DeviceBuffer<Scalar>& anchors, const DeviceMatrix<Scalar>& memory, int cols,
              Objective objective, double& z, DeviceBuffer<Scalar>& scores) {
    namespace k = kernels::baselines;
    const cudaStream_t stream = workspace_.stream();
    const int b = static_cast<int>(anchors.size() / std::size_t(dim_));
    const long long count = static_cast<long long>(b) * cols;
    const Scalar inv_t = Scalar(1.0 / options_.temperature);
    scores.resize(std::size_t(count));
    k::gather_scores_kernel<Scalar>
        <<<kernels::blocks_for(count, k::memory_warps), k::memory_threads, 0, stream>>>(
            memory.data(), static_cast<int>(dim_), anchors.data(), idx_.data(), b, cols, inv_t,
            scores.data());
    CCL_CUDA_CHECK_LAUNCH("gather_scores_kernel");
    double* row_loss = workspace_.row_losses(std::size_t(std::max(b, 1024)));
    if (objective == Objective::softmax) {
      k::softmax_rows_kernel<Scalar>
          <<<b, k::memory_threads, 0, stream>>>(scores.data(), cols, Scalar(b), row_loss);
      CCL_CUDA_CHECK_LAUNCH("softmax_rows_kernel");
      return workspace_.sum_row_losses(b) / double(b);
    }
    if (z < 0) {
      // Z = mean(exp(x)) · N at the first batch, then frozen (a constant for the gradient).
      const int blocks = static_cast<int>(
          std::min<long long>((count + k::memory_threads - 1) / k::memory_threads, 1024));
      k::exp_sum_kernel<Scalar>
          <<<blocks, k::memory_threads, 0, stream>>>(scores.data(), count, row_loss);
      CCL_CUDA_CHECK_LAUNCH("exp_sum_kernel");
      z = workspace_.sum_row_losses(blocks) / double(count) * double(dataset_size_);
    }
    const auto constants = loss::baselines::detail::nce_constants(cols - 1, dataset_size_);
    const Scalar log_z = Scalar(std::log(z));
    const Scalar log_c = Scalar(constants.log_c);
    const Scalar log_mpn = Scalar(constants.log_mpn);
    k::nce_rows_kernel<Scalar><<<b, k::memory_threads, 0, stream>>>(
        scores.data(), cols, log_z + log_c, log_mpn - log_c, Scalar(b), row_loss);
    CCL_CUDA_CHECK_LAUNCH("nce_rows_kernel");
    return workspace_.sum_row_losses(b) / double(b);
  }

  // grad_e += weight · dL/de from dL/dx in `grad_scores` (x = m·u/T, u = e/‖e‖).
  void backward(const DeviceBuffer<Scalar>& unit, const DeviceBuffer<Scalar>& norms,
                const DeviceMatrix<Scalar>& memory, int cols,
                const DeviceBuffer<Scalar>& grad_scores, Scalar weight,
                const EmbeddingView<Scalar, cuda>& grad_e) {
    if (grad_e.data() == nullptr) return;
    namespace k = kernels::baselines;
    const cudaStream_t stream = workspace_.stream();
    const int b = static_cast<int>(grad_e.rows());
    const int d = static_cast<int>(dim_);
    grad_unit_.resize(std::size_t(b) * std::size_t(d));
    k::gather_backward_kernel<Scalar><<<b, k::memory_threads, 0, stream>>>(
        grad_scores.data(), idx_.data(), memory.data(), d, cols, Scalar(1.0 / options_.temperature),
        grad_unit_.data());
    CCL_CUDA_CHECK_LAUNCH("gather_backward_kernel");
    gpu::normalize_rows_backward<Scalar>(unit.data(), norms.data(), grad_unit_.data(), weight,
                                         grad_e, stream);
  }

  const char* op_;
  Options options_;
  Index dataset_size_ = 0, dim_ = 0;
  RowMatrix<Scalar> host_memory_s_, host_memory_t_;  // the initial banks until first use
  DeviceMatrix<Scalar> memory_s_, memory_t_;
  double z_s_ = -1, z_t_ = -1;
  BaselineWorkspace workspace_;
  OpScratch<Scalar, cuda> scratch_;  // the NaN scan of check_batch
  DeviceBuffer<long long> idx_, own_;
  std::vector<long long> own_host_;
  DeviceBuffer<Scalar> unit_s_, unit_t_, norm_s_, norm_t_, scores_s_, scores_t_, grad_unit_;
};

}  // namespace ccl::gpu::baselines

namespace ccl::loss::baselines::detail {
template <class Scalar>
struct MemoryContrastEngine<Scalar, cuda> {
  using type = gpu::baselines::DeviceMemoryContrast<Scalar>;
};
}  // namespace ccl::loss::baselines::detail
