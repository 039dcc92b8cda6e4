#pragma once
// The trainable embedding heads of the COR, CRD and CMC baselines: RepDistiller's LinearEmbed /
// Embed, Linear(d → 128) (method.md §8.4, §8.6, §8.8), initialised like PyTorch's nn.Linear, and
// EmbedHeads, the pair of them around a loss on (e_s, e_t). Both take the backend: a
// nn::Linear<Scalar, ccl::cuda> head draws its weights on the host with the CPU rules, so one
// seed gives both backends identical heads.

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>

#include <string>

namespace ccl::pipeline::objectives {

/// RepDistiller's embedding width.
inline constexpr Index default_embed_dim = 128;

namespace detail {

/// Linear(in → out) drawn from `rng`, its parameters renamed "<name>.weight", "<name>.bias" so
/// that the two heads of one objective stay distinct in optimisers and checkpoints.
template <class Scalar, class Backend = cpu>
nn::Linear<Scalar, Backend> embed_head(const char* op, const std::string& name, Index in, Index out,
                                       Rng& rng) {
  require(in > 0 && out > 0, op, ": the ", name, " head needs positive sizes, got ", in, " -> ",
          out);
  nn::Linear<Scalar, Backend> head(in, out, rng);
  head.weight().name = name + ".weight";
  head.bias().name = name + ".bias";
  return head;
}

/// The student's and the teacher's embedding heads, "embed_student.*" and "embed_teacher.*",
/// drawn in that order from `rng`. run() maps x_v and x_t through them, hands e_s, e_t and zeroed
/// gradient workspaces to `loss`, and back-propagates: into x_v and the student head, and into
/// the teacher head's parameters only (the teacher itself is frozen).
template <class Scalar, class Backend>
class EmbedHeads {
  using View = EmbeddingView<const Scalar, Backend>;
  using MutableView = EmbeddingView<Scalar, Backend>;

 public:
  using Head = nn::Linear<Scalar, Backend>;

  EmbedHeads(const char* op, Index student_dim, Index teacher_dim, Index embed_dim, Rng& rng)
      : student_(embed_head<Scalar, Backend>(op, "embed_student", student_dim, embed_dim, rng)),
        teacher_(embed_head<Scalar, Backend>(op, "embed_teacher", teacher_dim, embed_dim, rng)) {}

  Head& student() { return student_; }
  Head& teacher() { return teacher_; }

  void check_inputs(const char* op, View x_v, View x_t) const {
    require(x_v.cols() == student_.in_features() && x_t.cols() == teacher_.in_features(), op,
            ": embeddings of shapes x_v ", x_v.shape(), " and x_t ", x_t.shape(),
            " but the heads take ", student_.in_features(), "-d and ", teacher_.in_features(),
            "-d inputs");
  }

  /// `loss(e_s, e_t, grad_e_s, grad_e_t)` returns the loss value and adds its (weighted)
  /// gradients into the two workspaces.
  template <class Loss>
  Scalar run(View x_v, View x_t, MutableView grad_x_v, Loss&& loss) {
    const auto& e_s = student_.forward(x_v);
    const auto& e_t = teacher_.forward(x_t);
    set_zero(grad_e_s_, e_s.rows(), e_s.cols(), student_.execution());
    set_zero(grad_e_t_, e_t.rows(), e_t.cols(), student_.execution());
    const Scalar value =
        loss(view(e_s), view(e_t), mutable_view(grad_e_s_), mutable_view(grad_e_t_));
    student_.backward(view(grad_e_s_), grad_x_v);
    teacher_.backward(view(grad_e_t_), MutableView{});  // the head learns; the teacher does not
    return value;
  }

  /// The student head's parameters, then the teacher head's.
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    student_.for_each_parameter(visit);
    teacher_.for_each_parameter(visit);
  }

  void zero_grad() {
    student_.zero_grad();
    teacher_.zero_grad();
  }

  void set_execution(const Execution<Backend>& execution) {
    set_executions(execution, student_, teacher_);
  }

 private:
  Head student_, teacher_;
  backend_matrix_t<Scalar, Backend> grad_e_s_, grad_e_t_;
};

}  // namespace detail
}  // namespace ccl::pipeline::objectives
