#pragma once
// Student<Encoder>: the network being distilled — an encoder producing the embedding x_v [B, D]
// and a linear classifier producing the logits z_v [B, C] (method.md §3.1: R(2+1)D + Linear).
// Only the student is used at test time.
//
// Backend: ccl::cpu (the default) or ccl::cuda. A device student takes a device encoder (e.g. the
// R(2+1)D built with the ccl::cuda backend), its classifier is nn::Linear<Scalar, ccl::cuda> and
// its outputs are device views; include <ccl/cuda.hpp> and compile with nvcc.

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/layer.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/pipeline/encoder_traits.hpp>

#include <utility>

namespace ccl::pipeline {

template <class Scalar, class Backend = cpu>
struct StudentOutput {
  EmbeddingView<const Scalar, Backend> embedding;  ///< x_v, [B, D]
  EmbeddingView<const Scalar, Backend> logits;     ///< z_v, [B, C]
};

template <class Encoder, class Scalar = float, class Backend = cpu>
class Student {
  static_assert(is_backend_v<Backend>,
                "ccl::pipeline::Student: the third argument must be ccl::cpu or ccl::cuda");
  static_assert(detail::has_embedding_backward<Encoder, Scalar, Backend>::value,
                "ccl::pipeline::Student: the encoder needs `backward(grad_embedding)` taking an "
                "EmbeddingView<const Scalar, Backend> or its rank-2 Output tensor (see "
                "ccl/pipeline/encoder_traits.hpp); a device encoder needs Backend = ccl::cuda");
  static_assert(detail::has_parameters<Encoder, Scalar, Backend>::value,
                "ccl::pipeline::Student: the encoder needs `for_each_parameter(visit)` over "
                "Parameter<Scalar, Backend>");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;

  /// `embedding_dim` must equal the encoder's output width; the classifier is initialised from
  /// `rng` like PyTorch's nn.Linear.
  Student(Encoder encoder, Index embedding_dim, Index classes, Rng& rng)
      : encoder_(std::move(encoder)), classifier_(embedding_dim, classes, rng) {
    classifier_.weight().name = "classifier.weight";
    classifier_.bias().name = "classifier.bias";
  }

  template <class Input>
  StudentOutput<Scalar, Backend> forward(const Input& input) {
    static_assert(detail::has_embedding_forward<Encoder, Input, Scalar, Backend>::value,
                  "ccl::pipeline::Student: the encoder's forward(input) must return [B, D] "
                  "embeddings convertible to EmbeddingView<const Scalar, Backend> for this input "
                  "type (a device encoder takes device tensors)");
    const EmbeddingView<const Scalar, Backend> embedding = encoder_.forward(input);
    require(embedding.cols() == classifier_.in_features(), "Student: the encoder yields ",
            embedding.cols(), "-d embeddings but the classifier expects ",
            classifier_.in_features());
    const auto& logits = classifier_.forward(embedding);
    return {embedding, view(logits)};
  }

  /// Back-propagates dL/dx_v and dL/dz_v of the last forward into every student parameter.
  void backward(EmbeddingView<const Scalar, Backend> grad_embedding,
                EmbeddingView<const Scalar, Backend> grad_logits) {
    if constexpr (detail::passes_features_through<Encoder>::value) {
      // A probe on fixed features: no gradient goes below the classifier (nothing to train), so
      // its input gradient, a B x C x D product, is not computed.
      static_cast<void>(grad_embedding);
      classifier_.backward(grad_logits);
    } else {
      assign(grad_embedding_, grad_embedding, classifier_.execution());
      classifier_.backward(grad_logits, mutable_view(grad_embedding_));
      backward_embedding(encoder_, view(grad_embedding_), encoder_grad_, classifier_.execution());
    }
  }

  void set_training(bool training) { pipeline::set_training(encoder_, training); }

  /// The encoder and the classifier run with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    set_executions(execution, encoder_, classifier_);
  }

  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    encoder_.for_each_parameter(visit);
    classifier_.for_each_parameter(visit);
  }

  /// Non-trainable state of the encoder (batch-norm running statistics), for checkpoints.
  template <class Visitor>
  void for_each_buffer(Visitor&& visit) {
    if constexpr (nn_has_buffers) encoder_.for_each_buffer(visit);
  }

  Encoder& encoder() { return encoder_; }
  nn::Linear<Scalar, Backend>& classifier() { return classifier_; }
  Index classes() const { return classifier_.out_features(); }
  Index embedding_dim() const { return classifier_.in_features(); }

 private:
  Encoder encoder_;
  nn::Linear<Scalar, Backend> classifier_;
  template <class E, class = void>
  struct output_of {
    using type = int;  // encoders with a view backward need no tensor scratch
  };
  template <class E>
  struct output_of<E, std::void_t<typename E::Output>> {
    using type = typename E::Output;
  };
  static constexpr bool nn_has_buffers = nn::detail::has_buffers<Encoder>::value;

  backend_matrix_t<Scalar, Backend> grad_embedding_;
  typename output_of<Encoder>::type encoder_grad_{};
};

}  // namespace ccl::pipeline
