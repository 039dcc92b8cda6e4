#pragma once
// Parameter<Scalar, ccl::cuda>: a named trainable matrix whose value and gradient live in device
// memory, the device counterpart of ccl::Parameter<Scalar> (core/parameter.hpp). Device modules
// expose them through the same for_each_parameter(visit) convention, so the device optimisers
// and checkpoints enumerate them exactly as on the host.
//
// Checkpoints and CPU comparisons go through the host: copy_from_host / copy_to_host move the
// value (and optionally the gradient) to and from a host Parameter of the same shape.
//
// Host code: this header contains no kernels and compiles without nvcc.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/execution.hpp>

#include <string>
#include <utility>

namespace ccl {

template <class Scalar>
struct Parameter<Scalar, cuda> {
  std::string name;
  gpu::DeviceMatrix<Scalar> value;
  gpu::DeviceMatrix<Scalar> grad;
  ParameterRole role = ParameterRole::weight;

  Parameter() = default;
  /// A zero-filled [rows, cols] parameter with a zero gradient. The zeroing is synchronous: a new
  /// parameter belongs to no stream yet, and its first reader may use any.
  Parameter(std::string parameter_name, Index rows, Index cols,
            ParameterRole parameter_role = ParameterRole::weight)
      : name(std::move(parameter_name)), value(rows, cols), grad(rows, cols), role(parameter_role) {
    value.zero(nullptr);
    grad.zero(nullptr);
    CCL_CUDA_CHECK(cudaStreamSynchronize(nullptr));
  }

  Index rows() const { return value.rows(); }
  Index cols() const { return value.cols(); }
  Index size() const { return value.rows() * value.cols(); }
  void zero_grad(const Execution<cuda>& execution) { grad.zero(execution.stream); }
};

namespace gpu {

/// Uploads a host parameter's value (and, when `with_grad`, its gradient) into `target`, which is
/// resized to the host shape; `target.name` becomes the host name.
template <class Scalar>
void copy_from_host(const Parameter<Scalar, cpu>& source, Parameter<Scalar, cuda>& target,
                    bool with_grad = false, cudaStream_t stream = nullptr) {
  target.name = source.name;
  target.role = source.role;
  target.value.resize(source.value.rows(), source.value.cols());
  target.grad.resize(source.value.rows(), source.value.cols());
  copy<Scalar>(ccl::view(source.value), target.value.mutable_view(), stream);
  if (with_grad) {
    require(source.grad.rows() == source.value.rows() && source.grad.cols() == source.value.cols(),
            "gpu::copy_from_host: parameter '", source.name, "' has a gradient of shape [",
            source.grad.rows(), ", ", source.grad.cols(), "], expected its value's shape");
    copy<Scalar>(ccl::view(source.grad), target.grad.mutable_view(), stream);
  } else {
    target.grad.zero(stream);
  }
}

/// Downloads a device parameter's value (and, when `with_grad`, its gradient) into a host
/// parameter, resizing it; returns when the data is on the host.
template <class Scalar>
void copy_to_host(const Parameter<Scalar, cuda>& source, Parameter<Scalar, cpu>& target,
                  bool with_grad = false, cudaStream_t stream = nullptr) {
  target.name = source.name;
  target.role = source.role;
  target.value.resize(source.rows(), source.cols());
  copy<Scalar>(source.value.view(), ccl::mutable_view(target.value), stream);
  if (with_grad) {
    target.grad.resize(source.rows(), source.cols());
    copy<Scalar>(source.grad.view(), ccl::mutable_view(target.grad), stream);
  } else if (target.grad.rows() != source.rows() || target.grad.cols() != source.cols()) {
    target.grad.setZero(source.rows(), source.cols());
  }
}

}  // namespace gpu
}  // namespace ccl
