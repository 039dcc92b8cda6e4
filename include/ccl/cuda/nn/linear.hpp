#pragma once
// nn::Linear<Scalar, ccl::cuda>: the fully connected layer y = x Wᵀ + b of nn/linear.hpp with its
// parameters in device memory and device views as inputs and gradients. Same calling convention
// (forward keeps a copy of x and returns a workspace valid until the next forward; backward ADDS
// into the parameters' gradients unless ParameterGradients::skip, and into grad_x when given),
// same parameter names, shapes and error messages.
//
// GEMMs are cuBLAS's. The data are row-major and cuBLAS is column-major; a row-major [r, c]
// matrix with row stride s is the column-major [c, r] matrix with leading dimension s, so
//   y  = x Wᵀ      is   yᵀ[out, B]  = op_T(W as [in, out]) · xᵀ[in, B]
//   dW += dyᵀ x    is   dWᵀ[in, out] += xᵀ[in, B] · op_T(dyᵀ as [out, B])
//   dx += dy W     is   dxᵀ[in, B]  += Wᵀ[in, out] · dyᵀ[out, B]
// without copying or transposing anything. The bias is broadcast into y before the GEMM adds
// x Wᵀ (beta = 1); its gradient is the column sums of dy (kernels/rowwise.cuh, deterministic).
// fp32 GEMMs use TF32 tensor cores only when gpu::settings().allow_tf32 is set.
//
// Initialisation runs on the host with the CPU layer's rule and order and is uploaded, so a seed
// gives bit-identical weights on both backends.

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/checks.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/cublas.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/rowwise.cuh>
#include <ccl/cuda/nn/rowwise.hpp>
#include <ccl/cuda/parameter.hpp>
#include <ccl/cuda/settings.hpp>
#include <ccl/cuda/views.hpp>
#include <ccl/nn/linear.hpp>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <climits>
#include <cmath>
#include <cstddef>
#include <optional>

namespace ccl::nn {

template <class Scalar>
class Linear<Scalar, cuda> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);

 public:
  using scalar_type = Scalar;
  using backend_type = cuda;

  /// A layer with zero parameters; initialise with reset_parameters() or set_weight()/set_bias().
  Linear(Index in_features, Index out_features, bool bias = true)
      : weight_("weight", in_features > 0 && out_features > 0 ? out_features : 0,
                in_features > 0 ? in_features : 0),
        bias_("bias", bias ? 1 : 0, bias && out_features > 0 ? out_features : 0,
              ParameterRole::bias) {
    require(in_features > 0 && out_features > 0,
            "Linear: feature sizes must be positive, got in = ", in_features,
            ", out = ", out_features);
    require(in_features <= INT_MAX && out_features <= INT_MAX,
            "Linear: feature sizes beyond the CUDA backend's 32-bit indices, got in = ",
            in_features, ", out = ", out_features);
  }

  /// PyTorch's default initialisation, drawn on the host exactly as the CPU layer draws it.
  Linear(Index in_features, Index out_features, Rng& rng, bool bias = true)
      : Linear(in_features, out_features, bias) {
    reset_parameters(rng);
  }

  /// W, b ~ U(-1/√in, 1/√in), weight row by row then bias (nn/linear.hpp), then uploaded.
  void reset_parameters(Rng& rng) {
    const double bound = 1.0 / std::sqrt(double(in_features()));
    RowMatrix<Scalar> w(out_features(), in_features());
    rng.fill_uniform(w, -bound, bound);
    gpu::copy<Scalar>(ccl::view(w), weight_.value.mutable_view());
    if (has_bias()) {
      RowMatrix<Scalar> b(1, out_features());
      rng.fill_uniform(b, -bound, bound);
      gpu::copy<Scalar>(ccl::view(b), bias_.value.mutable_view());
    }
  }

  Index in_features() const { return weight_.value.cols(); }
  Index out_features() const { return weight_.value.rows(); }
  bool has_bias() const { return bias_.value.rows() * bias_.value.cols() > 0; }

  Parameter<Scalar, cuda>& weight() { return weight_; }
  const Parameter<Scalar, cuda>& weight() const { return weight_; }
  Parameter<Scalar, cuda>& bias() { return bias_; }
  const Parameter<Scalar, cuda>& bias() const { return bias_; }

  /// Sets W from an [out, in] device matrix.
  void set_weight(EmbeddingView<const Scalar, cuda> w) {
    require(w.rows() == out_features() && w.cols() == in_features(), "Linear::set_weight: got ",
            w.shape(), ", expected [", out_features(), ", ", in_features(), "] ([out, in])");
    gpu::require_device_memory("Linear::set_weight", "weight", w);
    gpu::checks::finite("Linear::set_weight", "weight", w, finite_scratch_, gpu::settings().stream);
    gpu::copy<Scalar>(w, weight_.value.mutable_view());
  }

  /// Sets b from a [1, out] row or an [out, 1] column of device memory.
  void set_bias(EmbeddingView<const Scalar, cuda> b) {
    require(has_bias(), "Linear::set_bias: the layer was built without a bias");
    require(b.rows() * b.cols() == out_features() && (b.rows() == 1 || b.cols() == 1),
            "Linear::set_bias: got ", b.shape(), ", expected [1, ", out_features(), "]");
    gpu::require_device_memory("Linear::set_bias", "bias", b);
    gpu::checks::finite("Linear::set_bias", "bias", b, finite_scratch_, gpu::settings().stream);
    // Either layout as a column of `out` elements, one per row of the copy.
    const EmbeddingView<const Scalar, cuda> column(b.data(), out_features(), 1,
                                                   b.rows() == 1 ? 1 : b.row_stride());
    gpu::copy<Scalar>(column,
                      EmbeddingView<Scalar, cuda>(bias_.value.data(), out_features(), 1, 1));
  }

  /// Whether forward scans x for NaN/Inf (on by default, as on the CPU). The scan reads one
  /// value back, so it synchronises the stream; layers inside a checked module turn it off.
  void set_check_finite(bool on) { check_finite_ = on; }

  /// y = x Wᵀ + b for a device batch x of shape [B, in], B >= 1 (x may be strided).
  const gpu::DeviceMatrix<Scalar>& forward(EmbeddingView<const Scalar, cuda> x) {
    checks::non_empty("Linear::forward", "x", x);
    require(x.cols() == in_features(), "Linear::forward: x has shape ", x.shape(), ", expected [",
            x.rows(), ", ", in_features(), "] (in_features = ", in_features(), ")");
    require(x.rows() <= INT_MAX, "Linear::forward: x has shape ", x.shape(),
            ", beyond the CUDA backend's 32-bit row indices");
    gpu::require_device_memory("Linear::forward", "x", x);
    const cudaStream_t stream = gpu::settings().stream;
    if (check_finite_) gpu::checks::finite("Linear::forward", "x", x, finite_scratch_, stream);
    const int batch = int(x.rows()), in = int(in_features()), out = int(out_features());
    input_.resize(x.rows(), x.cols());
    gpu::copy<Scalar>(x, input_.mutable_view(), stream);
    output_.resize(x.rows(), out_features());
    if (has_bias()) {
      const long long count = static_cast<long long>(batch) * out;
      gpu::kernels::broadcast_row_kernel<Scalar>
          <<<gpu::kernels::elementwise_blocks(count), gpu::kernels::elementwise_threads, 0,
             stream>>>(bias_.value.data(), batch, out, output_.data(), out);
      CCL_CUDA_CHECK_LAUNCH("broadcast_row_kernel");
    }
    gpu::gemm(handle(), CUBLAS_OP_T, CUBLAS_OP_N, out, batch, in, Scalar(1), weight_.value.data(),
              in, input_.data(), in, has_bias() ? Scalar(1) : Scalar(0), output_.data(), out);
    return output_;
  }

  /// The output of the last forward.
  const gpu::DeviceMatrix<Scalar>& output() const { return output_; }

  /// Back-propagates grad_y = dL/dy ([B, out], same B as the last forward):
  ///   grad W += grad_yᵀ x,  grad b += Σ_rows grad_y,  grad_x += grad_y W  (if grad_x given).
  void backward(EmbeddingView<const Scalar, cuda> grad_y, EmbeddingView<Scalar, cuda> grad_x = {},
                ParameterGradients mode = ParameterGradients::accumulate) {
    require(input_.rows() > 0, "Linear::backward: called before forward");
    require(grad_y.rows() == input_.rows() && grad_y.cols() == out_features(),
            "Linear::backward: grad_y has shape ", grad_y.shape(), ", expected [", input_.rows(),
            ", ", out_features(), "] like the last forward's output");
    if (grad_x.data() != nullptr) {
      require(grad_x.rows() == input_.rows() && grad_x.cols() == in_features(),
              "Linear::backward: grad_x has shape ", grad_x.shape(), ", expected [", input_.rows(),
              ", ", in_features(), "] like the last forward's input");
    }
    gpu::require_device_memory("Linear::backward", "grad_y", grad_y);
    gpu::require_device_memory("Linear::backward", "grad_x", grad_x);
    const cudaStream_t stream = gpu::settings().stream;
    const int batch = int(input_.rows()), in = int(in_features()), out = int(out_features());
    const int ldg = int(grad_y.row_stride());
    if (mode == ParameterGradients::accumulate) {
      gpu::gemm(handle(), CUBLAS_OP_N, CUBLAS_OP_T, in, out, batch, Scalar(1), input_.data(), in,
                grad_y.data(), ldg, Scalar(1), weight_.grad.data(), in);
      if (has_bias()) {
        const dim3 block(gpu::kernels::column_sum_columns, gpu::kernels::column_sum_lanes);
        const int blocks =
            (out + gpu::kernels::column_sum_columns - 1) / gpu::kernels::column_sum_columns;
        gpu::kernels::column_sums_add_kernel<Scalar><<<blocks, block, 0, stream>>>(
            grad_y.data(), static_cast<std::ptrdiff_t>(ldg), batch, out, bias_.grad.data());
        CCL_CUDA_CHECK_LAUNCH("column_sums_add_kernel");
      }
    }
    if (grad_x.data() != nullptr && !grad_x.empty()) {
      gpu::gemm(handle(), CUBLAS_OP_N, CUBLAS_OP_N, in, batch, out, Scalar(1), weight_.value.data(),
                in, grad_y.data(), ldg, Scalar(1), grad_x.data(), int(grad_x.row_stride()));
    }
  }

  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    visit(weight_);
    if (has_bias()) visit(bias_);
  }
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) const {
    visit(weight_);
    if (has_bias()) visit(bias_);
  }

  void zero_grad() {
    weight_.zero_grad();
    bias_.zero_grad();
  }

 private:
  // Created on first use (cublasCreate is not free) and bound to the current settings each call,
  // so a ScopedSettings change of stream or TF32 takes effect at once.
  cublasHandle_t handle() {
    if (!cublas_) cublas_.emplace();
    cublas_->set_stream(gpu::settings().stream);
    cublas_->set_tf32(gpu::settings().allow_tf32);
    return cublas_->get();
  }

  Parameter<Scalar, cuda> weight_;
  Parameter<Scalar, cuda> bias_;
  gpu::DeviceMatrix<Scalar> input_;   // copy of the last forward's x, for dL/dW
  gpu::DeviceMatrix<Scalar> output_;  // workspace returned by forward
  gpu::DeviceBuffer<unsigned long long> finite_scratch_;
  std::optional<gpu::CublasHandle> cublas_;
  bool check_finite_ = true;
};

}  // namespace ccl::nn
