#pragma once
// ConvOptions<Rank>, the construction options of ConvNd (nn/conv.hpp), and what every backend's
// convolution derives from them: the construction checks, the output shape and the layer's name.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/detail/im2col.hpp>
#include <ccl/nn/tensor.hpp>

#include <cstddef>

namespace ccl::nn {

/// Construction options in the style of LibTorch's ConvNdOptions: the same name reads the value
/// (`opts.stride()`) and sets it (`opts.stride(2)`), so the options chain.
template <int Rank>
class ConvOptions {
  static_assert(Rank >= 1 && Rank <= 3,
                "ccl::nn::ConvOptions: Rank is the number of spatial "
                "axes: 1 (audio), 2 (image) or 3 (video)");

 public:
  ConvOptions(Index in_channels, Index out_channels, const Shape<Rank>& kernel)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_(kernel) {}
  ConvOptions(Index in_channels, Index out_channels, Index kernel)
      : ConvOptions(in_channels, out_channels, uniform_shape<Rank>(kernel)) {}

  ConvOptions& stride(const Shape<Rank>& value) { return set(stride_, value); }
  ConvOptions& stride(Index value) { return set(stride_, uniform_shape<Rank>(value)); }
  ConvOptions& padding(const Shape<Rank>& value) { return set(padding_, value); }
  ConvOptions& padding(Index value) { return set(padding_, uniform_shape<Rank>(value)); }
  ConvOptions& dilation(const Shape<Rank>& value) { return set(dilation_, value); }
  ConvOptions& dilation(Index value) { return set(dilation_, uniform_shape<Rank>(value)); }
  ConvOptions& bias(bool value) {
    bias_ = value;
    return *this;
  }

  Index in_channels() const { return in_channels_; }
  Index out_channels() const { return out_channels_; }
  const Shape<Rank>& kernel() const { return kernel_; }
  const Shape<Rank>& stride() const { return stride_; }
  const Shape<Rank>& padding() const { return padding_; }
  const Shape<Rank>& dilation() const { return dilation_; }
  bool bias() const { return bias_; }

 private:
  ConvOptions& set(Shape<Rank>& field, const Shape<Rank>& value) {
    field = value;
    return *this;
  }

  Index in_channels_;
  Index out_channels_;
  Shape<Rank> kernel_;
  Shape<Rank> stride_ = uniform_shape<Rank>(1);
  Shape<Rank> padding_ = uniform_shape<Rank>(0);
  Shape<Rank> dilation_ = uniform_shape<Rank>(1);
  bool bias_ = true;
};

namespace detail {

/// The construction checks of every ConvNd backend: positive channels, kernel, stride and
/// dilation, non-negative padding; `op` names the layer in the message.
template <int Rank>
void check_conv_options(const char* op, const ConvOptions<Rank>& options) {
  require(options.in_channels() > 0 && options.out_channels() > 0, op,
          ": channel counts must be positive, got in = ", options.in_channels(),
          ", out = ", options.out_channels());
  for (int i = 0; i < Rank; ++i) {
    const auto a = std::size_t(i);
    require(options.kernel()[a] > 0 && options.stride()[a] > 0 && options.dilation()[a] > 0 &&
                options.padding()[a] >= 0,
            op, ": kernel ", shape_string(options.kernel()), ", stride ",
            shape_string(options.stride()), " and dilation ", shape_string(options.dilation()),
            " must be positive and padding ", shape_string(options.padding()), " non-negative");
  }
}

/// The output shape [N, Cout, spatial...] of a convolution for an input shape [N, Cin, ...]
/// (PyTorch's floor formula); throws naming `op` when the kernel does not fit.
template <int Rank>
Shape<Rank + 2> conv_output_shape(const char* op, const ConvOptions<Rank>& options,
                                  const Shape<Rank + 2>& in) {
  Shape<Rank> spatial{};
  for (int i = 0; i < Rank; ++i) spatial[std::size_t(i)] = in[std::size_t(i + 2)];
  const WindowGeometry g =
      make_window_geometry(op, options.in_channels(), spatial, options.kernel(), options.stride(),
                           options.padding(), options.dilation());
  Shape<Rank + 2> out{};
  out[0] = in[0];
  out[1] = options.out_channels();
  for (int i = 0; i < Rank; ++i) out[std::size_t(i + 2)] = g.out[std::size_t(3 - Rank + i)];
  return out;
}

/// The name PyTorch gives a convolution of `Rank` spatial axes.
template <int Rank>
constexpr const char* conv_name() {
  return Rank == 1 ? "Conv1d" : Rank == 2 ? "Conv2d" : "Conv3d";
}
}  // namespace detail

}  // namespace ccl::nn
