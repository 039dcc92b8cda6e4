#pragma once
// The device results of the allocating pair-loss calls: PairLossResult<Scalar, ccl::cuda> (what
// `loss(f, g, labels)` returns for a ccl::cuda loss, Symmetric included) and
// DistillResult<Scalar, ccl::cuda> (loss::Distill's operator()). The value is on the host (the
// losses return it synchronised); the gradients stay in device memory.
//
// Host code: this header contains no kernels and compiles without nvcc.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/settings.hpp>
#include <ccl/loss/distill.hpp>
#include <ccl/loss/pair_loss.hpp>

namespace ccl::loss {

namespace detail {
template <class Scalar>
gpu::DeviceMatrix<Scalar> device_zeros_like(const EmbeddingView<const Scalar, cuda>& x) {
  gpu::DeviceMatrix<Scalar> m(x.rows(), x.cols());
  m.zero(gpu::settings().stream);
  return m;
}
}  // namespace detail

template <class Scalar>
struct PairLossResult<Scalar, cuda> {
  Scalar value{};
  gpu::DeviceMatrix<Scalar> grad_f;  ///< dL/df, same shape as f, device memory
  gpu::DeviceMatrix<Scalar> grad_g;  ///< dL/dg, same shape as g, device memory

  static PairLossResult zeros(const EmbeddingView<const Scalar, cuda>& f,
                              const EmbeddingView<const Scalar, cuda>& g) {
    PairLossResult result;
    result.grad_f = detail::device_zeros_like(f);
    result.grad_g = detail::device_zeros_like(g);
    return result;
  }
  EmbeddingView<Scalar, cuda> grad_f_view() { return grad_f.mutable_view(); }
  EmbeddingView<Scalar, cuda> grad_g_view() { return grad_g.mutable_view(); }
};

template <class Scalar>
struct DistillResult<Scalar, cuda> {
  Scalar value{};
  Scalar raw_term{};       ///< L_pair(x_v, x_t), unweighted
  Scalar composed_term{};  ///< L_pair(x_v, x_tv), unweighted
  gpu::DeviceMatrix<Scalar> grad_student, grad_teacher, grad_composed;

  static DistillResult zeros(const EmbeddingView<const Scalar, cuda>& student,
                             const EmbeddingView<const Scalar, cuda>& teacher,
                             const EmbeddingView<const Scalar, cuda>& composed) {
    DistillResult result;
    result.grad_student = detail::device_zeros_like(student);
    result.grad_teacher = detail::device_zeros_like(teacher);
    result.grad_composed = detail::device_zeros_like(composed);
    return result;
  }
  EmbeddingView<Scalar, cuda> grad_student_view() { return grad_student.mutable_view(); }
  EmbeddingView<Scalar, cuda> grad_teacher_view() { return grad_teacher.mutable_view(); }
  EmbeddingView<Scalar, cuda> grad_composed_view() { return grad_composed.mutable_view(); }
};

}  // namespace ccl::loss
