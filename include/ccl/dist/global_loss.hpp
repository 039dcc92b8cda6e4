#pragma once
// Contrastive losses over the global batch: every rank's rows are negatives of every anchor.
//
//   auto r = ccl::dist::global_pair_loss(comm, nce, f_local, g_local, labels_local);
//
// Each rank all-gathers f, g (B·D values per rank each) and the labels into the global batch
// (rank order), evaluates the loss on it, and keeps the rows of the gradient it owns. Because
// every rank evaluates the same loss on the same gathered batch, the full gradient is already on
// every rank: "routing" the gradient of a gathered row back to its owner is a slice, with no
// reduce-scatter and no reordering of floating-point sums, so the result is bit-for-bit the
// single-process one on the concatenated batch.
//
// Values and scaling (docs/distributed.md): `loss` is the global loss L (the same on every rank,
// what rank 0 logs). `grad_f`/`grad_g` are `gradient_scale` · dL/d(local rows). With the default
// gradient_scale = size(), back-propagating them and then averaging parameter gradients over
// ranks (dist::average_gradients) gives Σ_r dL/dθ through rank r's rows = the single-process
// gradient of L; pass gradient_scale = 1 for the exact partial derivative.

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/dist/communicator.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <vector>

namespace ccl::dist {

template <class Scalar>
struct GlobalLossResult {
  Scalar loss = 0;           ///< L on the global batch, identical on every rank
  RowMatrix<Scalar> grad_f;  ///< gradient_scale · dL/df for this rank's rows
  RowMatrix<Scalar> grad_g;  ///< gradient_scale · dL/dg for this rank's rows
};

namespace detail {

/// Every rank must bring the same shape: checked with one all-gather of (B, D_f, D_g, labels?)
/// so a mismatch is a ccl::error on every rank instead of a hang or a truncated gather.
template <class Comm>
void check_same_shape(Comm& comm, const char* op, std::int64_t rows, std::int64_t f_cols,
                      std::int64_t g_cols, std::int64_t label_count) {
  const std::int64_t mine[4] = {rows, f_cols, g_cols, label_count};
  std::vector<std::int64_t> all(std::size_t(4 * comm.size()));
  comm.all_gather(mine, 4, all.data());
  for (int r = 0; r < comm.size(); ++r) {
    const std::int64_t* theirs = all.data() + 4 * r;
    for (int k = 0; k < 4; ++k) {
      require(theirs[k] == all[std::size_t(k)], op, ": rank ", r, " has batch [", theirs[0], ", ",
              theirs[1], "]/[", theirs[0], ", ", theirs[2], "] with ", theirs[3],
              " labels but rank 0 has [", all[0], ", ", all[1], "]/[", all[0], ", ", all[2],
              "] with ", all[3], " labels; every rank needs the same shard shape");
    }
  }
  require(rows > 0, op, ": empty batch on every rank");
}

template <class Scalar>
bool all_finite(EmbeddingView<const Scalar> v) {
  return v.matrix().allFinite();
}

}  // namespace detail

/// `loss` is any ccl pair loss (InstanceNce, MulticlassNce, Symmetric<...>) on the host backend.
template <class Comm, class Loss, class Scalar>
GlobalLossResult<Scalar> global_pair_loss(Comm& comm, Loss& loss, EmbeddingView<const Scalar> f,
                                          EmbeddingView<const Scalar> g,
                                          const std::vector<std::int64_t>& labels = {},
                                          double gradient_scale = -1) {
  CCL_STATIC_ASSERT_COMMUNICATOR(Comm);
  const char* op = "dist::global_pair_loss";
  require(f.rows() == g.rows(), op, ": f has ", f.rows(), " rows but g has ", g.rows());
  require(labels.empty() || Index(labels.size()) == f.rows(), op, ": ", labels.size(),
          " labels for a batch of ", f.rows());
  detail::check_same_shape(comm, op, f.rows(), f.cols(), g.cols(), std::int64_t(labels.size()));
  // NaN/Inf on any rank poisons every rank's loss: agreed on collectively, reported by name.
  double bad = (detail::all_finite(f) && detail::all_finite(g)) ? 0.0 : 1.0;
  std::vector<double> flags(std::size_t(comm.size()));
  comm.all_gather(&bad, 1, flags.data());
  for (int r = 0; r < comm.size(); ++r)
    require(flags[std::size_t(r)] == 0.0, op, ": rank ", r, " has a non-finite embedding");

  const Index b = f.rows(), ranks = comm.size();
  const RowMatrix<Scalar> f_local = f.matrix(), g_local = g.matrix();
  RowMatrix<Scalar> f_all(b * ranks, f.cols()), g_all(b * ranks, g.cols());
  comm.all_gather(f_local.data(), f_local.size(), f_all.data());
  comm.all_gather(g_local.data(), g_local.size(), g_all.data());
  std::vector<std::int64_t> labels_all(labels.empty() ? 0 : std::size_t(b * ranks));
  if (!labels.empty()) comm.all_gather(labels.data(), b, labels_all.data());

  auto full = labels_all.empty()
                  ? loss(EmbeddingView<const Scalar>(f_all), EmbeddingView<const Scalar>(g_all))
                  : loss(EmbeddingView<const Scalar>(f_all), EmbeddingView<const Scalar>(g_all),
                         LabelView(labels_all));
  const Scalar scale = Scalar(gradient_scale < 0 ? double(ranks) : gradient_scale);
  GlobalLossResult<Scalar> result;
  result.loss = full.value;
  result.grad_f = scale * full.grad_f.middleRows(comm.rank() * b, b);
  result.grad_g = scale * full.grad_g.middleRows(comm.rank() * b, b);
  return result;
}

}  // namespace ccl::dist
