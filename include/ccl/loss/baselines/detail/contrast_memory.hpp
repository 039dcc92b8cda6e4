#pragma once
// The memory-bank contrastive engine shared by CRD (method.md §8.6) and CMC (§8.8), after
// RepDistiller's `ContrastMemory` + `ContrastLoss` and HobbitLong/CMC's `NCEAverage`:
//
//   state   M_s, M_t ∈ R^{N×d}: one row per training sample, initialised U[-σ, σ], σ = 1/sqrt(d/3)
//           (student bank drawn first); Z_s, Z_t: normalisation constants, unset until the first
//           batch, then frozen at mean(exp-scores) · N.
//   scores  s_i = e_s,i/‖e_s,i‖, t_i = e_t,i/‖e_t,i‖; for contrast indices idx_i0..idx_iK
//           (idx_i0 = the sample's own index, the rest negatives):
//           x_ik = M_t[idx_ik]·s_i / T (student anchor), y_ik = M_s[idx_ik]·t_i / T (teacher
//           anchor).
//   NCE     P = exp(x)/Z, m = K, P_n = 1/N, c = m P_n + 1e-7:
//           L = -(1/B) Σ_i [log(P_i0/(P_i0 + c)) + Σ_{k≥1} log(m P_n/(P_ik + c))], per side.
//   softmax L = -(1/B) Σ_i log softmax_k(x_ik)[0]  (CMC's --softmax; no exp/Z).
//   update  after scoring, without gradient: M_s[i] ← normalise(μ M_s[i] + (1-μ) s_i), same for
//           M_t with t_i; μ = 0.5.
//
// Memory rows are constants for the gradient (detached in the reference); gradients reach e_s and
// e_t through the scores and the L2 normalisation. log P is evaluated as x - log Z and
// log(P + c) by logaddexp, so neither term overflows or takes log 0. Scores are gathered one bank
// row at a time (B·(K+1)·d work, nothing of that size materialised) unless K + 1 is a sizeable
// fraction of N, where one GEMM against the whole bank (N·B·d) is cheaper; the two paths differ
// only in rounding.

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/parallel_gemm.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/detail/negative_samplers.hpp>
#include <ccl/loss/baselines/memory_bank.hpp>
#include <ccl/loss/detail/normalize_rows.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

namespace ccl::loss::baselines {

namespace detail {

/// load_state's checks: the banks must have the loss's shape [N, d].
template <class Scalar>
void check_bank_state(const char* op, const MemoryBankState<Scalar>& state, Index dataset_size,
                      Index dim) {
  require(state.memory_student.rows() == dataset_size && state.memory_student.cols() == dim &&
              state.memory_teacher.rows() == dataset_size && state.memory_teacher.cols() == dim,
          op, ": the state's banks have shapes [", state.memory_student.rows(), ", ",
          state.memory_student.cols(), "] and [", state.memory_teacher.rows(), ", ",
          state.memory_teacher.cols(), "], expected [", dataset_size, ", ", dim, "]");
}

/// The constructor checks of a memory-bank loss (both backends).
template <class Scalar>
void check_memory_options(const char* op, Index dataset_size, Index dim,
                          const MemoryContrastOptions& options) {
  require(dataset_size > 0, op, ": the dataset must hold at least one sample, got ", dataset_size);
  require(dim > 0, op, ": the embedding width must be positive, got ", dim);
  require(options.negatives > 0, op, ": negatives (K) must be positive, got ", options.negatives);
  checks::temperature<Scalar>(op, options.temperature);
  require(std::isfinite(options.momentum) && options.momentum >= 0 && options.momentum < 1, op,
          ": momentum must lie in [0, 1), got ", options.momentum);
}

/// The initial banks U[-σ, σ], σ = 1/sqrt(d/3), student bank first (both backends draw them on
/// the host from the same generator, so a seed gives the same banks everywhere).
template <class Scalar>
void initial_banks(Index dataset_size, Index dim, Rng& rng, RowMatrix<Scalar>& memory_s,
                   RowMatrix<Scalar>& memory_t) {
  const double sigma = 1.0 / std::sqrt(double(dim) / 3.0);
  memory_s.resize(dataset_size, dim);
  memory_t.resize(dataset_size, dim);
  rng.fill_uniform(memory_s, -sigma, sigma);
  rng.fill_uniform(memory_t, -sigma, sigma);
}

/// The NCE constants of K negatives over a dataset of n: log c, log(m P_n) with m = K,
/// P_n = 1/n, c = m P_n + 1e-7 (both backends).
struct NceConstants {
  double log_c, log_mpn;
};
inline NceConstants nce_constants(Index k_neg, Index dataset_size) {
  const double pn = 1.0 / double(dataset_size);
  return {std::log(double(k_neg) * pn + 1e-7), std::log(double(k_neg) * pn)};
}

/// The checks of a batch against a contrast memory of width `dim`, the same on every backend:
/// shapes and the bank's width, then the backend's memory (device pointers and 32-bit extents on
/// CUDA), then NaN/Inf when asked (check_finite and require_backend_memory are the ops of
/// core/backend_matrix.hpp; the CUDA overloads are found by argument-dependent lookup).
template <class Scalar, class Backend>
void check_memory_batch(const char* op, Index dim, const EmbeddingView<const Scalar, Backend>& e_s,
                        const EmbeddingView<const Scalar, Backend>& e_t,
                        const EmbeddingView<Scalar, Backend>& grad_s,
                        const EmbeddingView<Scalar, Backend>& grad_t, bool scan_finite,
                        OpScratch<Scalar, Backend>& scratch) {
  checks::non_empty(op, "student", e_s);
  checks::same_shape(op, "student", e_s, "teacher", e_t);
  require(e_s.cols() == dim, op, ": embeddings have shape ", e_s.shape(), ", expected width ", dim,
          " (the memory bank's)");
  checks::gradient_shape(op, "student", e_s, "grad_student", grad_s);
  checks::gradient_shape(op, "teacher", e_t, "grad_teacher", grad_t);
  require_backend_memory(op, "student", e_s);
  require_backend_memory(op, "teacher", e_t);
  require_backend_memory(op, "grad_student", grad_s);
  require_backend_memory(op, "grad_teacher", grad_t);
  if (scan_finite) {
    check_finite(op, "student", e_s, scratch);
    check_finite(op, "teacher", e_t, scratch);
  }
}

/// A batch's sample indices: one per row, each inside the dataset.
inline void check_sample_indices(const char* op, const SampleIndices& indices, Index batch,
                                 Index dataset_size) {
  require(indices.size() == batch, op, ": ", indices.size(), " sample indices for a batch of ",
          batch);
  for (Index i = 0; i < batch; ++i) {
    require(indices[i] >= 0 && indices[i] < dataset_size, op, ": index[", i, "] = ", indices[i],
            " is outside the dataset [0, ", dataset_size, ")");
  }
}

/// Contrast indices for a batch: [B, K + 1] with K >= 1, each inside the dataset.
inline void check_contrast_indices(const char* op, const ContrastIndices& idx, Index batch,
                                   Index dataset_size) {
  require(idx.rows() == batch && idx.cols() >= 2, op, ": contrast indices have shape [", idx.rows(),
          ", ", idx.cols(), "], expected [", batch, ", K + 1] with K >= 1");
  require((idx.array() >= 0).all() && (idx.array() < dataset_size).all(), op,
          ": a contrast index is outside the dataset [0, ", dataset_size, ")");
}

template <class Scalar>
class MemoryContrast {
 public:
  MemoryContrast(const char* op, Index dataset_size, Index dim,
                 const MemoryContrastOptions& options, Rng& rng)
      : op_(op), options_(options) {
    check_memory_options<Scalar>(op, dataset_size, dim, options);
    initial_banks(dataset_size, dim, rng, memory_s_, memory_t_);
  }

  const Execution<cpu>& execution() const { return scratch_.execution; }
  const MemoryContrastOptions& options() const { return options_; }
  Index dataset_size() const { return memory_s_.rows(); }
  Index dim() const { return memory_s_.cols(); }
  RowMatrix<Scalar>& memory_student() { return memory_s_; }
  RowMatrix<Scalar>& memory_teacher() { return memory_t_; }
  /// Z_s, Z_t (negative until the first NCE batch sets them).
  double& z_student() { return z_s_; }
  double& z_teacher() { return z_t_; }

  void check_batch(const EmbeddingView<const Scalar>& e_s, const EmbeddingView<const Scalar>& e_t,
                   const EmbeddingView<Scalar>& grad_s, const EmbeddingView<Scalar>& grad_t) {
    check_memory_batch(op_, dim(), e_s, e_t, grad_s, grad_t, options_.check_finite, scratch_);
  }

  void check_indices(const SampleIndices& indices, Index batch) const {
    check_sample_indices(op_, indices, batch, dataset_size());
  }

  /// L_s + L_t for given contrast indices; sets Z on the first NCE call; adds weight · dL/de.
  Scalar score(const EmbeddingView<const Scalar>& e_s, const EmbeddingView<const Scalar>& e_t,
               const ContrastIndices& idx, ContrastObjective objective, Scalar weight,
               const EmbeddingView<Scalar>& grad_s, const EmbeddingView<Scalar>& grad_t) {
    check_batch(e_s, e_t, grad_s, grad_t);
    check_contrast_indices(op_, idx, e_s.rows(), dataset_size());
    loss::detail::normalize_rows(e_s, unit_s_, norm_s_);
    loss::detail::normalize_rows(e_t, unit_t_, norm_t_);
    const double value_s = side(unit_s_, memory_t_, idx, objective, z_s_, scores_s_);
    const double value_t = side(unit_t_, memory_s_, idx, objective, z_t_, scores_t_);
    backward(unit_s_, norm_s_, memory_t_, idx, scores_s_, weight, grad_s);
    backward(unit_t_, norm_t_, memory_s_, idx, scores_t_, weight, grad_t);
    return Scalar(value_s + value_t);
  }

  /// The momentum update of both banks at the batch's own indices (after score()).
  void update(const EmbeddingView<const Scalar>& e_s, const EmbeddingView<const Scalar>& e_t,
              const SampleIndices& indices) {
    loss::detail::normalize_rows(e_s, unit_s_, norm_s_);
    loss::detail::normalize_rows(e_t, unit_t_, norm_t_);
    const Scalar mu = Scalar(options_.momentum);
    for (Index i = 0; i < e_s.rows(); ++i) {
      const Index row = Index(indices[i]);
      update_row(memory_s_, row, unit_s_.row(i), mu);
      update_row(memory_t_, row, unit_t_.row(i), mu);
    }
  }

 private:
  template <class Row>
  static void update_row(RowMatrix<Scalar>& memory, Index row, const Row& unit, Scalar mu) {
    memory.row(row) = mu * memory.row(row) + (Scalar(1) - mu) * unit;
    memory.row(row) /= memory.row(row).norm();
  }

  // The loss of one side; on return `out` holds dL/dx_ik for the logits x_ik = m_ik·u_i / T.
  double side(const RowMatrix<Scalar>& anchors, const RowMatrix<Scalar>& memory,
              const ContrastIndices& idx, ContrastObjective objective, double& z,
              RowMatrix<Scalar>& out) {
    const Index b = anchors.rows();
    const Index cols = idx.cols();
    const Scalar inv_t = Scalar(1.0 / options_.temperature);
    out.resize(b, cols);
    if (dense(cols)) {
      // K + 1 gathered rows per anchor would cost more than scoring the whole bank by one GEMM.
      all_scores_.resize(memory.rows(), b);  // [N, B]
      parallel_gemm(all_scores_, gemm_arg(memory), gemm_arg_transposed(anchors), Gemm::overwrite,
                    gemm_scratch_);
      for (Index i = 0; i < b; ++i)
        for (Index k = 0; k < cols; ++k) out(i, k) = all_scores_(idx(i, k), i) * inv_t;
    } else {
      for (Index i = 0; i < b; ++i)
        for (Index k = 0; k < cols; ++k)
          out(i, k) = memory.row(idx(i, k)).dot(anchors.row(i)) * inv_t;
    }

    double total = 0;
    if (objective == ContrastObjective::softmax) {
      for (Index i = 0; i < b; ++i) {
        auto x = out.row(i).array();
        const Scalar max = x.maxCoeff();
        const Scalar log_z = max + std::log((x - max).exp().sum());
        total -= double(x[0] - log_z);
        x = (x - log_z).exp();  // softmax
        x[0] -= Scalar(1);
        x /= Scalar(b);
      }
      return total / double(b);
    }

    if (z < 0) z = double(out.array().exp().mean()) * double(dataset_size());
    const NceConstants constants = nce_constants(cols - 1, dataset_size());
    const Scalar log_z = Scalar(std::log(z));
    const Scalar log_c = Scalar(constants.log_c);
    const Scalar log_mpn = Scalar(constants.log_mpn);
    // With D = log P - log c and E = exp(-|D|) (whole-matrix array expressions, vectorised):
    //   log(P + c) = log c + softplus(D),  softplus(D) = max(D, 0) + log1p(E),
    //   P/(P + c) = sigmoid(D),  c/(P + c) = 1 - sigmoid(D).
    d_ = out.array() - (log_z + log_c);
    e_ = (-d_.abs()).exp();
    softplus_ = d_.max(Scalar(0)) + e_.log1p();
    sigmoid_ = (d_ >= Scalar(0)).select((Scalar(1) + e_).inverse(), e_ / (Scalar(1) + e_));
    // Positive column: -log(P/(P + c)) = softplus(D) - D; negatives: softplus(D) - log(m P_n / c).
    total = double((softplus_.col(0) - d_.col(0)).sum()) +
            double((softplus_.rightCols(cols - 1) - (log_mpn - log_c)).sum());
    out.array() = sigmoid_ / Scalar(b);                              // dL/dx = P/(P + c) / B
    out.col(0).array() = (sigmoid_.col(0) - Scalar(1)) / Scalar(b);  // -c/(P + c) / B
    return total / double(b);
  }

  // grad_e += weight · dL/de from dL/dx in `grad_scores` (x = m·u/T, u = e/‖e‖).
  void backward(const RowMatrix<Scalar>& unit, const Vector<Scalar>& norms,
                const RowMatrix<Scalar>& memory, const ContrastIndices& idx,
                const RowMatrix<Scalar>& grad_scores, Scalar weight,
                const EmbeddingView<Scalar>& grad_e) {
    if (grad_e.data() == nullptr) return;
    const Scalar inv_t = Scalar(1.0 / options_.temperature);
    if (dense(idx.cols())) {
      // Scatter the coefficients onto the bank's rows, then one GEMM.
      coefficients_.setZero(memory.rows(), unit.rows());
      for (Index i = 0; i < unit.rows(); ++i)
        for (Index k = 0; k < idx.cols(); ++k)
          coefficients_(idx(i, k), i) += grad_scores(i, k) * inv_t;
      grad_unit_.resize(unit.rows(), memory.cols());
      parallel_gemm(grad_unit_, gemm_arg_transposed(coefficients_), gemm_arg(memory),
                    Gemm::overwrite, gemm_scratch_);
    } else {
      grad_unit_.setZero(unit.rows(), unit.cols());
      for (Index i = 0; i < unit.rows(); ++i)
        for (Index k = 0; k < idx.cols(); ++k)
          grad_unit_.row(i) += (grad_scores(i, k) * inv_t) * memory.row(idx(i, k));
    }
    loss::detail::normalize_rows_backward(unit, norms, grad_unit_, weight, grad_e);
  }

  // Whether scoring goes through the whole bank (one [N, d] x [d, B] GEMM) rather than K + 1
  // gathered rows per anchor: cheaper once K + 1 reaches about N / 4 (e.g. K = 16384 > N).
  bool dense(Index cols) const { return cols * 4 >= dataset_size(); }

  const char* op_;
  MemoryContrastOptions options_;
  RowMatrix<Scalar> memory_s_, memory_t_;
  double z_s_ = -1, z_t_ = -1;
  RowMatrix<Scalar> unit_s_, unit_t_, scores_s_, scores_t_, grad_unit_, all_scores_, coefficients_;
  GemmScratch<Scalar> gemm_scratch_;  // partial products of a depth-split GEMM
  OpScratch<Scalar, cpu> scratch_;    // the ops' scratch (the NaN scan needs none on the CPU)
  Eigen::Array<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> d_, e_, softplus_, sigmoid_;
  Vector<Scalar> norm_s_, norm_t_;
};

/// The host state of a contrast-memory engine of either backend (banks copied to the host from a
/// device) and of its sampler's generator: what Crd::state() and Cmc::state() return.
template <class Scalar, class Engine>
MemoryBankState<Scalar> bank_state(Engine& engine, const Rng& rng) {
  // host_copy: the matrix itself on the CPU, a download on CUDA (found by argument-dependent
  // lookup on the device matrix).
  return {host_copy(engine.memory_student()), host_copy(engine.memory_teacher()),
          engine.z_student(), engine.z_teacher(), rng.state()};
}

/// Restores a bank_state() (from either backend) into an engine over the same dataset size and
/// width, and the generator.
template <class Scalar, class Engine>
void load_bank_state(const char* op, const MemoryBankState<Scalar>& state, Engine& engine,
                     Rng& rng) {
  check_bank_state(op, state, engine.dataset_size(), engine.dim());
  rng.set_state(state.rng_state);
  // An upload on CUDA.
  assign(engine.memory_student(), ccl::view(state.memory_student), engine.execution());
  assign(engine.memory_teacher(), ccl::view(state.memory_teacher), engine.execution());
  engine.z_student() = state.z_student;
  engine.z_teacher() = state.z_teacher;
}

/// The contrast-memory engine of a backend, the kernel-shaped part of CRD and CMC: MemoryContrast
/// on the CPU; <ccl/cuda/loss/baselines/detail/contrast_memory.hpp> names the device one.
template <class Scalar, class Backend>
struct MemoryContrastEngine {
  static_assert(
      std::is_same_v<Backend, cpu>,
      "ccl::loss::baselines: the CUDA contrast memory (Crd/Cmc<Scalar, ccl::cuda>) lives "
      "in <ccl/cuda/loss/baselines/crd.hpp> and cmc.hpp; include them (or <ccl/cuda.hpp>)");
  using type = MemoryContrast<Scalar>;
};
template <class Scalar, class Backend>
using memory_contrast_engine_t = typename MemoryContrastEngine<Scalar, Backend>::type;

}  // namespace detail
}  // namespace ccl::loss::baselines
