#pragma once
// dist::GlobalObjective<Comm, Objective>: a pipeline branch objective (CclObjective, the baseline
// PairObjective, CRD's and CMC's memory banks, ...) evaluated on the global batch, so that every
// rank's rows are negatives of every anchor and R-rank training equals 1-rank training on the
// concatenated batch.
//
//   auto audio = branch<Audio>(teacher, composition,
//                              ccl::dist::global_objective(comm, CclObjective<double>(options)));
//
// Each step, every rank all-gathers the branch's inputs (x_v, z_v, x_t, the labels and, for
// objectives that keep per-sample state, the dataset indices) into the global batch in rank
// order, runs the wrapped objective on it — composition head included — and keeps the student
// gradient of its own rows. Every rank therefore runs the identical computation:
//   * the head's (and the objective's own modules') parameter gradients are the global ones on
//     every rank, and dist::average_gradients leaves them so;
//   * the student gradient of this rank's rows is multiplied by R, the gradient scale of
//     dist::global_pair_loss: after the student's backward, averaging over ranks gives the 1-rank
//     gradient (docs/distributed.md, "Gradient scale");
//   * memory banks are updated with every rank's rows in the same order, so they stay identical;
//   * the reported terms are the global batch's, the same on every rank.
// Shards may differ in size (a branch that drops rows without a teacher): each rank's rows are
// padded to the largest shard for the all-gather and compacted afterwards. Every rank must call
// accumulate at every step, as every collective requires; the pipeline does, also for a rank
// whose rows all lack a teacher (`collective` below).
//
// Cost: the branch (losses and composition head) runs on R·B rows on every rank; three
// all-gathers per step (the shapes, then (D_v + C + D_t) values and 2 integers per row). The head
// is small next to the student's encoder.
//
// Written once for both backends: with a device objective (ccl::cuda) the rows are packed,
// gathered and unpacked as device matrices — in device memory over dist::nccl, staged through
// the host over dist::mpi (dist/collectives.hpp) — while the shapes, labels and dataset indices
// travel through host_communicator(comm).

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/dist/collectives.hpp>
#include <ccl/dist/communicator.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ccl::dist {

namespace detail {

template <class O, class = void>
struct objective_wants_indices : std::false_type {};
template <class O>
struct objective_wants_indices<O, std::void_t<decltype(std::declval<O&>().set_indices(
                                      std::declval<const std::vector<Index>&>()))>>
    : std::true_type {};

// The scalar of an objective, read off its Terms (CclTerms<S>, BaselineTerms<S>).
template <class Terms>
struct terms_scalar {
  static_assert(sizeof(Terms) == 0,
                "ccl::dist::GlobalObjective: cannot read the objective's scalar type off its "
                "Terms; pass it as the third template argument");
};
template <template <class> class Terms, class Scalar>
struct terms_scalar<Terms<Scalar>> {
  using type = Scalar;
};

/// Gathers `rows` rows of `cols` host integers from every rank (row counts may differ; `counts`
/// holds every rank's) into the compact global matrix, rank order. Pads to the largest count.
template <class Comm>
std::vector<std::int64_t> gather_host_rows(Comm& comm, const std::int64_t* local, Index rows,
                                           Index cols, const std::vector<std::int64_t>& counts) {
  const Index most = *std::max_element(counts.begin(), counts.end());
  std::vector<std::int64_t> padded(std::size_t(most * cols), 0);
  std::copy(local, local + rows * cols, padded.begin());
  std::vector<std::int64_t> all(std::size_t(most * cols) * counts.size());
  comm.all_gather(padded.data(), most * cols, all.data());
  std::vector<std::int64_t> compact;
  compact.reserve(all.size());
  for (std::size_t r = 0; r < counts.size(); ++r) {
    const auto first = all.begin() + std::ptrdiff_t(std::size_t(most * cols) * r);
    compact.insert(compact.end(), first, first + std::ptrdiff_t(counts[r] * cols));
  }
  return compact;
}

}  // namespace detail

template <class Comm, class Objective,
          class Scalar = typename detail::terms_scalar<typename Objective::Terms>::type>
class GlobalObjective {
  CCL_STATIC_ASSERT_COMMUNICATOR(Comm);
  CCL_STATIC_ASSERT_SCALAR(Scalar);

 public:
  using backend_type = backend_of_t<Objective>;
  using Backend = backend_type;
  using View = EmbeddingView<const Scalar, Backend>;
  using MutableView = EmbeddingView<Scalar, Backend>;
  using objective_type = Objective;
  using Terms = typename Objective::Terms;
  /// Every rank must call accumulate at every step, also with no row of its own (a branch whose
  /// teachers are all missing on this rank): the pipeline then calls it with zero rows.
  static constexpr bool collective = true;

  GlobalObjective(Comm& comm, Objective objective)
      : comm_(&comm), objective_(std::move(objective)) {}

  Objective& objective() { return objective_; }
  const Objective& objective() const { return objective_; }
  Comm& communicator() { return *comm_; }

  /// The gathers, copies and the wrapped objective run with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    ccl::set_execution(objective_, execution);
    rebind_execution(execution_, execution);
  }

  /// Declared only when the wrapped objective keeps per-sample state (memory banks): the
  /// pipeline then passes this rank's dataset indices, gathered with the rows in accumulate.
  template <class O = Objective,
            class = std::enable_if_t<detail::objective_wants_indices<O>::value>>
  void set_indices(const std::vector<Index>& indices) {
    indices_.assign(indices.begin(), indices.end());
  }

  template <class Composition>
  Terms accumulate(Composition& composition, View x_v, View z_v, View x_t, LabelView labels,
                   MutableView grad_x_v, MutableView grad_z_v) {
    const char* op = "dist::GlobalObjective";
    auto& host = host_communicator(*comm_);
    const Index b = x_v.rows(), ranks = comm_->size();
    require(z_v.rows() == b && x_t.rows() == b && labels.size() == b, op, ": x_v has ", b,
            " rows, z_v ", z_v.rows(), ", x_t ", x_t.rows(), " and there are ", labels.size(),
            " labels");
    constexpr bool with_indices = detail::objective_wants_indices<Objective>::value;
    // One all-gather of every rank's shape: row counts may differ, widths must not. A mismatch
    // is raised by every rank (each sees all shapes) rather than left as a hang.
    const std::int64_t mine[5] = {b, x_v.cols(), z_v.cols(), x_t.cols(),
                                  with_indices ? std::int64_t(indices_.size()) : b};
    std::vector<std::int64_t> shapes(std::size_t(5 * ranks));
    host.all_gather(mine, 5, shapes.data());
    std::vector<std::int64_t> counts(static_cast<std::size_t>(ranks));
    for (Index r = 0; r < ranks; ++r) {
      const std::int64_t* theirs = shapes.data() + 5 * r;
      counts[std::size_t(r)] = theirs[0];
      require(theirs[1] == shapes[1] && theirs[2] == shapes[2] && theirs[3] == shapes[3], op,
              ": rank ", r, " has widths x_v ", theirs[1], ", z_v ", theirs[2], ", x_t ", theirs[3],
              " but rank 0 has ", shapes[1], ", ", shapes[2], ", ", shapes[3]);
      require(theirs[4] == theirs[0], op, ": rank ", r, " has ", theirs[4], " dataset indices for ",
              theirs[0],
              " rows; call Pipeline::set_batch_indices before every step (the Trainer does)");
    }
    Index offset = 0, total = 0;
    for (Index r = 0; r < ranks; ++r) {
      if (r < comm_->rank()) offset += counts[std::size_t(r)];
      total += counts[std::size_t(r)];
    }
    // No rank has a row (every teacher missing): no term, as in one process. Every rank agrees.
    if (total == 0) return Terms{};

    // Two all-gathers: each row's [x_v | z_v | x_t] values (rows padded to the largest shard),
    // then its [label, dataset index].
    const Index dv = x_v.cols(), c = z_v.cols(), dt = x_t.cols(), width = dv + c + dt;
    const Index most = *std::max_element(counts.begin(), counts.end());
    set_zero(local_rows_, most, width, execution_);
    if (b > 0) {
      const MutableView local = mutable_view(local_rows_).middle_rows(0, b);
      copy_into(x_v, local.middle_cols(0, dv), execution_);
      copy_into(z_v, local.middle_cols(dv, c), execution_);
      copy_into(x_t, local.middle_cols(dv + c, dt), execution_);
    }
    set_zero(gathered_rows_, most * ranks, width, execution_);
    all_gather(*comm_, view(local_rows_), mutable_view(gathered_rows_), execution_);
    set_zero(x_v_, total, dv, execution_);
    set_zero(z_v_, total, c, execution_);
    set_zero(x_t_, total, dt, execution_);
    for (Index r = 0, first = 0; r < ranks; first += counts[std::size_t(r)], ++r) {
      const View theirs = view(gathered_rows_).middle_rows(r * most, counts[std::size_t(r)]);
      const Index n = theirs.rows();
      if (n == 0) continue;
      copy_into(theirs.middle_cols(0, dv), mutable_view(x_v_).middle_rows(first, n), execution_);
      copy_into(theirs.middle_cols(dv, c), mutable_view(z_v_).middle_rows(first, n), execution_);
      copy_into(theirs.middle_cols(dv + c, dt), mutable_view(x_t_).middle_rows(first, n),
                execution_);
    }
    std::vector<std::int64_t> tags(std::size_t(2 * b), 0);
    for (Index i = 0; i < b; ++i) {
      tags[std::size_t(2 * i)] = labels[i];
      if constexpr (with_indices) tags[std::size_t(2 * i + 1)] = indices_[std::size_t(i)];
    }
    const auto all_tags = detail::gather_host_rows(host, tags.data(), b, 2, counts);
    labels_.resize(std::size_t(total));
    std::vector<Index> indices(with_indices ? std::size_t(total) : 0);
    for (Index i = 0; i < total; ++i) {
      labels_[std::size_t(i)] = all_tags[std::size_t(2 * i)];
      if constexpr (with_indices) indices[std::size_t(i)] = Index(all_tags[std::size_t(2 * i + 1)]);
    }
    if constexpr (with_indices) {
      objective_.set_indices(indices);
      indices_.clear();  // indices describe one step only
    }

    set_zero(grad_x_v_, total, dv, execution_);
    set_zero(grad_z_v_, total, c, execution_);
    auto terms =
        objective_.accumulate(composition, view(x_v_), view(z_v_), view(x_t_), LabelView(labels_),
                              mutable_view(grad_x_v_), mutable_view(grad_z_v_));
    // This rank's rows, scaled by R (see the header comment).
    const Scalar scale = Scalar(ranks);
    if (grad_x_v.data() != nullptr)
      add_scaled(grad_x_v, scale, view(grad_x_v_).middle_rows(offset, b), execution_);
    if (grad_z_v.data() != nullptr)
      add_scaled(grad_z_v, scale, view(grad_z_v_).middle_rows(offset, b), execution_);
    return terms;
  }

  /// The wrapped objective's own modules (a baseline's regressor, CRD's embedding heads).
  template <class Visitor, class O = Objective>
  auto for_each_parameter(Visitor&& visit)
      -> decltype(std::declval<O&>().for_each_parameter(visit)) {
    return objective_.for_each_parameter(visit);
  }
  /// Memory banks and the like: identical on every rank, so rank 0 checkpoints everyone's.
  template <class Visitor, class O = Objective>
  auto for_each_buffer(Visitor&& visit) -> decltype(std::declval<O&>().for_each_buffer(visit)) {
    return objective_.for_each_buffer(visit);
  }
  template <class O = Objective>
  auto zero_grad() -> decltype(std::declval<O&>().zero_grad()) {
    return objective_.zero_grad();
  }

 private:
  Comm* comm_;
  Objective objective_;
  Execution<Backend> execution_;
  std::vector<Index> indices_;
  std::vector<std::int64_t> labels_;
  // The global batch and its gradients; members so that the views the objective keeps (the
  // composition's inputs) outlive accumulate, as the pipeline's own workspaces do.
  backend_matrix_t<Scalar, Backend> x_v_, z_v_, x_t_, grad_x_v_, grad_z_v_;
  backend_matrix_t<Scalar, Backend> local_rows_, gathered_rows_;  // [x_v | z_v | x_t] per row
};

/// GlobalObjective<Comm, Objective> without spelling the types.
template <class Comm, class Objective>
GlobalObjective<Comm, Objective> global_objective(Comm& comm, Objective objective) {
  return GlobalObjective<Comm, Objective>(comm, std::move(objective));
}

}  // namespace ccl::dist
