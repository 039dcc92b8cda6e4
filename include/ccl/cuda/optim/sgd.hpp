#pragma once
// optim::Sgd<Scalar, ccl::cuda>: SGD with momentum, dampening, L2 weight decay and Nesterov on
// device parameters, with exactly optim/sgd.hpp's rule (torch.optim.SGD): one fused kernel per
// parameter (kernels/optim.cuh), the momentum buffer created on a parameter's first step as a
// copy of d (no dampening on that step), the gradient never modified.

#include <ccl/core/backend.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/kernels/optim.cuh>
#include <ccl/cuda/launch.hpp>
#include <ccl/cuda/optim/optimizer.hpp>
#include <ccl/cuda/parameter.hpp>
#include <ccl/optim/sgd.hpp>

#include <cuda_runtime_api.h>

namespace ccl::optim {

/// The constants of one SGD step, rounded to Scalar as the CPU rounds them.
template <class Scalar>
gpu::kernels::SgdCoefficients<Scalar> sgd_coefficients(const SgdOptions& o, bool first) {
  gpu::kernels::SgdCoefficients<Scalar> c{};
  c.lr = Scalar(o.lr);
  c.weight_decay = Scalar(o.weight_decay);
  c.momentum = Scalar(o.momentum);
  c.keep = Scalar(1.0 - o.dampening);
  c.has_weight_decay = o.weight_decay != 0;
  c.has_momentum = o.momentum != 0;
  c.nesterov = o.nesterov;
  c.first = first;
  return c;
}

}  // namespace ccl::optim

namespace ccl {

/// The device step of one parameter (optim::Optimizer::step dispatches here for ccl::cuda).
template <>
struct Implementation<optim::UpdateStep<optim::SgdUpdate>, cuda> {
  template <class Scalar>
  static void run(const optim::SgdOptions& o, Parameter<Scalar, cuda>& p,
                  optim::ParameterState<Scalar, cuda>& state, const Execution<cuda>& execution) {
    const cudaStream_t stream = execution.stream;
    ++state.step;
    const long long count = static_cast<long long>(p.rows()) * p.cols();
    gpu::DeviceMatrix<Scalar>& buffer = state.buffers[0];
    bool first = false;
    if (o.momentum != 0 && buffer.rows() * buffer.cols() == 0) {
      first = true;  // b = clone(d): the kernel writes every element
      buffer.resize(p.rows(), p.cols());
    }
    gpu::launch_elementwise("sgd_kernel", count, stream, gpu::kernels::sgd_kernel<Scalar>,
                            optim::sgd_coefficients<Scalar>(o, first), p.value.data(),
                            p.grad.data(), o.momentum != 0 ? buffer.data() : nullptr, count);
  }
};

}  // namespace ccl
