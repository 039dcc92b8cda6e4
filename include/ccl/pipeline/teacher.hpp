#pragma once
// Teacher policies of a branch. A teacher turns the batch's teacher input into x_t [B, Dt] and is
// never updated: the pipeline asks it for no gradient and the optimiser never sees its
// parameters (method.md §3.2-3.3: teachers are frozen, their arrows "do not flow").
//
//   teacher::Precomputed<Scalar>   embeddings computed offline and delivered with each batch
//                                  (the official code's PANNs audio features, method.md §2.5);
//   teacher::Frozen<Network>       a network run in inference mode on the batch's teacher input
//                                  (the official image teacher, a ResNet-34 in eval mode).
//
// Both take the backend of the embeddings they deliver (ccl::cpu by default, ccl::cuda for a
// device pipeline: device embeddings, or a device network).

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/pipeline/encoder_traits.hpp>

#include <utility>

namespace ccl::pipeline::teacher {

template <class Scalar = float, class Backend = cpu>
class Precomputed {
  static_assert(is_backend_v<Backend>,
                "ccl::pipeline::teacher::Precomputed: the second argument must be ccl::cpu or "
                "ccl::cuda");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;

  explicit Precomputed(Index dim) : dim_(dim) {
    require(dim > 0, "teacher::Precomputed: the embedding size must be positive, got ", dim);
  }

  Index dim() const { return dim_; }

  EmbeddingView<const Scalar, Backend> embed(EmbeddingView<const Scalar, Backend> embeddings) {
    require(embeddings.cols() == dim_, "teacher::Precomputed: the batch carries ",
            embeddings.shape(), " teacher embeddings, expected width ", dim_);
    return embeddings;
  }

  template <class Visitor>
  void for_each_frozen_parameter(Visitor&&) const {}

  /// Nothing runs here: the embeddings are passed through.
  void set_execution(const Execution<Backend>&) {}

 private:
  Index dim_;
};

template <class Network, class Scalar = float, class Backend = cpu>
class Frozen {
  static_assert(is_backend_v<Backend>,
                "ccl::pipeline::teacher::Frozen: the third argument must be ccl::cpu or "
                "ccl::cuda");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;

  Frozen(Network network, Index dim) : network_(std::move(network)), dim_(dim) {
    require(dim > 0, "teacher::Frozen: the embedding size must be positive, got ", dim);
    pipeline::set_training(network_, false);
  }

  Index dim() const { return dim_; }

  template <class Input>
  EmbeddingView<const Scalar, Backend> embed(const Input& input) {
    static_assert(detail::has_embedding_forward<Network, Input, Scalar, Backend>::value,
                  "ccl::pipeline::teacher::Frozen: the network's forward(input) must return "
                  "[B, D] embeddings convertible to EmbeddingView<const Scalar, Backend>");
    const EmbeddingView<const Scalar, Backend> out = network_.forward(input);
    require(out.cols() == dim_, "teacher::Frozen: the network yields ", out.shape(),
            " embeddings, expected width ", dim_);
    return out;
  }

  const Network& network() const { return network_; }

  /// The network runs with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    ccl::set_execution(network_, execution);
  }

  /// For checkpoints and for tests that prove the teacher never changes.
  template <class Visitor>
  void for_each_frozen_parameter(Visitor&& visit) {
    network_.for_each_parameter(visit);
  }

 private:
  Network network_;
  Index dim_;
};

}  // namespace ccl::pipeline::teacher
