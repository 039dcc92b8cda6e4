#pragma once
// Student<Encoder>: the network being distilled — an encoder producing the embedding x_v [B, D]
// and a linear classifier producing the logits z_v [B, C] (method.md §3.1: R(2+1)D + Linear).
// Only the student is used at test time.

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/layer.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/pipeline/encoder_traits.hpp>

#include <utility>

namespace ccl::pipeline {

template <class Scalar>
struct StudentOutput {
  EmbeddingView<const Scalar> embedding;  ///< x_v, [B, D]
  EmbeddingView<const Scalar> logits;     ///< z_v, [B, C]
};

template <class Encoder, class Scalar = float>
class Student {
  static_assert(detail::has_embedding_backward<Encoder, Scalar>::value,
                "ccl::pipeline::Student: the encoder needs `backward(grad_embedding)` taking an "
                "EmbeddingView<const Scalar> or its rank-2 Output tensor (see "
                "ccl/pipeline/encoder_traits.hpp)");
  static_assert(detail::has_parameters<Encoder, Scalar>::value,
                "ccl::pipeline::Student: the encoder needs `for_each_parameter(visit)` over "
                "Parameter<Scalar>");

 public:
  using scalar_type = Scalar;

  /// `embedding_dim` must equal the encoder's output width; the classifier is initialised from
  /// `rng` like PyTorch's nn.Linear.
  Student(Encoder encoder, Index embedding_dim, Index classes, Rng& rng)
      : encoder_(std::move(encoder)), classifier_(embedding_dim, classes, rng) {
    classifier_.weight().name = "classifier.weight";
    classifier_.bias().name = "classifier.bias";
  }

  template <class Input>
  StudentOutput<Scalar> forward(const Input& input) {
    static_assert(detail::has_embedding_forward<Encoder, Input, Scalar>::value,
                  "ccl::pipeline::Student: the encoder's forward(input) must return [B, D] "
                  "embeddings convertible to EmbeddingView<const Scalar> for this input type");
    const EmbeddingView<const Scalar> embedding = encoder_.forward(input);
    require(embedding.cols() == classifier_.in_features(), "Student: the encoder yields ",
            embedding.cols(), "-d embeddings but the classifier expects ",
            classifier_.in_features());
    const RowMatrix<Scalar>& logits = classifier_.forward(embedding);
    return {embedding, view(logits)};
  }

  /// Back-propagates dL/dx_v and dL/dz_v of the last forward into every student parameter.
  void backward(EmbeddingView<const Scalar> grad_embedding, EmbeddingView<const Scalar> grad_logits) {
    grad_embedding_ = grad_embedding.matrix();
    classifier_.backward(grad_logits, mutable_view(grad_embedding_));
    backward_embedding(encoder_, view(grad_embedding_), encoder_grad_);
  }

  void set_training(bool training) { pipeline::set_training(encoder_, training); }

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
  nn::Linear<Scalar>& classifier() { return classifier_; }
  Index classes() const { return classifier_.out_features(); }
  Index embedding_dim() const { return classifier_.in_features(); }

 private:
  Encoder encoder_;
  nn::Linear<Scalar> classifier_;
  template <class E, class = void>
  struct output_of {
    using type = int;  // encoders with a view backward need no tensor scratch
  };
  template <class E>
  struct output_of<E, std::void_t<typename E::Output>> {
    using type = typename E::Output;
  };
  static constexpr bool nn_has_buffers = nn::detail::has_buffers<Encoder>::value;

  RowMatrix<Scalar> grad_embedding_;
  typename output_of<Encoder>::type encoder_grad_{};
};

}  // namespace ccl::pipeline
