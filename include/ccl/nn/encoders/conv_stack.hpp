#pragma once
// The teacher encoders of the Table 1 protocol: small CNNs for audio (1D) and images (2D),
// conv -> BN -> ReLU -> max-pool stages, a last conv stage without pooling, global average
// pooling, and a linear projection to the embedding size (the teachers' x_a, x_i).
//
//   audio_cnn: [N, C, L] (raw waveform, C = 1, or log-mel frames, C = mel bins) -> [N, D]
//   image_cnn: [N, C, H, W] (grey or RGB images) -> [N, D]
//
// They stand in for PANNs Cnn14 and ResNet-34 (method.md §3.2-3.3), which cannot be trained or
// downloaded here; what matters for distillation is a frozen teacher that knows its modality.
//
// The Backend argument is carried to every layer: audio_cnn<Scalar, ccl::cuda> builds the same
// teacher from device layers (include <ccl/cuda.hpp>; the projection is TensorLinear<Scalar,
// ccl::cuda>), with the same weights for the same seed.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/batch_norm.hpp>
#include <ccl/nn/conv.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/nn/pooling.hpp>
#include <ccl/nn/relu.hpp>
#include <ccl/nn/sequential.hpp>

#include <array>
#include <type_traits>

namespace ccl::nn::encoders {

struct ConvStackOptions {
  Index in_channels = 1;
  std::array<Index, 3> widths{16, 32, 64};
  Index kernel = 3;
  Index first_stride = 1;  ///< e.g. 4 for raw audio, to shorten the waveform early
  Index pool = 2;
  Index embedding_dim = 64;

  Index padding() const { return kernel / 2; }
};

namespace detail {

template <class Scalar, int Rank, class Backend>
auto conv_bn_relu(Index in, Index out, const ConvStackOptions& o, Index stride, Rng& rng) {
  ConvOptions<Rank> c(in, out, o.kernel);
  c.stride(stride).padding(o.padding()).bias(false);  // BN follows: a bias would be redundant
  return sequential(ConvNd<Scalar, Rank, Backend>(c, rng), BatchNorm<Scalar, Rank, Backend>(out),
                    ReLU<Scalar, Rank + 2, Backend>{});
}

template <class Scalar, int Rank, class Backend>
auto conv_stack(const ConvStackOptions& o, Rng& rng) {
  require(o.in_channels > 0 && o.kernel > 0 && o.first_stride > 0 && o.pool > 0 &&
              o.embedding_dim > 0,
          "conv_stack: in_channels, kernel, first_stride, pool and embedding_dim must be "
          "positive");
  for (Index w : o.widths) require(w > 0, "conv_stack: every width must be positive, got ", w);
  auto stage1 =
      conv_bn_relu<Scalar, Rank, Backend>(o.in_channels, o.widths[0], o, o.first_stride, rng);
  auto stage2 = conv_bn_relu<Scalar, Rank, Backend>(o.widths[0], o.widths[1], o, 1, rng);
  auto stage3 = conv_bn_relu<Scalar, Rank, Backend>(o.widths[1], o.widths[2], o, 1, rng);
  // Named first: argument evaluation order is unspecified, the rng draws must not be.
  auto projection = Linear<Scalar, Backend>(o.widths[2], o.embedding_dim, rng);
  return sequential(std::move(stage1), MaxPool<Scalar, Rank, Backend>(PoolOptions<Rank>(o.pool)),
                    std::move(stage2), MaxPool<Scalar, Rank, Backend>(PoolOptions<Rank>(o.pool)),
                    std::move(stage3), GlobalAvgPool<Scalar, Rank, Backend>{},
                    std::move(projection));
}

}  // namespace detail

template <class Scalar, class Backend = cpu>
auto audio_cnn(const ConvStackOptions& o, Rng& rng) {
  return detail::conv_stack<Scalar, 1, Backend>(o, rng);
}

template <class Scalar, class Backend = cpu>
auto image_cnn(const ConvStackOptions& o, Rng& rng) {
  return detail::conv_stack<Scalar, 2, Backend>(o, rng);
}

template <class Scalar, class Backend = cpu>
using AudioCnn = decltype(audio_cnn<Scalar, Backend>(std::declval<const ConvStackOptions&>(),
                                                     std::declval<Rng&>()));
template <class Scalar, class Backend = cpu>
using ImageCnn = decltype(image_cnn<Scalar, Backend>(std::declval<const ConvStackOptions&>(),
                                                     std::declval<Rng&>()));

}  // namespace ccl::nn::encoders
