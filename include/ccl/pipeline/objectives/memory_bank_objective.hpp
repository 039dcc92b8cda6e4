#pragma once
// MemoryBankObjective<Loss, Scalar>: what the CRD and CMC branch objectives share (method.md §8.6,
// §8.8) — two trainable embedding heads, a memory-bank contrastive loss, the dataset indices of
// the branch's rows, and checkpointable state.
//
//   e_s = Embed_s(x_v),  e_t = Embed_t(x_t)      Linear(d → 128); the loss L2-normalises them
//   student objective += β · L(e_s, e_t; banks, indices)
//
// Each accumulate samples the contrast indices, scores, adds the gradients (into x_v through
// Embed_s, into both heads' parameters; never into the frozen teacher) and updates the banks at
// the rows' indices — one call per step, like RepDistiller's training loop. The pipeline hands the
// rows' dataset indices to set_indices() before each accumulate (Pipeline::set_batch_indices,
// restricted to the rows that have a teacher); a step without them is an error, never a silent
// reuse of stale indices.
//
// State for checkpoints (for_each_buffer): the banks "memory_student" and "memory_teacher" [N, d];
// "normalizers" [1, 2] = (Z_s, Z_t) in double (negative until the first batch); "sampler_state",
// the negative sampler's Rng (detail/rng_buffer.hpp). Z and the generator live inside the loss,
// so for_each_buffer exports them into those matrices and the next accumulate imports them back:
// a checkpoint loaded in between (which writes into the matrices) therefore takes effect, and a
// resumed run draws the same negatives as an uninterrupted one.

#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/pipeline/objectives/baseline_terms.hpp>
#include <ccl/pipeline/objectives/detail/embed_head.hpp>
#include <ccl/pipeline/objectives/detail/rng_buffer.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ccl::pipeline::objectives::detail {

template <class Loss, class Scalar>
class MemoryBankObjective {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::pipeline::objectives: the scalar type of CrdObjective / CmcObjective must "
                "be float or double");

 public:
  using Terms = BaselineTerms<Scalar>;
  using loss_type = Loss;

  double beta() const { return beta_; }
  Loss& loss() { return loss_; }
  nn::Linear<Scalar>& student_head() { return embed_s_; }
  nn::Linear<Scalar>& teacher_head() { return embed_t_; }

  /// The dataset indices of the rows of the next accumulate (called by the pipeline).
  void set_indices(const std::vector<Index>& indices) {
    indices_.assign(indices.begin(), indices.end());
    has_indices_ = true;
  }

  template <class Composition>
  Terms accumulate(Composition& /*composition*/, EmbeddingView<const Scalar> x_v,
                   EmbeddingView<const Scalar> /*z_v*/, EmbeddingView<const Scalar> x_t,
                   LabelView labels, EmbeddingView<Scalar> grad_x_v,
                   EmbeddingView<Scalar> /*grad_z_v*/) {
    static_assert(assert_no_composition<Composition, Scalar>());
    checks::same_rows(op_, "x_v", x_v, "x_t", x_t);
    checks::labels_match(op_, x_v.rows(), labels);
    require(x_v.cols() == embed_s_.in_features() && x_t.cols() == embed_t_.in_features(), op_,
            ": embeddings of shapes x_v ", x_v.shape(), " and x_t ", x_t.shape(),
            " but the heads take ", embed_s_.in_features(), "-d and ", embed_t_.in_features(),
            "-d inputs");
    require(has_indices_, op_, ": no dataset indices for this batch; call "
            "Pipeline::set_batch_indices() before every step (the Trainer does), the memory "
            "banks are indexed by them");
    require(Index(indices_.size()) == x_v.rows(), op_, ": ", indices_.size(),
            " dataset indices for a branch batch of ", x_v.rows(), " rows");
    has_indices_ = false;  // indices describe one step only
    if (state_exposed_) import_state();

    const RowMatrix<Scalar>& e_s = embed_s_.forward(x_v);
    const RowMatrix<Scalar>& e_t = embed_t_.forward(x_t);
    grad_e_s_.setZero(e_s.rows(), e_s.cols());
    grad_e_t_.setZero(e_t.rows(), e_t.cols());
    const Scalar value = loss_.accumulate(view(e_s), view(e_t), labels, indices_, Scalar(beta_),
                                          mutable_view(grad_e_s_), mutable_view(grad_e_t_));
    embed_s_.backward(view(grad_e_s_), grad_x_v);
    embed_t_.backward(view(grad_e_t_), {});  // the head learns; the frozen teacher does not
    return make_terms(value, beta_, /*has_modules=*/true);
  }

  /// The two heads' parameters, "embed_student.*" then "embed_teacher.*".
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    embed_s_.for_each_parameter(visit);
    embed_t_.for_each_parameter(visit);
  }

  /// Banks, normalisation constants and the sampler's generator (see the header comment).
  template <class Visitor>
  void for_each_buffer(Visitor&& visit) {
    if (state_exposed_) import_state();  // a load since the last export must not be overwritten
    export_state();
    visit(std::string("memory_student"), loss_.memory_student());
    visit(std::string("memory_teacher"), loss_.memory_teacher());
    visit(std::string("normalizers"), normalizers_);
    visit(std::string("sampler_state"), sampler_state_);
    state_exposed_ = true;
  }

  void zero_grad() {
    embed_s_.zero_grad();
    embed_t_.zero_grad();
  }

 protected:
  /// Heads first (student, then teacher), then the loss, built by make_loss(seed) with a seed
  /// drawn from `rng`: one generator determines the whole objective.
  template <class MakeLoss>
  MemoryBankObjective(const char* op, Index student_dim, Index teacher_dim, Index embed_dim,
                      Rng& rng, double beta, MakeLoss&& make_loss)
      : op_(op),
        embed_s_(embed_head<Scalar>(op, "embed_student", student_dim, embed_dim, rng)),
        embed_t_(embed_head<Scalar>(op, "embed_teacher", teacher_dim, embed_dim, rng)),
        loss_(make_loss(rng.next_u64())),
        beta_(checked_beta(op, beta)) {}

 private:
  void export_state() {
    normalizers_.resize(1, 2);
    normalizers_(0, 0) = loss_.z_student();
    normalizers_(0, 1) = loss_.z_teacher();
    write_rng_buffer(loss_.rng(), sampler_state_);
  }

  void import_state() {
    require(normalizers_.rows() == 1 && normalizers_.cols() == 2, op_,
            ": the normalizers buffer has shape [", normalizers_.rows(), ", ",
            normalizers_.cols(), "], expected [1, 2]");
    Rng restored;
    read_rng_buffer(op_, sampler_state_, restored);
    loss_.z_student() = normalizers_(0, 0);
    loss_.z_teacher() = normalizers_(0, 1);
    loss_.rng() = restored;
    state_exposed_ = false;
  }

  const char* op_;
  nn::Linear<Scalar> embed_s_, embed_t_;
  Loss loss_;
  double beta_;
  std::vector<std::int64_t> indices_;
  bool has_indices_ = false;
  RowMatrix<Scalar> grad_e_s_, grad_e_t_;
  RowMatrix<double> normalizers_, sampler_state_;
  bool state_exposed_ = false;
};

}  // namespace ccl::pipeline::objectives::detail
