#pragma once
// The CUDA backend of the row-softmax contrastive losses: specialises
// Implementation<loss::ops::RowSoftmaxContrastive<Scalar, RowObjective>, ccl::cuda>, so that
// loss::MultiClassNce<float, ccl::cuda> and loss::InstanceNce<float, ccl::cuda> take device views
// and return the same value and gradients as the CPU engine (contrastive_engine.hpp).
//
// Host glue only: the arithmetic is in the Eigen-free kernels/*.cuh. Labels stay on the host
// (LabelView), as on the CPU; their dense class ids and |P(i)| go to the device with each call
// (O(B)). The Execution<cuda> given to set_execution picks the stream, TF32 and the algorithm
// (cuBLAS tiles or ccl's fused kernels, see execution.hpp). Workspaces are members reused across
// calls.

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/checks.hpp>
#include <ccl/cuda/cublas.hpp>
#include <ccl/cuda/device.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/execution_context.hpp>
#include <ccl/cuda/kernels/contrastive_fused.cuh>
#include <ccl/cuda/kernels/contrastive_rows.cuh>
#include <ccl/cuda/kernels/contrastive_rowwise.cuh>
#include <ccl/cuda/nn/rowwise.hpp>
#include <ccl/cuda/views.hpp>
#include <ccl/loss/contrastive_options.hpp>
#include <ccl/loss/detail/contrastive_engine.hpp>
#include <ccl/loss/detail/label_groups.hpp>
#include <ccl/loss/detail/normalize_rows.hpp>
#include <ccl/loss/multiclass_nce.hpp>
#include <ccl/loss/nce.hpp>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <vector>

namespace ccl::gpu::detail {

/// Which device row objective implements a CPU row objective.
template <class RowObjective>
struct DeviceRowMode {
  static_assert(ccl::detail::dependent_false<RowObjective>,
                "ccl::cuda: this row-softmax contrastive loss has no CUDA row objective yet; "
                "add a kernels::RowMode for it in ccl/cuda/kernels/contrastive_rows.cuh");
};
template <class Scalar>
struct DeviceRowMode<loss::detail::MultiClassNceRows<Scalar>> {
  static constexpr bool uses_labels = true;
  static kernels::RowMode get(const loss::ContrastiveOptions& options) {
    return options.numerics == loss::Numerics::official ? kernels::RowMode::multiclass_official
                                                        : kernels::RowMode::multiclass_stable;
  }
};
template <class Scalar>
struct DeviceRowMode<loss::detail::InstanceNceRows<Scalar>> {
  static constexpr bool uses_labels = false;
  static kernels::RowMode get(const loss::ContrastiveOptions&) {
    return kernels::RowMode::instance;
  }
};

/// Rows of logits per cuBLAS tile when tile_rows = 0: about 256 MiB, at most the batch.
template <class Scalar>
Index automatic_device_tile_rows(Index batch) {
  const Index budget = Index(256) << 20;
  return std::clamp<Index>(budget / (batch * Index(sizeof(Scalar))), 1, batch);
}

}  // namespace ccl::gpu::detail

namespace ccl {

template <class Scalar, class RowObjective>
struct Implementation<loss::ops::RowSoftmaxContrastive<Scalar, RowObjective>, cuda> {
  /// The CPU objective validates labels and options, so both backends reject the same inputs
  /// with the same messages.
  RowObjective objective;

  /// The stream, TF32 and the algorithm (cuBLAS tiles or the fused kernels) of the next calls.
  void set_execution(const Execution<cuda>& execution) { context_.set_execution(execution); }

  /// Returns L(f, g) and adds weight * dL/df, weight * dL/dg into the non-empty gradient views.
  /// All views must be device memory; the call returns after the loss value has been copied back.
  Scalar run(const char* op, EmbeddingView<const Scalar, cuda> f,
             EmbeddingView<const Scalar, cuda> g, LabelView labels,
             const loss::ContrastiveOptions& options, Scalar weight,
             EmbeddingView<Scalar, cuda> grad_f, EmbeddingView<Scalar, cuda> grad_g) {
    loss::detail::check_contrastive_arguments(op, f, g, grad_f, grad_g, options);
    gpu::require_int_shape(op, "f", f);
    gpu::require_device_memory(op, "f", f);
    gpu::require_device_memory(op, "g", g);
    gpu::require_device_memory(op, "grad_f", grad_f);
    gpu::require_device_memory(op, "grad_g", grad_g);

    if (options.check_finite) {
      gpu::checks::finite(op, "f", f, context_.finite, stream());
      gpu::checks::finite(op, "g", g, context_.finite, stream());
    }
    objective.prepare(op, labels, f.rows(), options);
    mode_ = gpu::detail::DeviceRowMode<RowObjective>::get(options);
    batch_ = static_cast<int>(f.rows());
    dim_ = static_cast<int>(f.cols());
    upload_labels(labels);

    const bool want_f = grad_f.data() != nullptr;
    const bool want_g = grad_g.data() != nullptr;
    const std::size_t elements = std::size_t(batch_) * std::size_t(dim_);
    normalize(f, f_unit_, f_norm_);
    normalize(g, g_unit_, g_norm_);
    if (options.zero_rows == loss::ZeroRows::raise) {
      require_nonzero_rows(op, "f", f_norm_);
      require_nonzero_rows(op, "g", g_norm_);
    }
    row_loss_.resize(std::size_t(batch_));
    if (want_f) {
      grad_f_unit_.resize(elements);
      grad_f_unit_.zero(stream());
    }
    if (want_g) {
      grad_g_unit_.resize(elements);
      grad_g_unit_.zero(stream());
    }

    const Scalar inv_tau = Scalar(1.0 / options.temperature);
    // dL/dcos_ij = dℓ_i/ds_ij / (B τ): the mean over rows and the temperature.
    const Scalar gradient_scale = inv_tau / Scalar(batch_);
    const bool tf32 = std::is_same_v<Scalar, float> && context_.execution.allow_tf32;
    if (context_.execution.contrastive == gpu::ContrastiveAlgorithm::cublas) {
      run_cublas(options, inv_tau, gradient_scale, want_f, want_g);
    } else {
      run_fused_dispatch(tf32, inv_tau, gradient_scale, want_f, want_g);
    }

    if (want_f)
      gpu::normalize_rows_backward(f_unit_.data(), f_norm_.data(), grad_f_unit_.data(), weight,
                                   grad_f, stream());
    if (want_g)
      gpu::normalize_rows_backward(g_unit_.data(), g_norm_.data(), grad_g_unit_.data(), weight,
                                   grad_g, stream());
    return Scalar(total_loss() / double(batch_));
  }

 private:
  using Stats = gpu::kernels::RowStats<Scalar>;
  using Terms = gpu::kernels::RowTerms<Scalar>;
  using Final = gpu::kernels::RowFinal<Scalar>;

  void upload_labels(const LabelView& labels) {
    ids_host_.resize(std::size_t(batch_));
    positives_host_.resize(std::size_t(batch_));
    if (gpu::detail::DeviceRowMode<RowObjective>::uses_labels) {
      groups_.assign(labels);
      for (int i = 0; i < batch_; ++i) {
        ids_host_[std::size_t(i)] = groups_.ids()[i];
        positives_host_[std::size_t(i)] = static_cast<int>(groups_.positives(i));
      }
    } else {
      // Instance NCE: every row is its own class, P(i) = {i}.
      for (int i = 0; i < batch_; ++i) {
        ids_host_[std::size_t(i)] = i;
        positives_host_[std::size_t(i)] = 1;
      }
    }
    ids_.resize(std::size_t(batch_));
    positives_.resize(std::size_t(batch_));
    CCL_CUDA_CHECK(cudaMemcpyAsync(ids_.data(), ids_host_.data(), sizeof(int) * ids_host_.size(),
                                   cudaMemcpyHostToDevice, stream()));
    CCL_CUDA_CHECK(cudaMemcpyAsync(positives_.data(), positives_host_.data(),
                                   sizeof(int) * positives_host_.size(), cudaMemcpyHostToDevice,
                                   stream()));
  }

  void normalize(const EmbeddingView<const Scalar, cuda>& x, gpu::DeviceBuffer<Scalar>& unit,
                 gpu::DeviceBuffer<Scalar>& norms) {
    unit.resize(std::size_t(batch_) * std::size_t(dim_));
    norms.resize(std::size_t(batch_));
    gpu::normalize_rows<Scalar>(x, unit.data(), norms.data(), stream());
  }

  // ZeroRows::raise: the B norms come to the host (a small copy next to the B x B work).
  void require_nonzero_rows(const char* op, const char* name,
                            const gpu::DeviceBuffer<Scalar>& norms) {
    Vector<Scalar> host(batch_);
    CCL_CUDA_CHECK(cudaMemcpyAsync(host.data(), norms.data(), sizeof(Scalar) * std::size_t(batch_),
                                   cudaMemcpyDeviceToHost, stream()));
    CCL_CUDA_CHECK(cudaStreamSynchronize(stream()));
    loss::detail::require_nonzero_rows(op, name, host);
  }

  // Tiles of logits through cuBLAS, as the CPU engine does with Eigen's GEMM.
  void run_cublas(const loss::ContrastiveOptions& options, Scalar inv_tau, Scalar gradient_scale,
                  bool want_f, bool want_g) {
    const Index tile = options.tile_rows > 0
                           ? std::min<Index>(options.tile_rows, batch_)
                           : gpu::detail::automatic_device_tile_rows<Scalar>(batch_);
    logits_.resize(std::size_t(tile) * std::size_t(batch_));
    const cublasHandle_t handle = context_.handle();
    for (int first = 0; first < batch_; first += int(tile)) {
      const int rows = std::min(int(tile), batch_ - first);
      const Scalar* f_tile = f_unit_.data() + std::ptrdiff_t(first) * dim_;
      // logits[rows, B] = f̂_tile ĝ^T / τ
      gpu::gemm_row_major<Scalar>(handle, false, true, rows, batch_, dim_, inv_tau, f_tile,
                                  g_unit_.data(), Scalar(0), logits_.data());
      gpu::kernels::contrastive_rows_kernel<Scalar>
          <<<rows, gpu::kernels::rowwise_threads, 0, stream()>>>(
              logits_.data(), batch_, first, mode_,
              gpu::kernels::RowLabels{ids_.data(), positives_.data()}, want_f || want_g,
              gradient_scale, row_loss_.data());
      CCL_CUDA_CHECK_LAUNCH("contrastive_rows_kernel");
      // logits now hold dL/dcos for the tile's rows.
      if (want_f) {
        gpu::gemm_row_major<Scalar>(handle, false, false, rows, dim_, batch_, Scalar(1),
                                    logits_.data(), g_unit_.data(), Scalar(0),
                                    grad_f_unit_.data() + std::ptrdiff_t(first) * dim_);
      }
      if (want_g) {
        gpu::gemm_row_major<Scalar>(handle, true, false, batch_, dim_, rows, Scalar(1),
                                    logits_.data(), f_tile, Scalar(1), grad_g_unit_.data());
      }
    }
  }

  // TF32 variants of the fused kernels exist for fp32 only; double never instantiates them.
  void run_fused_dispatch([[maybe_unused]] bool tf32, Scalar inv_tau, Scalar gradient_scale,
                          bool want_f, bool want_g) {
    if constexpr (std::is_same_v<Scalar, float>) {
      if (tf32) {
        run_fused<true>(inv_tau, gradient_scale, want_f, want_g);
        return;
      }
    }
    run_fused<false>(inv_tau, gradient_scale, want_f, want_g);
  }

  // ccl's fused kernels: no [rows, B] block in memory at all.
  template <bool Tf32>
  void run_fused(Scalar inv_tau, Scalar gradient_scale, bool want_f, bool want_g) {
    namespace k = gpu::kernels;
    if (multiprocessors_ == 0) multiprocessors_ = gpu::multiprocessor_count();
    const int tiles = gpu::kernels::blocks_for(batch_, k::tile_size);
    // Enough blocks for about two per multiprocessor in the row passes.
    const int wanted_slices =
        std::clamp(gpu::kernels::blocks_for(2 * multiprocessors_, tiles), 1, tiles);
    const int tiles_per_slice = gpu::kernels::blocks_for(tiles, wanted_slices);
    const int slices = gpu::kernels::blocks_for(tiles, tiles_per_slice);
    const std::size_t rows = std::size_t(batch_);
    stats_partial_.resize(std::size_t(slices) * rows);
    stats_.resize(rows);
    final_.resize(rows);
    const dim3 pass_grid{unsigned(tiles), unsigned(slices), 1u};
    const int row_blocks = gpu::kernels::blocks_for(batch_, 256);

    k::fused_stats_kernel<Scalar, Tf32><<<pass_grid, k::tile_threads, 0, stream()>>>(
        f_unit_.data(), g_unit_.data(), batch_, dim_, inv_tau, ids_.data(), tiles_per_slice,
        stats_partial_.data());
    CCL_CUDA_CHECK_LAUNCH("fused_stats_kernel");
    k::merge_stats_kernel<Scalar><<<row_blocks, 256, 0, stream()>>>(
        stats_partial_.data(), slices, batch_, mode_, ids_.data(), positives_.data(), stats_.data(),
        final_.data(), row_loss_.data());
    CCL_CUDA_CHECK_LAUNCH("merge_stats_kernel");
    if (mode_ != k::RowMode::instance) {
      terms_partial_.resize(std::size_t(slices) * rows);
      k::fused_terms_kernel<Scalar, Tf32><<<pass_grid, k::tile_threads, 0, stream()>>>(
          f_unit_.data(), g_unit_.data(), batch_, dim_, inv_tau, mode_, ids_.data(), final_.data(),
          tiles_per_slice, terms_partial_.data());
      CCL_CUDA_CHECK_LAUNCH("fused_terms_kernel");
      k::merge_terms_kernel<Scalar>
          <<<row_blocks, 256, 0, stream()>>>(terms_partial_.data(), slices, batch_, mode_,
                                             stats_.data(), final_.data(), row_loss_.data());
      CCL_CUDA_CHECK_LAUNCH("merge_terms_kernel");
    }
    if (want_f) {
      k::fused_gradient_kernel<Scalar, Tf32, true><<<tiles, k::tile_threads, 0, stream()>>>(
          f_unit_.data(), g_unit_.data(), batch_, dim_, inv_tau, mode_, ids_.data(), final_.data(),
          gradient_scale, grad_f_unit_.data());
      CCL_CUDA_CHECK_LAUNCH("fused_gradient_kernel (rows)");
    }
    if (want_g) {
      k::fused_gradient_kernel<Scalar, Tf32, false><<<tiles, k::tile_threads, 0, stream()>>>(
          f_unit_.data(), g_unit_.data(), batch_, dim_, inv_tau, mode_, ids_.data(), final_.data(),
          gradient_scale, grad_g_unit_.data());
      CCL_CUDA_CHECK_LAUNCH("fused_gradient_kernel (columns)");
    }
  }

  double total_loss() {
    total_.resize(1);
    gpu::kernels::sum_row_losses_kernel<><<<1, gpu::kernels::rowwise_threads, 0, stream()>>>(
        row_loss_.data(), batch_, total_.data());
    CCL_CUDA_CHECK_LAUNCH("sum_row_losses_kernel");
    double total = 0;
    CCL_CUDA_CHECK(
        cudaMemcpyAsync(&total, total_.data(), sizeof(double), cudaMemcpyDeviceToHost, stream()));
    CCL_CUDA_CHECK(cudaStreamSynchronize(stream()));
    return total;
  }

  cudaStream_t stream() const { return context_.stream(); }

  gpu::ExecutionContext context_;
  gpu::kernels::RowMode mode_ = gpu::kernels::RowMode::instance;
  int batch_ = 0;
  int dim_ = 0;
  int multiprocessors_ = 0;
  loss::detail::LabelGroups groups_;
  std::vector<int> ids_host_, positives_host_;
  gpu::DeviceBuffer<int> ids_, positives_;
  gpu::DeviceBuffer<Scalar> f_unit_, g_unit_, f_norm_, g_norm_, grad_f_unit_, grad_g_unit_, logits_;
  gpu::DeviceBuffer<double> row_loss_, total_;
  gpu::DeviceBuffer<Stats> stats_partial_, stats_;
  gpu::DeviceBuffer<Terms> terms_partial_;
  gpu::DeviceBuffer<Final> final_;
};

}  // namespace ccl
