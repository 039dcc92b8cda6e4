#pragma once
// The R(2+1)D video student exactly as the official CCL code builds it (method.md §3.1): a stem
// SpatioTemporalConv, then four one-block stages (layer sizes 1, 1, 1, 1 — the "r21d, depth 18"
// flag of the scripts builds this 10-layer network, 14.37 M parameters without a classifier),
// global average pooling, and a 512-d embedding x_v. The classifier is the Student's.
//
//   stem   STConv(3 -> 64, (3,7,7), stride (1,2,2), pad (1,3,3)) -> BN3d -> ReLU
//   conv2  ResBlock(64 -> 64)            conv3  ResBlock(64 -> 128, downsample)
//   conv4  ResBlock(128 -> 256, down)    conv5  ResBlock(256 -> 512, down)
//   ResBlock(Ni -> No): residual = STConv(Ni->No, 3, pad 1, stride s) -> BN -> ReLU
//                                  -> STConv(No->No, 3, pad 1) -> BN
//                       shortcut = x, or STConv(Ni->No, kernel 1, stride 2) -> BN when down
//                       output   = ReLU(shortcut + residual)
//
// R2Plus1dOptions::official() is that network; R2Plus1dOptions::narrow() keeps the topology with
// widths 8-64 and a 3x3 stem so that the Table 1 protocol trains on two CPU cores.
//
// The Backend argument picks where the network runs: r2plus1d<float, ccl::cuda>(o, rng) (with
// <ccl/cuda.hpp> included, in a .cu file) builds the same layers on the device from the same Rng
// draws, so a seed gives the CPU network's weights.
//
// An optional third argument builds every BatchNorm3d of the network: make_norm(channels) returns
// the layer, e.g. [&](Index c) { return ccl::dist::SyncBatchNorm3d<float, Comm>(comm, c); } for
// data-parallel training with global-batch statistics (docs/distributed.md). It draws nothing
// from `rng`, so the weights are the same as with the default.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/batch_norm.hpp>
#include <ccl/nn/pooling.hpp>
#include <ccl/nn/relu.hpp>
#include <ccl/nn/residual.hpp>
#include <ccl/nn/sequential.hpp>
#include <ccl/nn/spatio_temporal_conv.hpp>
#include <ccl/nn/tensor.hpp>

#include <array>

namespace ccl::nn::encoders {

struct R2Plus1dOptions {
  Index in_channels = 3;
  /// Output channels of the stem and of the stages conv2..conv5; the last is the embedding size.
  std::array<Index, 5> widths{64, 64, 128, 256, 512};
  Shape<3> stem_kernel{3, 7, 7};
  Shape<3> stem_stride{1, 2, 2};
  Shape<3> stem_padding{1, 3, 3};

  /// The official student: 3x16x112x112 clips -> 512-d (method.md §3.1).
  static R2Plus1dOptions official() { return {}; }

  /// Same topology, widths 8/8/16/32/64 and a 3x3x3 stride-1 stem: for small clips on a CPU.
  static R2Plus1dOptions narrow(Index in_channels = 1) {
    R2Plus1dOptions o;
    o.in_channels = in_channels;
    o.widths = {8, 8, 16, 32, 64};
    o.stem_kernel = {3, 3, 3};
    o.stem_stride = {1, 1, 1};
    o.stem_padding = {1, 1, 1};
    return o;
  }

  Index embedding_dim() const { return widths[4]; }
};

namespace detail {

template <class Scalar, class Backend, class MakeNorm>
auto st_conv(Index in, Index out, Index kernel, Index stride, Index padding, Rng& rng,
             const MakeNorm& make_norm) {
  SpatioTemporalConvOptions o(in, out, kernel);
  o.stride(stride).padding(padding);
  using Norm = decltype(make_norm(Index{}));
  return SpatioTemporalConv<Scalar, Backend, Norm>(o, rng, make_norm);
}

// The residual path of a block: STConv -> BN -> ReLU -> STConv -> BN.
// The convolutions are built in named statements: the evaluation order of function arguments is
// unspecified, and the draws from `rng` must happen in the same order on every compiler.
template <class Scalar, class Backend, class MakeNorm>
auto block_main(Index in, Index out, Index stride, Rng& rng, const MakeNorm& make_norm) {
  auto first = st_conv<Scalar, Backend>(in, out, 3, stride, 1, rng, make_norm);
  auto second = st_conv<Scalar, Backend>(out, out, 3, 1, 1, rng, make_norm);
  return sequential(std::move(first), make_norm(out), ReLU<Scalar, 5, Backend>{}, std::move(second),
                    make_norm(out));
}

template <class Scalar, class Backend, class MakeNorm>
auto block(Index in, Index out, Rng& rng,
           const MakeNorm& make_norm) {  // no downsampling: identity shortcut
  return sequential(residual(block_main<Scalar, Backend>(in, out, 1, rng, make_norm)),
                    ReLU<Scalar, 5, Backend>{});
}

template <class Scalar, class Backend, class MakeNorm>
auto downsampling_block(Index in, Index out, Rng& rng, const MakeNorm& make_norm) {
  auto main = block_main<Scalar, Backend>(in, out, 2, rng, make_norm);
  auto projection = st_conv<Scalar, Backend>(in, out, 1, 2, 0, rng, make_norm);
  auto shortcut = sequential(std::move(projection), make_norm(out));
  return sequential(residual(std::move(main), std::move(shortcut)), ReLU<Scalar, 5, Backend>{});
}

}  // namespace detail

/// [N, C, T, H, W] clips -> [N, widths[4]] embeddings. Parameters are initialised from `rng`
/// like PyTorch's defaults, in construction order.
template <class Scalar, class Backend = cpu, class MakeNorm = MakeBatchNorm3d<Scalar, Backend>>
auto r2plus1d(const R2Plus1dOptions& o, Rng& rng, const MakeNorm& make_norm = {}) {
  for (Index w : o.widths) require(w > 0, "r2plus1d: every width must be positive, got ", w);
  require(o.in_channels > 0, "r2plus1d: in_channels must be positive, got ", o.in_channels);
  SpatioTemporalConvOptions stem(o.in_channels, o.widths[0], o.stem_kernel);
  stem.stride(o.stem_stride).padding(o.stem_padding);
  using Norm = decltype(make_norm(Index{}));
  auto stem_conv = SpatioTemporalConv<Scalar, Backend, Norm>(stem, rng, make_norm);
  auto conv2 = detail::block<Scalar, Backend>(o.widths[0], o.widths[1], rng, make_norm);
  auto conv3 =
      detail::downsampling_block<Scalar, Backend>(o.widths[1], o.widths[2], rng, make_norm);
  auto conv4 =
      detail::downsampling_block<Scalar, Backend>(o.widths[2], o.widths[3], rng, make_norm);
  auto conv5 =
      detail::downsampling_block<Scalar, Backend>(o.widths[3], o.widths[4], rng, make_norm);
  return sequential(std::move(stem_conv), make_norm(o.widths[0]), ReLU<Scalar, 5, Backend>{},
                    std::move(conv2), std::move(conv3), std::move(conv4), std::move(conv5),
                    GlobalAvgPool<Scalar, 3, Backend>{});
}

template <class Scalar, class Backend = cpu>
using R2Plus1d = decltype(r2plus1d<Scalar, Backend>(std::declval<const R2Plus1dOptions&>(),
                                                    std::declval<Rng&>()));

}  // namespace ccl::nn::encoders
