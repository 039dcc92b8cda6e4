#pragma once
// RKD on device views: the class is written once (ccl/loss/baselines/rkd.hpp); this is its device
// arithmetic, L = w_d · L_D + w_a · L_A with the CPU's clamps (1e-12), SmoothL1 and
// normalisations, same value and gradients.
//   distance: one Gram GEMM per side, B x B kernels, the mean distance reduced on the device.
//   angle:    anchors in chunks; per chunk, the unit differences U_a [B, D] of every anchor a are
//             written at once and cuBLAS strided-batched GEMMs give cos_a = U_a U_aᵀ and
//             (G_a + G_aᵀ) U_a. Work O(B³·D) as on the CPU; memory O(chunk·B·(B + D)), the chunk
//             chosen so that about 2^24 elements per side are live.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/baselines_pairwise.cuh>
#include <ccl/cuda/kernels/baselines_rkd.cuh>
#include <ccl/cuda/launch.hpp>
#include <ccl/cuda/loss/baselines/detail/device_support.hpp>
#include <ccl/cuda/loss/baselines/detail/pairwise.hpp>
#include <ccl/loss/baselines/rkd.hpp>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>

namespace ccl::loss::baselines {

namespace detail {

/// Anchors per chunk of RKD's angle term on the GPU: about 2^24 live elements per side
/// (chunk · B · (D + B)), at least one anchor, at most B.
inline Index rkd_angle_chunk(Index batch, Index width) {
  const Index per_anchor = batch * (width + batch);
  return std::clamp<Index>((Index(1) << 24) / std::max<Index>(per_anchor, 1), 1, batch);
}

template <class Scalar>
class RkdArithmetic<Scalar, cuda> {
 public:
  /// Anchors of the angle term per batched step (validated by Rkd::set_angle_chunk).
  void set_angle_chunk(Index anchors) { angle_chunk_ = anchors; }

  std::pair<double, double> operator()(const EmbeddingView<const Scalar, cuda>& student,
                                       const EmbeddingView<const Scalar, cuda>& teacher,
                                       Scalar weight, const RkdOptions& options,
                                       const EmbeddingView<Scalar, cuda>& grad_student,
                                       const EmbeddingView<Scalar, cuda>& grad_teacher,
                                       Workspace<cuda>& workspace) {
    workspace_ = &workspace;
    options_ = options;
    const Index b = student.rows();
    const double distance = distance_term(student, teacher, weight, grad_student, grad_teacher) /
                            (double(b) * double(b));
    const double angle = angle_term(student, teacher, weight, grad_student, grad_teacher) /
                         (double(b) * double(b) * double(b));
    return {distance, angle};
  }

 private:
  static constexpr double clamp = NormalizedDistances<Scalar>::clamp;
  static constexpr double eps = AnchorDirections<Scalar>::eps;

  /// One side's normalised distances: sq, d, μ (device scalar), and the backward pass.
  struct Side {
    gpu::baselines::DeviceSquaredDistances<Scalar> distances;
    gpu::DeviceBuffer<Scalar> sq, d, row_sums, mean, through_rows, through_mean, grad_sq;
  };

  void distances_forward(const EmbeddingView<const Scalar, cuda>& x, Side& side) {
    namespace k = gpu::kernels::baselines;
    const int b = static_cast<int>(x.rows());
    const cudaStream_t stream = workspace_->stream();
    side.distances.forward(x, *workspace_, side.sq);
    side.d.resize(std::size_t(b) * std::size_t(b));
    side.row_sums.resize(std::size_t(b));
    side.mean.resize(1);
    k::rkd_distances_kernel<Scalar><<<b, k::pair_threads, 0, stream>>>(
        side.sq.data(), b, Scalar(clamp), side.d.data(), side.row_sums.data());
    CCL_CUDA_CHECK_LAUNCH("rkd_distances_kernel");
    const Index pairs = Index(b) * Index(b - 1);
    k::mean_kernel<Scalar><<<1, k::pair_threads, 0, stream>>>(
        side.row_sums.data(), b, Scalar(pairs), Scalar(1), side.mean.data());
    CCL_CUDA_CHECK_LAUNCH("mean_kernel");
  }

  void distances_backward(const EmbeddingView<const Scalar, cuda>& x, Side& side, Scalar sign,
                          const EmbeddingView<Scalar, cuda>& grad_x) {
    namespace k = gpu::kernels::baselines;
    const int b = static_cast<int>(x.rows());
    const cudaStream_t stream = workspace_->stream();
    const Index pairs = Index(b) * Index(b - 1);
    side.through_mean.resize(1);
    k::mean_kernel<Scalar><<<1, k::pair_threads, 0, stream>>>(
        side.through_rows.data(), b, Scalar(pairs), Scalar(0), side.through_mean.data());
    CCL_CUDA_CHECK_LAUNCH("mean_kernel");
    side.grad_sq.resize(std::size_t(b) * std::size_t(b));
    gpu::launch_elementwise("rkd_grad_sq_kernel", static_cast<long long>(b) * b, stream,
                            k::rkd_grad_sq_kernel<Scalar>, g_.data(), side.sq.data(), side.d.data(),
                            b, side.mean.data(), side.through_mean.data(), Scalar(clamp),
                            side.grad_sq.data());
    side.distances.backward(x, side.grad_sq.data(), sign, grad_x, *workspace_);
  }

  // Σ_ij SmoothL1(d^s - d^t) (before 1/B²); adds the weighted gradients.
  double distance_term(const EmbeddingView<const Scalar, cuda>& student,
                       const EmbeddingView<const Scalar, cuda>& teacher, Scalar weight,
                       const EmbeddingView<Scalar, cuda>& grad_student,
                       const EmbeddingView<Scalar, cuda>& grad_teacher) {
    namespace k = gpu::kernels::baselines;
    const int b = static_cast<int>(student.rows());
    if (b < 2) return 0;  // every off-diagonal sum is empty: d^s = d^t = 0, no gradient
    distances_forward(student, s_);
    distances_forward(teacher, t_);
    const Scalar wd = weight * Scalar(options_.distance_weight) / Scalar(Index(b) * Index(b));
    g_.resize(std::size_t(b) * std::size_t(b));
    s_.through_rows.resize(std::size_t(b));
    t_.through_rows.resize(std::size_t(b));
    k::rkd_distance_loss_kernel<Scalar><<<b, k::pair_threads, 0, workspace_->stream()>>>(
        s_.d.data(), t_.d.data(), b, s_.mean.data(), t_.mean.data(), wd, g_.data(),
        s_.through_rows.data(), t_.through_rows.data(), workspace_->row_losses(std::size_t(b)));
    CCL_CUDA_CHECK_LAUNCH("rkd_distance_loss_kernel");
    if (grad_student.data() != nullptr) distances_backward(student, s_, Scalar(1), grad_student);
    if (grad_teacher.data() != nullptr) distances_backward(teacher, t_, Scalar(-1), grad_teacher);
    return workspace_->sum_row_losses(b);
  }

  // Σ_abc SmoothL1(cos^s - cos^t) (before 1/B³); adds the weighted gradients.
  double angle_term(const EmbeddingView<const Scalar, cuda>& student,
                    const EmbeddingView<const Scalar, cuda>& teacher, Scalar weight,
                    const EmbeddingView<Scalar, cuda>& grad_student,
                    const EmbeddingView<Scalar, cuda>& grad_teacher) {
    namespace k = gpu::kernels::baselines;
    const int b = static_cast<int>(student.rows());
    const int ds = static_cast<int>(student.cols());
    const int dt = static_cast<int>(teacher.cols());
    const bool want_s = grad_student.data() != nullptr;
    const bool want_t = grad_teacher.data() != nullptr;
    const cudaStream_t stream = workspace_->stream();
    const int chunk = static_cast<int>(angle_chunk_ > 0 ? std::min<Index>(angle_chunk_, b)
                                                        : rkd_angle_chunk(b, std::max(ds, dt)));
    const Scalar wa =
        weight * Scalar(options_.angle_weight) / Scalar(Index(b) * Index(b) * Index(b));
    const std::size_t cb = std::size_t(chunk) * std::size_t(b);
    unit_s_.resize(cb * std::size_t(ds));
    unit_t_.resize(cb * std::size_t(dt));
    norms_s_.resize(cb);
    norms_t_.resize(cb);
    cos_s_.resize(cb * std::size_t(b));
    cos_t_.resize(cb * std::size_t(b));
    sym_.resize(cb * std::size_t(b));
    grad_u_.resize(cb * std::size_t(std::max(ds, dt)));
    double* angle_rows = angle_rows_.data(std::size_t(b) * std::size_t(b));
    for (int a0 = 0; a0 < b; a0 += chunk) {
      const int count = std::min(chunk, b - a0);
      directions(student, a0, count, unit_s_, norms_s_, cos_s_);
      directions(teacher, a0, count, unit_t_, norms_t_, cos_t_);
      // cos_s_ becomes G = SmoothL1'(cos^s - cos^t) · wa when a gradient is wanted.
      k::rkd_angle_loss_kernel<Scalar><<<count * b, k::pair_threads, 0, stream>>>(
          cos_s_.data(), cos_t_.data(), b, wa, (want_s || want_t) ? cos_s_.data() : nullptr,
          angle_rows + std::size_t(a0) * std::size_t(b));
      CCL_CUDA_CHECK_LAUNCH("rkd_angle_loss_kernel");
      if (!want_s && !want_t) continue;
      k::symmetrize_kernel<Scalar>
          <<<dim3(unsigned(b), unsigned(count)), k::pair_threads, 0, stream>>>(
              cos_s_.data(), b, Scalar(1), sym_.data(), nullptr);
      CCL_CUDA_CHECK_LAUNCH("symmetrize_kernel");
      if (want_s) directions_backward(a0, count, unit_s_, norms_s_, Scalar(1), grad_student);
      if (want_t) directions_backward(a0, count, unit_t_, norms_t_, Scalar(-1), grad_teacher);
    }
    return angle_rows_.sum(b * b, stream);
  }

  // U_a and cos_a = U_a U_aᵀ for the anchors a0 .. a0 + count - 1.
  void directions(const EmbeddingView<const Scalar, cuda>& x, int a0, int count,
                  gpu::DeviceBuffer<Scalar>& unit, gpu::DeviceBuffer<Scalar>& norms,
                  gpu::DeviceBuffer<Scalar>& cosines) {
    namespace k = gpu::kernels::baselines;
    const int b = static_cast<int>(x.rows());
    const int d = static_cast<int>(x.cols());
    k::rkd_directions_kernel<Scalar>
        <<<gpu::kernels::blocks_for(static_cast<long long>(count) * b, k::warps_per_block),
           32 * k::warps_per_block, 0, workspace_->stream()>>>(
            x.data(), std::ptrdiff_t(x.row_stride()), b, d, a0, count, Scalar(eps), unit.data(),
            norms.data());
    CCL_CUDA_CHECK_LAUNCH("rkd_directions_kernel");
    gpu::gemm_batched_row_major<Scalar>(workspace_->handle(), false, true, b, b, d, Scalar(1),
                                        unit.data(), unit.data(), Scalar(0), cosines.data(), count);
  }

  // grad_x += sign · Σ_a (the CPU's AnchorDirections::backward) for the chunk, from sym_ = G + Gᵀ.
  void directions_backward(int a0, int count, const gpu::DeviceBuffer<Scalar>& unit,
                           const gpu::DeviceBuffer<Scalar>& norms, Scalar sign,
                           const EmbeddingView<Scalar, cuda>& grad_x) {
    namespace k = gpu::kernels::baselines;
    const int b = static_cast<int>(grad_x.rows());
    const int d = static_cast<int>(grad_x.cols());
    const cudaStream_t stream = workspace_->stream();
    gpu::gemm_batched_row_major<Scalar>(workspace_->handle(), false, false, b, d, b, Scalar(1),
                                        sym_.data(), unit.data(), Scalar(0), grad_u_.data(), count);
    k::rkd_direction_backward_kernel<Scalar>
        <<<gpu::kernels::blocks_for(static_cast<long long>(count) * b, k::warps_per_block),
           32 * k::warps_per_block, 0, stream>>>(unit.data(), norms.data(), grad_u_.data(), b, d,
                                                 a0, count, Scalar(eps));
    CCL_CUDA_CHECK_LAUNCH("rkd_direction_backward_kernel");
    gpu::launch_elementwise("rkd_angle_scatter_kernel", static_cast<long long>(b) * d, stream,
                            k::rkd_angle_scatter_kernel<Scalar>, grad_u_.data(), b, d, a0, count,
                            sign, grad_x.data(), std::ptrdiff_t(grad_x.row_stride()));
  }

  RkdOptions options_;                    // of the current call
  Workspace<cuda>* workspace_ = nullptr;  // of the current call
  Index angle_chunk_ = 0;
  Side s_, t_;
  gpu::DeviceBuffer<Scalar> g_, unit_s_, unit_t_, norms_s_, norms_t_, cos_s_, cos_t_, sym_, grad_u_;
  gpu::RowLosses angle_rows_;  // the angle term per (anchor, row)
};

}  // namespace detail
}  // namespace ccl::loss::baselines
