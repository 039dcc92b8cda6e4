#pragma once
// Pieces shared by the composition policies: argument checks that name the policy and the
// declared dimensions, the (optionally normalised) concatenation [x̂_t ; x̂_v] with its backward
// pass, and the classifier head's contribution to dL/dx_tv. Everything here is written once for
// every backend over the ops of core/backend_matrix.hpp, except ConcatInput, whose CUDA
// specialisation (kernels for the normalisation and the column concatenation) is in
// <ccl/cuda/compose/detail/common.hpp>.

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/detail/normalize_rows.hpp>
#include <ccl/nn/linear.hpp>

#include <type_traits>

namespace ccl::compose::detail {

/// Forward input shapes: non-empty, same batch, the widths the policy was built for (either
/// backend; the device policies add their own memory and finiteness checks).
template <class Scalar, class Backend>
void check_input_shapes(const char* op, const EmbeddingView<const Scalar, Backend>& teacher,
                        const EmbeddingView<const Scalar, Backend>& student, Index teacher_dim,
                        Index student_dim) {
  checks::non_empty(op, "teacher", teacher);
  checks::non_empty(op, "student", student);
  checks::same_rows(op, "teacher", teacher, "student", student);
  require(teacher.cols() == teacher_dim, op, ": teacher has shape ", teacher.shape(),
          " but the composition was built for teacher_dim = ", teacher_dim);
  require(student.cols() == student_dim, op, ": student has shape ", student.shape(),
          " but the composition was built for student_dim = ", student_dim);
}

/// Forward inputs: non-empty, same batch, the widths the policy was built for, in the backend's
/// memory, finite (when asked; the scan is the backend's).
template <class Scalar, class Backend>
void check_inputs(const char* op, const EmbeddingView<const Scalar, Backend>& teacher,
                  const EmbeddingView<const Scalar, Backend>& student, Index teacher_dim,
                  Index student_dim, bool scan_finite, OpScratch<Scalar, Backend>& scratch) {
  check_input_shapes(op, teacher, student, teacher_dim, student_dim);
  require_backend_memory(op, "teacher", teacher);
  require_backend_memory(op, "student", student);
  if (scan_finite) {
    check_finite(op, "teacher", teacher, scratch);
    check_finite(op, "student", student, scratch);
  }
}

/// An optional view (input or output gradient) is empty or exactly [rows, cols].
template <class T, class Backend>
void check_optional(const char* op, const char* name, const EmbeddingView<T, Backend>& v,
                    Index rows, Index cols) {
  if (v.data() == nullptr) return;
  require(v.rows() == rows && v.cols() == cols, op, ": ", name, " has shape ", v.shape(),
          ", expected [", rows, ", ", cols, "] (or an empty view)");
}

/// Backward arguments against the last forward's batch and the policy's dimensions.
template <class Scalar, class Backend>
void check_backward(const char* op, Index batch,
                    const EmbeddingView<const Scalar, Backend>& grad_composed, Index composed_dim,
                    const EmbeddingView<const Scalar, Backend>& grad_logits, Index classes,
                    const EmbeddingView<Scalar, Backend>& grad_student, Index student_dim,
                    const EmbeddingView<Scalar, Backend>& grad_teacher, Index teacher_dim) {
  require(batch > 0, op, ": backward called before forward");
  check_optional(op, "grad_composed", grad_composed, batch, composed_dim);
  check_optional(op, "grad_logits", grad_logits, batch, classes);
  check_optional(op, "grad_student", grad_student, batch, student_dim);
  check_optional(op, "grad_teacher", grad_teacher, batch, teacher_dim);
}

template <class T, class Backend>
bool given(const EmbeddingView<T, Backend>& v) {
  return v.data() != nullptr;
}

/// The gradient views a backward pass reads and writes are in the backend's memory.
template <class Scalar, class Backend>
void require_backend_gradients(const char* op, const EmbeddingView<const Scalar, Backend>& composed,
                               const EmbeddingView<const Scalar, Backend>& logits,
                               const EmbeddingView<Scalar, Backend>& student,
                               const EmbeddingView<Scalar, Backend>& teacher) {
  require_backend_memory(op, "grad_composed", composed);
  require_backend_memory(op, "grad_logits", logits);
  require_backend_memory(op, "grad_student", student);
  require_backend_memory(op, "grad_teacher", teacher);
}

/// [x̂_t ; x̂_v] with x̂ = x / max(‖x‖, 1e-12) (PyTorch's F.normalize, method.md §3.4), or the raw
/// [x_t ; x_v] when normalisation is off. Normalising makes the residual see directions only, so
/// a teacher whose features are an order of magnitude larger than the student's (PANNs
/// embeddings vs. a freshly initialised R(2+1)D) does not drown the student's half.
/// This primary template is the host engine; ConcatInput<Scalar, ccl::cuda> is the device one.
template <class Scalar, class Backend = cpu>
class ConcatInput {
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::compose::detail::ConcatInput<Scalar, ccl::cuda> lives in "
                "<ccl/cuda/compose/detail/common.hpp>; include <ccl/cuda/compose/...> (or "
                "<ccl/cuda.hpp>) to compose on the GPU");

 public:
  void forward(const EmbeddingView<const Scalar>& teacher,
               const EmbeddingView<const Scalar>& student, bool normalize) {
    normalize_ = normalize;
    teacher_dim_ = teacher.cols();
    concat_.resize(teacher.rows(), teacher.cols() + student.cols());
    if (normalize) {
      loss::detail::normalize_rows(teacher, unit_t_, norm_t_);
      loss::detail::normalize_rows(student, unit_v_, norm_v_);
      concat_.leftCols(teacher.cols()) = unit_t_;
      concat_.rightCols(student.cols()) = unit_v_;
    } else {
      concat_.leftCols(teacher.cols()) = teacher.matrix();
      concat_.rightCols(student.cols()) = student.matrix();
    }
  }

  const RowMatrix<Scalar>& value() const { return concat_; }

  /// Adds the gradient w.r.t. the concatenation into grad_teacher and grad_student (each skipped
  /// when empty), through the normalisation's Jacobian (I − x̂x̂ᵀ)/‖x‖.
  void backward(const RowMatrix<Scalar>& grad_concat, const EmbeddingView<Scalar>& grad_teacher,
                const EmbeddingView<Scalar>& grad_student) {
    const Index student_dim = concat_.cols() - teacher_dim_;
    if (given(grad_teacher)) {
      if (normalize_) {
        grad_unit_ = grad_concat.leftCols(teacher_dim_);
        loss::detail::normalize_rows_backward(unit_t_, norm_t_, grad_unit_, Scalar(1),
                                              grad_teacher);
      } else {
        grad_teacher.matrix() += grad_concat.leftCols(teacher_dim_);
      }
    }
    if (given(grad_student)) {
      if (normalize_) {
        grad_unit_ = grad_concat.rightCols(student_dim);
        loss::detail::normalize_rows_backward(unit_v_, norm_v_, grad_unit_, Scalar(1),
                                              grad_student);
      } else {
        grad_student.matrix() += grad_concat.rightCols(student_dim);
      }
    }
  }

 private:
  bool normalize_ = true;
  Index teacher_dim_ = 0;
  RowMatrix<Scalar> unit_t_, unit_v_, concat_, grad_unit_;
  Vector<Scalar> norm_t_, norm_v_;
};

/// dL/dx_tv = grad_composed + W_2ᵀ-propagated grad_logits, written into `out` (resized to
/// [batch, dim]); the classifier's own parameter gradients are accumulated unless skipped.
template <class Scalar, class Backend>
void composed_gradient(nn::Linear<Scalar, Backend>& classifier,
                       const EmbeddingView<const Scalar, Backend>& grad_composed,
                       const EmbeddingView<const Scalar, Backend>& grad_logits,
                       nn::ParameterGradients mode, Index batch, Index dim,
                       backend_matrix_t<Scalar, Backend>& out,
                       const Execution<Backend>& execution) {
  if (given(grad_composed)) {
    assign(out, grad_composed, execution);
  } else {
    set_zero(out, batch, dim, execution);
  }
  if (given(grad_logits)) classifier.backward(grad_logits, mutable_view(out), mode);
}

}  // namespace ccl::compose::detail
