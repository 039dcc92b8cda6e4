#pragma once
// WithEmbedHeads<Loss, Head>: a (student, teacher) pair loss behind two trainable embedding
// heads, e_s = H_s(f_s), e_t = H_t(f_t), as COR (RepDistiller's LinearEmbed, Linear(d → 128);
// method.md §8.4) needs. The heads are joint-trained with the student (method.md §8: same
// optimiser), so for_each_parameter exposes them to it.
//
// Head is any layer with the nn calling convention (ccl::nn::Linear<Scalar> in practice):
//   const RowMatrix<Scalar>& forward(x);  void backward(grad_y, grad_x);  for_each_parameter(v).
// It is a template parameter rather than an include of <ccl/nn/linear.hpp> because the loss layer
// never depends on nn (design.md: dependencies point downwards only).
//
// accumulate() runs both heads, the loss on their outputs, and both backward passes: the heads'
// parameter gradients receive weight · dL/dθ, grad_student / grad_teacher (when non-empty)
// receive weight · dL/df. The teacher head is trained even when the teacher is frozen: its
// gradient reaches the head's parameters whether or not grad_teacher is requested.

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/pair_loss.hpp>

#include <utility>

namespace ccl::loss::baselines {

template <class Loss, class Head, class Scalar = float>
class WithEmbedHeads : public PairLossInterface<WithEmbedHeads<Loss, Head, Scalar>, Scalar> {
  static_assert(is_pair_loss_v<Loss, Scalar>,
                "ccl::loss::baselines::WithEmbedHeads<Loss, Head, Scalar>: Loss must provide the "
                "pair-loss accumulate(f, g, labels, weight, grad_f, grad_g) for this Scalar");

 public:
  WithEmbedHeads(Loss loss, Head student_head, Head teacher_head)
      : loss_(std::move(loss)),
        student_head_(std::move(student_head)),
        teacher_head_(std::move(teacher_head)) {}

  Loss& inner() { return loss_; }
  Head& student_head() { return student_head_; }
  Head& teacher_head() { return teacher_head_; }

  Scalar accumulate(EmbeddingView<const Scalar> student, EmbeddingView<const Scalar> teacher,
                    LabelView labels, Scalar weight, EmbeddingView<Scalar> grad_student,
                    EmbeddingView<Scalar> grad_teacher) {
    const RowMatrix<Scalar>& e_s = student_head_.forward(student);
    const RowMatrix<Scalar>& e_t = teacher_head_.forward(teacher);
    grad_e_s_.setZero(e_s.rows(), e_s.cols());
    grad_e_t_.setZero(e_t.rows(), e_t.cols());
    const Scalar value = loss_.accumulate(view(e_s), view(e_t), labels, weight,
                                          mutable_view(grad_e_s_), mutable_view(grad_e_t_));
    student_head_.backward(view(grad_e_s_), grad_student);
    teacher_head_.backward(view(grad_e_t_), grad_teacher);
    return value;
  }

  /// Visits the student head's parameters, then the teacher head's.
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    student_head_.for_each_parameter(visit);
    teacher_head_.for_each_parameter(visit);
  }

 private:
  Loss loss_;
  Head student_head_, teacher_head_;
  RowMatrix<Scalar> grad_e_s_, grad_e_t_;
};

}  // namespace ccl::loss::baselines
