#pragma once
// Device counterparts of compose/detail/common.hpp, shared by the device composition policies:
// the forward checks (shapes as on the CPU, then device memory and the device NaN scan), the
// (optionally normalised) concatenation [x̂_t ; x̂_v] with its backward pass, and the classifier
// head's contribution to dL/dx_tv. Backward-argument checks are the CPU's (backend-generic).

#include <ccl/compose/detail/common.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/checks.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/nn/linear.hpp>
#include <ccl/cuda/nn/rowwise.hpp>
#include <ccl/cuda/settings.hpp>
#include <ccl/cuda/views.hpp>

namespace ccl::compose::detail {

/// Forward inputs on the device: the CPU's shape checks, device memory, then (optionally) the
/// device NaN/Inf scan, whose message is the CPU's.
template <class Scalar>
void check_device_inputs(const char* op, const EmbeddingView<const Scalar, cuda>& teacher,
                         const EmbeddingView<const Scalar, cuda>& student, Index teacher_dim,
                         Index student_dim, bool check_finite,
                         gpu::DeviceBuffer<unsigned long long>& scratch) {
  check_input_shapes(op, teacher, student, teacher_dim, student_dim);
  gpu::detail::require_int_shape(op, "teacher", teacher);
  gpu::detail::require_int_shape(op, "student", student);
  gpu::require_device_memory(op, "teacher", teacher);
  gpu::require_device_memory(op, "student", student);
  if (check_finite) {
    gpu::checks::finite(op, "teacher", teacher, scratch, gpu::settings().stream);
    gpu::checks::finite(op, "student", student, scratch, gpu::settings().stream);
  }
}

/// Device gradient views the backward pass writes must be device memory.
template <class Scalar>
void require_device_gradients(const char* op, const EmbeddingView<const Scalar, cuda>& composed,
                              const EmbeddingView<const Scalar, cuda>& logits,
                              const EmbeddingView<Scalar, cuda>& student,
                              const EmbeddingView<Scalar, cuda>& teacher) {
  gpu::require_device_memory(op, "grad_composed", composed);
  gpu::require_device_memory(op, "grad_logits", logits);
  gpu::require_device_memory(op, "grad_student", student);
  gpu::require_device_memory(op, "grad_teacher", teacher);
}

/// [x̂_t ; x̂_v] (or [x_t ; x_v]) on the device; see ConcatInput in compose/detail/common.hpp.
template <class Scalar>
class DeviceConcatInput {
 public:
  void forward(const EmbeddingView<const Scalar, cuda>& teacher,
               const EmbeddingView<const Scalar, cuda>& student, bool normalize) {
    normalize_ = normalize;
    teacher_dim_ = teacher.cols();
    if (normalize) {
      gpu::normalize_rows<Scalar>(teacher, unit_t_, norm_t_);
      gpu::normalize_rows<Scalar>(student, unit_v_, norm_v_);
      gpu::concat_columns<Scalar>(unit_t_.view(), unit_v_.view(), concat_);
    } else {
      gpu::concat_columns<Scalar>(teacher, student, concat_);
    }
  }

  const gpu::DeviceMatrix<Scalar>& value() const { return concat_; }

  /// Adds the gradient w.r.t. the concatenation into grad_teacher and grad_student (each skipped
  /// when empty), through the normalisation's Jacobian when it was on.
  void backward(const gpu::DeviceMatrix<Scalar>& grad_concat,
                const EmbeddingView<Scalar, cuda>& grad_teacher,
                const EmbeddingView<Scalar, cuda>& grad_student) {
    const Index student_dim = concat_.cols() - teacher_dim_;
    const EmbeddingView<const Scalar, cuda> left =
        gpu::column_block(grad_concat.view(), 0, teacher_dim_);
    const EmbeddingView<const Scalar, cuda> right =
        gpu::column_block(grad_concat.view(), teacher_dim_, student_dim);
    if (given(grad_teacher)) half_backward(left, unit_t_, norm_t_, grad_teacher);
    if (given(grad_student)) half_backward(right, unit_v_, norm_v_, grad_student);
  }

 private:
  void half_backward(const EmbeddingView<const Scalar, cuda>& grad_half,
                     const gpu::DeviceMatrix<Scalar>& unit, const gpu::DeviceBuffer<Scalar>& norms,
                     const EmbeddingView<Scalar, cuda>& grad_x) {
    if (!normalize_) {
      gpu::accumulate<Scalar>(grad_half, grad_x);
      return;
    }
    // The normalisation kernel reads a contiguous gradient: copy the column block out first.
    grad_unit_.resize(grad_half.rows(), grad_half.cols());
    gpu::copy<Scalar>(grad_half, grad_unit_.mutable_view());
    gpu::normalize_rows_backward<Scalar>(unit, norms, grad_unit_, Scalar(1), grad_x);
  }

  bool normalize_ = true;
  Index teacher_dim_ = 0;
  gpu::DeviceMatrix<Scalar> unit_t_, unit_v_, concat_, grad_unit_;
  gpu::DeviceBuffer<Scalar> norm_t_, norm_v_;
};

/// dL/dx_tv = grad_composed + the classifier's back-propagated grad_logits, written into `out`
/// (resized to [batch, dim]); the classifier's parameter gradients accumulate unless skipped.
template <class Scalar>
void composed_gradient(nn::Linear<Scalar, cuda>& classifier,
                       const EmbeddingView<const Scalar, cuda>& grad_composed,
                       const EmbeddingView<const Scalar, cuda>& grad_logits,
                       nn::ParameterGradients mode, Index batch, Index dim,
                       gpu::DeviceMatrix<Scalar>& out) {
  out.resize(batch, dim);
  if (given(grad_composed)) {
    gpu::copy<Scalar>(grad_composed, out.mutable_view());
  } else {
    out.zero(gpu::settings().stream);
  }
  if (given(grad_logits)) classifier.backward(grad_logits, out.mutable_view(), mode);
}

/// A zeroed [rows, cols] workspace (asynchronous).
template <class Scalar>
void zeroed(gpu::DeviceMatrix<Scalar>& m, Index rows, Index cols) {
  m.resize(rows, cols);
  m.zero(gpu::settings().stream);
}

}  // namespace ccl::compose::detail
