#pragma once
// Host-side planning of the cuDNN convolutions behind ConvNd<Scalar, Rank, ccl::cuda>:
//   conv_dims       the descriptor dimensions, Conv1d lifted to a 2D convolution of height 1
//                   ([N, C, L] -> [N, C, 1, L], kernel [1, k], padding [0, p], ...);
//   choose_algorithm  the first cuDNN result that succeeded, fits the workspace limit, has the
//                   wanted math type (strict FMA for fp32 unless TF32 is allowed) and, when asked,
//                   is deterministic; each wish is dropped in turn before giving up.
// Both are plain host functions so that the [host] tests check them without a device.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/cudnn.hpp>
#include <ccl/nn/conv.hpp>
#include <ccl/nn/tensor.hpp>

#include <array>
#include <cstddef>
#include <optional>

namespace ccl::gpu::detail {

template <int Rank>
struct ConvDims {
  static constexpr std::size_t tensor_rank = Rank == 3 ? 5 : 4;
  static constexpr std::size_t conv_rank = tensor_rank - 2;
  std::array<int, tensor_rank> x{}, w{}, y{}, bias{};
  std::array<int, conv_rank> padding{}, stride{}, dilation{};
};

/// The cuDNN dimensions of a convolution with `options` from input shape `in` to output `out`.
template <int Rank>
ConvDims<Rank> conv_dims(const char* op, const nn::ConvOptions<Rank>& options,
                         const nn::Shape<Rank + 2>& in, const nn::Shape<Rank + 2>& out) {
  using Dims = ConvDims<Rank>;
  constexpr std::size_t lift = Dims::conv_rank - std::size_t(Rank);  // 1 for Conv1d, else 0
  Dims d;
  d.x.fill(1);
  d.w.fill(1);
  d.y.fill(1);
  d.bias.fill(1);
  d.padding.fill(0);
  d.stride.fill(1);
  d.dilation.fill(1);
  d.x[0] = cudnn_dim(in[0], op);
  d.x[1] = cudnn_dim(in[1], op);
  d.y[0] = cudnn_dim(out[0], op);
  d.y[1] = cudnn_dim(out[1], op);
  d.w[0] = cudnn_dim(options.out_channels(), op);
  d.w[1] = cudnn_dim(options.in_channels(), op);
  d.bias[1] = d.w[0];
  for (std::size_t i = 0; i < std::size_t(Rank); ++i) {
    const std::size_t a = lift + i;
    d.x[2 + a] = cudnn_dim(in[2 + i], op);
    d.y[2 + a] = cudnn_dim(out[2 + i], op);
    d.w[2 + a] = cudnn_dim(options.kernel()[i], op);
    d.padding[a] = cudnn_dim(options.padding()[i], op);
    d.stride[a] = cudnn_dim(options.stride()[i], op);
    d.dilation[a] = cudnn_dim(options.dilation()[i], op);
  }
  require(nn::shape_size(in) <= INT_MAX && nn::shape_size(out) <= INT_MAX, op, ": input ",
          nn::shape_string(in), " or output ", nn::shape_string(out),
          " has more than 2^31 - 1 elements, beyond cuDNN's legacy convolution API");
  return d;
}

/// The math type a convolution of `Scalar` should run with: strict FP32 FMA unless TF32 tensor
/// cores are allowed (cuDNN's default math permits TF32 on sm_80+); default math for double.
template <class Scalar>
cudnnMathType_t conv_math_type(bool allow_tf32) {
  if (std::is_same_v<Scalar, float> && !allow_tf32) return CUDNN_FMA_MATH;
  return CUDNN_DEFAULT_MATH;
}

/// See the header comment. Perf is cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t.
template <class Perf>
std::optional<Perf> choose_algorithm(const Perf* perfs, int count, std::size_t workspace_limit,
                                     cudnnMathType_t wanted_math, bool deterministic) {
  for (int pass = 0; pass < 3; ++pass) {
    const bool need_math = pass < 2;
    const bool need_determinism = deterministic && pass < 1;
    for (int i = 0; i < count; ++i) {
      const Perf& p = perfs[i];
      if (p.status != CUDNN_STATUS_SUCCESS || p.memory > workspace_limit) continue;
      if (need_math && p.mathType != wanted_math) continue;
      if (need_determinism && p.determinism != CUDNN_DETERMINISTIC) continue;
      return p;
    }
  }
  return std::nullopt;
}

}  // namespace ccl::gpu::detail
