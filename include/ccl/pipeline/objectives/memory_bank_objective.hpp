#pragma once
// MemoryBankObjective<Loss, Scalar, Backend>: what the CRD and CMC branch objectives share
// (method.md §8.6, §8.8) — two trainable embedding heads, a memory-bank contrastive loss, the
// dataset indices of the branch's rows, and checkpointable state.
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
//
// Backend ccl::cpu or ccl::cuda, the Loss's (Crd<S, ccl::cuda>, Cmc<S, ccl::cuda>): heads and
// banks are then in device memory (the banks are visited as gpu::DeviceMatrix buffers, which
// checkpoints copy through the host); Z, the sampler's generator and the two state matrices above
// stay on the host, and the device losses draw their negatives on the host with the CPU's
// sampler, so both backends built from one seed draw the same negatives.

#include <ccl/core/backend.hpp>
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

template <class Loss, class Scalar, class Backend = cpu>
class MemoryBankObjective {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::pipeline::objectives: the scalar type of CrdObjective / CmcObjective must "
                "be float or double");
  static_assert(is_backend_v<Backend>,
                "ccl::pipeline::objectives: the backend of CrdObjective / CmcObjective must be "
                "ccl::cpu or ccl::cuda");

  using View = EmbeddingView<const Scalar, Backend>;
  using MutableView = EmbeddingView<Scalar, Backend>;

 public:
  using Terms = BaselineTerms<Scalar>;
  using loss_type = Loss;
  using backend_type = Backend;
  using Head = nn::Linear<Scalar, Backend>;

  double beta() const { return beta_; }
  Loss& loss() { return loss_; }
  Head& student_head() { return heads_.student(); }
  Head& teacher_head() { return heads_.teacher(); }

  /// The dataset indices of the rows of the next accumulate (called by the pipeline).
  void set_indices(const std::vector<Index>& indices) {
    indices_.assign(indices.begin(), indices.end());
    has_indices_ = true;
  }

  template <class Composition>
  Terms accumulate(Composition& /*composition*/, View x_v, View /*z_v*/, View x_t, LabelView labels,
                   MutableView grad_x_v, MutableView /*grad_z_v*/) {
    static_assert(assert_no_composition<Composition, Scalar>());
    checks::same_rows(op_, "x_v", x_v, "x_t", x_t);
    checks::labels_match(op_, x_v.rows(), labels);
    heads_.check_inputs(op_, x_v, x_t);
    require(has_indices_, op_,
            ": no dataset indices for this batch; call "
            "Pipeline::set_batch_indices() before every step (the Trainer does), the memory "
            "banks are indexed by them");
    require(Index(indices_.size()) == x_v.rows(), op_, ": ", indices_.size(),
            " dataset indices for a branch batch of ", x_v.rows(), " rows");
    has_indices_ = false;  // indices describe one step only
    if (state_exposed_) import_state();

    const Scalar value =
        heads_.run(x_v, x_t, grad_x_v, [&](View e_s, View e_t, MutableView g_s, MutableView g_t) {
          return loss_.accumulate(e_s, e_t, labels, indices_, Scalar(beta_), g_s, g_t);
        });
    return make_terms(value, beta_, /*has_modules=*/true);
  }

  /// The two heads' parameters, "embed_student.*" then "embed_teacher.*".
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    heads_.for_each_parameter(visit);
  }

  /// Banks (RowMatrix<Scalar> on the CPU, gpu::DeviceMatrix<Scalar> on ccl::cuda), normalisation
  /// constants and the sampler's generator (host matrices; see the header comment).
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

  void zero_grad() { heads_.zero_grad(); }

  /// The heads and the loss (its banks) run with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    set_executions(execution, heads_, loss_);
  }

 protected:
  /// Heads first (student, then teacher), then the loss, built by make_loss(seed) with a seed
  /// drawn from `rng`: one generator determines the whole objective.
  template <class MakeLoss>
  MemoryBankObjective(const char* op, Index student_dim, Index teacher_dim, Index embed_dim,
                      Rng& rng, double beta, MakeLoss&& make_loss)
      : op_(op),
        heads_(op, student_dim, teacher_dim, embed_dim, rng),
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
            ": the normalizers buffer has shape [", normalizers_.rows(), ", ", normalizers_.cols(),
            "], expected [1, 2]");
    Rng restored;
    read_rng_buffer(op_, sampler_state_, restored);
    loss_.z_student() = normalizers_(0, 0);
    loss_.z_teacher() = normalizers_(0, 1);
    loss_.rng() = restored;
    state_exposed_ = false;
  }

  const char* op_;
  EmbedHeads<Scalar, Backend> heads_;
  Loss loss_;
  double beta_;
  std::vector<std::int64_t> indices_;
  bool has_indices_ = false;
  RowMatrix<double> normalizers_, sampler_state_;
  bool state_exposed_ = false;
};

}  // namespace ccl::pipeline::objectives::detail
