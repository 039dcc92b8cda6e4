#pragma once
// SpatioTemporalConv<Scalar>: the (2+1)D factorised convolution of R(2+1)D (Tran et al., CVPR
// 2018) exactly as the official CCL student builds it (method.md §3.1, VCOP's R(2+1)D code):
//
//   Conv3d(Ni -> M, kernel (1, kh, kw), stride (1, sh, sw), padding (0, ph, pw))   spatial_conv
//   -> BatchNorm3d(M) -> ReLU                                                       bn, relu
//   -> Conv3d(M -> No, kernel (kt, 1, 1), stride (st, 1, 1), padding (pt, 0, 0))   temporal_conv
//
//   M = floor(kt·kh·kw·Ni·No / (kh·kw·Ni + kt·No)),
//
// the number of intermediate channels that gives the pair as many parameters as a full
// kt x kh x kw Conv3d. Both convolutions have no bias by default (the official code). Parameter
// and buffer names follow the PyTorch module ("spatial_conv.weight", "bn.running_mean", ...), so a
// state dict maps one to one.
//
// The Backend argument is carried through to the four layers: SpatioTemporalConv<float, ccl::cuda>
// is the same composition of ConvNd/BatchNorm/ReLU<..., ccl::cuda> (include <ccl/cuda/nn/...>
// or <ccl/cuda.hpp>), built and initialised from the same Rng draws as the CPU one.
//
// Norm is the normalisation layer between the two convolutions (nn::BatchNorm by default): any
// layer with BatchNorm's interface on [N, M, T, H, W], e.g. dist::SyncBatchNorm3d for
// data-parallel training, built by the `make_norm(M)` the constructor is given.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/execution.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/batch_norm.hpp>
#include <ccl/nn/conv.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients
#include <ccl/nn/relu.hpp>
#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_ops.hpp>

#include <string>
#include <type_traits>

namespace ccl::nn {

class SpatioTemporalConvOptions {
 public:
  /// kernel = (kt, kh, kw) of the full convolution being factorised.
  SpatioTemporalConvOptions(Index in_channels, Index out_channels, const Shape<3>& kernel)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_(kernel) {}
  SpatioTemporalConvOptions(Index in_channels, Index out_channels, Index kernel)
      : SpatioTemporalConvOptions(in_channels, out_channels, uniform_shape<3>(kernel)) {}

  SpatioTemporalConvOptions& stride(const Shape<3>& value) { return set(stride_, value); }
  SpatioTemporalConvOptions& stride(Index value) { return set(stride_, uniform_shape<3>(value)); }
  SpatioTemporalConvOptions& padding(const Shape<3>& value) { return set(padding_, value); }
  SpatioTemporalConvOptions& padding(Index value) { return set(padding_, uniform_shape<3>(value)); }
  /// Bias in both convolutions (the official student has none).
  SpatioTemporalConvOptions& bias(bool value) {
    bias_ = value;
    return *this;
  }

  Index in_channels() const { return in_channels_; }
  Index out_channels() const { return out_channels_; }
  const Shape<3>& kernel() const { return kernel_; }
  const Shape<3>& stride() const { return stride_; }
  const Shape<3>& padding() const { return padding_; }
  bool bias() const { return bias_; }

 private:
  SpatioTemporalConvOptions& set(Shape<3>& field, const Shape<3>& value) {
    field = value;
    return *this;
  }

  Index in_channels_;
  Index out_channels_;
  Shape<3> kernel_;
  Shape<3> stride_ = uniform_shape<3>(1);
  Shape<3> padding_ = uniform_shape<3>(0);
  bool bias_ = false;
};

/// M = floor(kt·kh·kw·Ni·No / (kh·kw·Ni + kt·No)), in exact integer arithmetic.
inline Index spatio_temporal_channels(const Shape<3>& kernel, Index in_channels,
                                      Index out_channels) {
  const Index spatial = kernel[1] * kernel[2];
  return kernel[0] * spatial * in_channels * out_channels /
         (spatial * in_channels + kernel[0] * out_channels);
}

/// The default `make_norm` of SpatioTemporalConv and of the R(2+1)D encoder: BatchNorm3d(c).
template <class Scalar, class Backend = cpu>
struct MakeBatchNorm3d {
  BatchNorm<Scalar, 3, Backend> operator()(Index channels) const {
    return BatchNorm<Scalar, 3, Backend>(channels);
  }
};

template <class Scalar, class Backend = cpu, class Norm = BatchNorm<Scalar, 3, Backend>>
class SpatioTemporalConv {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(Norm::input_rank == 5 && std::is_same_v<typename Norm::scalar_type, Scalar>,
                "ccl::nn::SpatioTemporalConv: Norm must be a normalisation layer on [N, C, T, H, "
                "W] tensors of the same scalar type (nn::BatchNorm3d, dist::SyncBatchNorm3d)");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;
  using Input = Tensor<Scalar, 5, Backend>;
  using Output = Tensor<Scalar, 5, Backend>;
  static constexpr int spatial_rank = 3;
  static constexpr int input_rank = 5;
  static constexpr int output_rank = 5;
  static constexpr const char* name = "SpatioTemporalConv";

  SpatioTemporalConv(const SpatioTemporalConvOptions& options, Rng& rng)
      : SpatioTemporalConv(options, rng, MakeBatchNorm3d<Scalar, Backend>{}) {}

  /// `make_norm(M)` builds the normalisation of the M intermediate channels (no Rng draw, so the
  /// weights are those of the default constructor's for the same `rng`).
  template <class MakeNorm>
  SpatioTemporalConv(const SpatioTemporalConvOptions& options, Rng& rng, MakeNorm&& make_norm)
      : options_(checked(options)),
        spatial_conv_(spatial_options(options), rng),
        bn_(make_norm(spatio_temporal_channels(options.kernel(), options.in_channels(),
                                               options.out_channels()))),
        temporal_conv_(temporal_options(options), rng) {
    prefix("spatial_conv.", spatial_conv_);
    prefix("bn.", bn_);
    prefix("temporal_conv.", temporal_conv_);
  }

  const SpatioTemporalConvOptions& options() const { return options_; }
  Index intermediate_channels() const { return bn_.channels(); }
  /// Declared so that Sequential checks its neighbours against the conv, not its inner BN.
  Index in_channels() const { return options_.in_channels(); }
  Index out_channels() const { return options_.out_channels(); }

  ConvNd<Scalar, 3, Backend>& spatial_conv() { return spatial_conv_; }
  Norm& bn() { return bn_; }
  ConvNd<Scalar, 3, Backend>& temporal_conv() { return temporal_conv_; }

  void set_training(bool on) { bn_.set_training(on); }
  void train(bool on = true) { bn_.train(on); }
  void eval() { bn_.eval(); }
  bool is_training() const { return bn_.is_training(); }

  Shape<5> output_shape(const Shape<5>& in) const {
    Shape<5> mid = spatial_conv_.output_shape(in);
    mid[1] = intermediate_channels();
    return temporal_conv_.output_shape(mid);
  }

  const Output& forward(const Input& x) {
    const auto& a = spatial_conv_.forward(x);
    const auto& b = bn_.forward(a);
    const auto& c = relu_.forward(b);
    return temporal_conv_.forward(c);
  }

  const Output& output() const { return temporal_conv_.output(); }

  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients mode = ParameterGradients::accumulate) {
    require(!temporal_conv_.output().empty(), name, "::backward: called before forward");
    zeroed(grad_c_, relu_.output().shape());
    temporal_conv_.backward(grad_y, &grad_c_, mode);
    zeroed(grad_b_, grad_c_.shape());
    relu_.backward(grad_c_, &grad_b_);
    zeroed(grad_a_, grad_b_.shape());
    bn_.backward(grad_b_, &grad_a_, mode);
    spatial_conv_.backward(grad_a_, grad_x, mode);
  }

  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    spatial_conv_.for_each_parameter(visit);
    bn_.for_each_parameter(visit);
    temporal_conv_.for_each_parameter(visit);
  }
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) const {
    spatial_conv_.for_each_parameter(visit);
    bn_.for_each_parameter(visit);
    temporal_conv_.for_each_parameter(visit);
  }
  template <class Visitor>
  void for_each_buffer(Visitor&& visit) {
    bn_.for_each_buffer(
        [&](const std::string& buffer, auto& value) { visit("bn." + buffer, value); });
  }

  void zero_grad() {
    spatial_conv_.zero_grad();
    bn_.zero_grad();
    temporal_conv_.zero_grad();
  }

  /// Every part, and the zeroing of the backward workspaces, runs with `execution`
  /// (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    set_executions(execution, spatial_conv_, bn_, relu_, temporal_conv_);
    rebind_execution(execution_, execution);
  }

 private:
  static const SpatioTemporalConvOptions& checked(const SpatioTemporalConvOptions& o) {
    require(o.in_channels() > 0 && o.out_channels() > 0, name,
            ": channel counts must be positive, got in = ", o.in_channels(),
            ", out = ", o.out_channels());
    for (Index k : o.kernel())
      require(k > 0, name, ": the kernel ", shape_string(o.kernel()), " must be positive");
    require(spatio_temporal_channels(o.kernel(), o.in_channels(), o.out_channels()) > 0, name,
            ": the factorisation of ", o.in_channels(), " -> ", o.out_channels(),
            " channels with kernel ", shape_string(o.kernel()), " leaves no intermediate channel");
    return o;
  }
  static ConvOptions<3> spatial_options(const SpatioTemporalConvOptions& o) {
    return ConvOptions<3>(o.in_channels(),
                          spatio_temporal_channels(o.kernel(), o.in_channels(), o.out_channels()),
                          {1, o.kernel()[1], o.kernel()[2]})
        .stride({1, o.stride()[1], o.stride()[2]})
        .padding({0, o.padding()[1], o.padding()[2]})
        .bias(o.bias());
  }
  static ConvOptions<3> temporal_options(const SpatioTemporalConvOptions& o) {
    return ConvOptions<3>(spatio_temporal_channels(o.kernel(), o.in_channels(), o.out_channels()),
                          o.out_channels(), {o.kernel()[0], 1, 1})
        .stride({o.stride()[0], 1, 1})
        .padding({o.padding()[0], 0, 0})
        .bias(o.bias());
  }
  template <class Module>
  static void prefix(const std::string& text, Module& module) {
    module.for_each_parameter([&](auto& p) { p.name = text + p.name; });
  }
  void zeroed(Tensor<Scalar, 5, Backend>& t, const Shape<5>& shape) {
    t.resize(shape);
    zero_elements(t, execution_);
  }

  SpatioTemporalConvOptions options_;
  ConvNd<Scalar, 3, Backend> spatial_conv_;
  Norm bn_;
  ReLU<Scalar, 5, Backend> relu_;
  ConvNd<Scalar, 3, Backend> temporal_conv_;
  Tensor<Scalar, 5, Backend> grad_a_, grad_b_, grad_c_;  // backward workspaces
  Execution<Backend> execution_;
};

}  // namespace ccl::nn
