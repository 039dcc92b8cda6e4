#pragma once
// The device engine of compose/detail/common.hpp: ConcatInput<Scalar, ccl::cuda>, the (optionally
// normalised) concatenation [x̂_t ; x̂_v] with its backward pass on device kernels. Everything else
// the compositions share (checks, dL/dx_tv) is written once there, over the ops that
// cuda/backend_matrix.hpp and cuda/nn/linear.hpp bring for device views.

#include <ccl/compose/detail/common.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/backend_matrix.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/nn/linear.hpp>
#include <ccl/cuda/nn/rowwise.hpp>
#include <ccl/cuda/views.hpp>

namespace ccl::compose::detail {

/// [x̂_t ; x̂_v] (or [x_t ; x_v]) on the device; see ConcatInput in compose/detail/common.hpp.
template <class Scalar>
class ConcatInput<Scalar, cuda> {
 public:
  void set_execution(const Execution<cuda>& execution) { rebind_execution(execution_, execution); }

  void forward(const EmbeddingView<const Scalar, cuda>& teacher,
               const EmbeddingView<const Scalar, cuda>& student, bool normalize) {
    normalize_ = normalize;
    teacher_dim_ = teacher.cols();
    if (normalize) {
      gpu::normalize_rows<Scalar>(teacher, unit_t_, norm_t_, execution_.stream);
      gpu::normalize_rows<Scalar>(student, unit_v_, norm_v_, execution_.stream);
      gpu::concat_columns<Scalar>(unit_t_.view(), unit_v_.view(), concat_, execution_.stream);
    } else {
      gpu::concat_columns<Scalar>(teacher, student, concat_, execution_.stream);
    }
  }

  const gpu::DeviceMatrix<Scalar>& value() const { return concat_; }

  /// Adds the gradient w.r.t. the concatenation into grad_teacher and grad_student (each skipped
  /// when empty), through the normalisation's Jacobian when it was on.
  void backward(const gpu::DeviceMatrix<Scalar>& grad_concat,
                const EmbeddingView<Scalar, cuda>& grad_teacher,
                const EmbeddingView<Scalar, cuda>& grad_student) {
    const Index student_dim = concat_.cols() - teacher_dim_;
    const EmbeddingView<const Scalar, cuda> left = grad_concat.view().middle_cols(0, teacher_dim_);
    const EmbeddingView<const Scalar, cuda> right =
        grad_concat.view().middle_cols(teacher_dim_, student_dim);
    if (given(grad_teacher)) half_backward(left, unit_t_, norm_t_, grad_teacher);
    if (given(grad_student)) half_backward(right, unit_v_, norm_v_, grad_student);
  }

 private:
  void half_backward(const EmbeddingView<const Scalar, cuda>& grad_half,
                     const gpu::DeviceMatrix<Scalar>& unit, const gpu::DeviceBuffer<Scalar>& norms,
                     const EmbeddingView<Scalar, cuda>& grad_x) {
    if (!normalize_) {
      gpu::accumulate<Scalar>(grad_half, grad_x, Scalar(1), execution_.stream);
      return;
    }
    // The normalisation kernel reads a contiguous gradient: copy the column block out first.
    grad_unit_.resize(grad_half.rows(), grad_half.cols());
    gpu::copy<Scalar>(grad_half, grad_unit_.mutable_view(), execution_.stream);
    gpu::normalize_rows_backward<Scalar>(unit, norms, grad_unit_, Scalar(1), grad_x,
                                         execution_.stream);
  }

  Execution<cuda> execution_;
  bool normalize_ = true;
  Index teacher_dim_ = 0;
  gpu::DeviceMatrix<Scalar> unit_t_, unit_v_, concat_, grad_unit_;
  gpu::DeviceBuffer<Scalar> norm_t_, norm_v_;
};

}  // namespace ccl::compose::detail
