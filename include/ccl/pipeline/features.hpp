#pragma once
// Training on precomputed features: a student whose "encoder" is the feature matrix itself (a
// linear probe) or an MLP on it, and a dataset over a feature matrix and its labels. The probe is
// an ordinary Pipeline without branches, so the Trainer (epochs, evaluation, model selection,
// checkpoints) works on it unchanged:
//
//   auto probe = pipeline::make_linear_probe<float>(512, 51, rng);   // or make_mlp_probe
//   auto pipeline = pipeline::make_pipeline(std::move(probe));
//   pipeline::FeatureSet<float> train(train_features, train_labels);  // views, not copies
//   pipeline::Trainer trainer(pipeline, sgd, options);
//   trainer.fit(train, &validation);
//
// Nothing is copied into a tensor: the student reads a batch's rows where they lie. A batch of
// one ascending run of indices (evaluation, unshuffled training) is a view into the caller's
// matrix; a shuffled batch gathers its rows once (B x D, like any shuffling loader).

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/mlp.hpp>
#include <ccl/pipeline/student.hpp>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace ccl::pipeline {

/// The encoder of a student that trains on precomputed features: the embedding x_v is the input
/// row itself (no parameters, no copy). Student<Features<Scalar>, Scalar> is a linear probe.
template <class Scalar>
class Features {
  CCL_STATIC_ASSERT_SCALAR(Scalar);

 public:
  using scalar_type = Scalar;
  using backend_type = cpu;
  /// The student need not back-propagate into the input (there is nothing to train there).
  static constexpr bool passes_features_through = true;

  explicit Features(Index dim) : dim_(dim) {
    require(dim > 0, "pipeline::Features: the feature dimension must be positive, got ", dim);
  }

  /// The rows themselves; their values are checked by the classifier's forward (finite).
  EmbeddingView<const Scalar> forward(EmbeddingView<const Scalar> features) const {
    require(features.cols() == dim_, "pipeline::Features: the batch has ", features.cols(),
            "-d rows, the student was built for ", dim_, "-d features");
    require(features.rows() > 0, "pipeline::Features: the batch is empty");
    return features;
  }
  void backward(EmbeddingView<const Scalar>) {}
  template <class Visitor>
  void for_each_parameter(Visitor&&) {}

  Index dim() const { return dim_; }

 private:
  Index dim_;
};

template <class Scalar>
using LinearProbe = Student<Features<Scalar>, Scalar>;
template <class Scalar>
using MlpProbe = Student<nn::Mlp<Scalar>, Scalar>;

/// A linear classifier on `dim`-d features (a Linear(dim -> classes), initialised like PyTorch's).
template <class Scalar>
LinearProbe<Scalar> make_linear_probe(Index dim, Index classes, Rng& rng) {
  return LinearProbe<Scalar>(Features<Scalar>(dim), dim, classes, rng);
}

/// An MLP on `dim`-d features: Linear + ReLU for every width in `hidden`, then Linear(hidden.back()
/// -> classes). The student's embedding is the last hidden layer (used by retrieval).
template <class Scalar>
MlpProbe<Scalar> make_mlp_probe(Index dim, std::vector<Index> hidden, Index classes, Rng& rng) {
  require(!hidden.empty(),
          "make_mlp_probe: give at least one hidden width (or use "
          "make_linear_probe)");
  const Index embedding_dim = hidden.back();
  nn::Mlp<Scalar> mlp(dim, std::move(hidden), rng);
  return MlpProbe<Scalar>(std::move(mlp), embedding_dim, classes, rng);
}

/// One batch of a FeatureSet: `input` and `labels` view either the set's own arrays (an ascending
/// run of indices) or rows gathered into `gathered`, which the batch keeps alive.
template <class Scalar>
struct FeatureRows {
  struct Gathered {
    RowMatrix<Scalar> features;
    std::vector<std::int64_t> labels;
  };
  EmbeddingView<const Scalar> input;
  LabelView labels;
  std::shared_ptr<const Gathered> gathered;  // null when the batch views the set directly
};

/// A Trainer dataset over a feature matrix [N, D] and its N labels. It holds views: the caller
/// keeps the matrix and the labels alive while the set is used.
template <class Scalar>
class FeatureSet {
  CCL_STATIC_ASSERT_SCALAR(Scalar);

 public:
  FeatureSet(EmbeddingView<const Scalar> features, LabelView labels)
      : features_(features), labels_(labels) {
    require(features.rows() == labels.size(), "FeatureSet: ", features.rows(), " feature rows but ",
            labels.size(), " labels");
  }

  Index size() const { return features_.rows(); }
  Index dim() const { return features_.cols(); }

  FeatureRows<Scalar> load(const std::vector<Index>& indices) const {
    require(!indices.empty(), "FeatureSet::load: no index given");
    for (Index i : indices) {
      require(i >= 0 && i < size(), "FeatureSet::load: index ", i, " is outside [0, ", size(), ")");
    }
    FeatureRows<Scalar> batch;
    const Index first = indices.front(), count = Index(indices.size());
    bool ascending_run = true;
    for (Index k = 0; k < count && ascending_run; ++k) ascending_run = indices[k] == first + k;
    if (ascending_run) {
      batch.input = EmbeddingView<const Scalar>(features_.data() + first * features_.row_stride(),
                                                count, features_.cols(), features_.row_stride());
      batch.labels = labels_.subview(first, count);
      return batch;
    }
    auto gathered = std::make_shared<typename FeatureRows<Scalar>::Gathered>();
    gathered->features.resize(count, features_.cols());
    gathered->labels.resize(std::size_t(count));
    const auto all = features_.matrix();
    for (Index k = 0; k < count; ++k) {
      gathered->features.row(k) = all.row(indices[std::size_t(k)]);
      gathered->labels[std::size_t(k)] = labels_[indices[std::size_t(k)]];
    }
    batch.input = view(gathered->features);
    batch.labels = LabelView(gathered->labels);
    batch.gathered = std::move(gathered);
    return batch;
  }

 private:
  EmbeddingView<const Scalar> features_;
  LabelView labels_;
};

}  // namespace ccl::pipeline
