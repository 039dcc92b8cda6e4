#pragma once
// optim::Adam<Scalar, ccl::cuda>: Adam and AdamW (decoupled_weight_decay) on device parameters,
// with exactly optim/adam.hpp's rule (torch.optim.Adam / AdamW, no amsgrad): one fused kernel per
// parameter (kernels/optim.cuh); the bias corrections are computed on the host in double, as on
// the CPU, and the moments start at zero on a parameter's first step.

#include <ccl/core/backend.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/kernels/optim.cuh>
#include <ccl/cuda/launch.hpp>
#include <ccl/cuda/optim/optimizer.hpp>
#include <ccl/cuda/parameter.hpp>
#include <ccl/optim/adam.hpp>

#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>

namespace ccl::optim {

/// The constants of Adam's step t (t >= 1), rounded to Scalar as the CPU rounds them.
template <class Scalar>
gpu::kernels::AdamCoefficients<Scalar> adam_coefficients(const AdamOptions& o, std::int64_t t) {
  gpu::kernels::AdamCoefficients<Scalar> c{};
  c.weight_decay = Scalar(o.weight_decay);
  c.decay = Scalar(1.0 - o.lr * o.weight_decay);
  c.one_minus_beta1 = Scalar(1.0 - o.beta1);
  c.beta2 = Scalar(o.beta2);
  c.one_minus_beta2 = Scalar(1.0 - o.beta2);
  const double bias_correction1 = 1.0 - std::pow(o.beta1, double(t));
  const double bias_correction2 = 1.0 - std::pow(o.beta2, double(t));
  c.step_size = Scalar(o.lr / bias_correction1);
  c.correction2_sqrt = Scalar(std::sqrt(bias_correction2));
  c.eps = Scalar(o.eps);
  c.decoupled = o.decoupled_weight_decay && o.weight_decay != 0;
  c.l2 = !o.decoupled_weight_decay && o.weight_decay != 0;
  return c;
}

}  // namespace ccl::optim

namespace ccl {

/// The device step of one parameter (optim::Optimizer::step dispatches here for ccl::cuda).
template <>
struct Implementation<optim::UpdateStep<optim::AdamUpdate>, cuda> {
  template <class Scalar>
  static void run(const optim::AdamOptions& o, Parameter<Scalar, cuda>& p,
                  optim::ParameterState<Scalar, cuda>& state, const Execution<cuda>& execution) {
    const cudaStream_t stream = execution.stream;
    for (gpu::DeviceMatrix<Scalar>& moment : state.buffers) {
      if (moment.rows() * moment.cols() == 0) {
        moment.resize(p.rows(), p.cols());
        moment.zero(stream);
      }
    }
    const std::int64_t t = ++state.step;
    const long long count = static_cast<long long>(p.rows()) * p.cols();
    gpu::launch_elementwise("adam_kernel", count, stream, gpu::kernels::adam_kernel<Scalar>,
                            optim::adam_coefficients<Scalar>(o, t), p.value.data(), p.grad.data(),
                            state.buffers[0].data(), state.buffers[1].data(), count);
  }
};

}  // namespace ccl
