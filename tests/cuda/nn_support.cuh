#pragma once
// Helpers of the device-layer tests (test_cuda_nn.cu): random host tensors, CPU -> device
// parameter copies in visiting order, and comparisons of device results with the CPU layers'.

#include <ccl/core/parameter.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/parameter.hpp>
#include <ccl/nn/tensor.hpp>

#include "support.cuh"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace ccl::testing {

template <class Scalar, int Rank>
nn::Tensor<Scalar, Rank> random_tensor(const nn::Shape<Rank>& shape, std::uint64_t seed,
                                       double mean = 0.0) {
  Rng rng(seed);
  nn::Tensor<Scalar, Rank> t(shape);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = Scalar(mean + rng.normal());
  return t;
}

/// max |a - b| / max(max |b|, floor) over two host tensors of one shape.
template <class Scalar, int Rank>
double tensor_error(const nn::Tensor<Scalar, Rank>& a, const nn::Tensor<Scalar, Rank>& b) {
  REQUIRE(a.shape() == b.shape());
  if (a.size() == 0) return 0.0;
  return scaled_max_error(a.flat(), b.flat());
}

/// The device tensor against the host one.
template <class Scalar, int Rank>
double device_error(const nn::Tensor<Scalar, Rank, cuda>& device,
                    const nn::Tensor<Scalar, Rank>& host) {
  return tensor_error(gpu::to_host(device), host);
}

/// Host copies of a module's parameters in visiting order (values and gradients).
template <class Module>
std::vector<Parameter<typename Module::scalar_type>> host_parameters(Module& module) {
  std::vector<Parameter<typename Module::scalar_type>> out;
  module.for_each_parameter([&](auto& p) {
    Parameter<typename Module::scalar_type> host;
    gpu::copy_to_host(p, host, true);
    out.push_back(host);
  });
  return out;
}

/// Uploads the CPU module's parameters into the device module (same structure, same order).
template <class Cpu, class Gpu>
void copy_parameters(Cpu& cpu_module, Gpu& gpu_module) {
  std::vector<Parameter<typename Cpu::scalar_type>*> sources;
  cpu_module.for_each_parameter([&](auto& p) { sources.push_back(&p); });
  std::size_t i = 0;
  gpu_module.for_each_parameter([&](auto& p) {
    REQUIRE(i < sources.size());
    gpu::copy_from_host(*sources[i++], p);
  });
  REQUIRE(i == sources.size());
}

/// Names equal, values within `value_tol` and gradients within `grad_tol` (scaled errors).
template <class Cpu, class Gpu>
void compare_parameters(Cpu& cpu_module, Gpu& gpu_module, double value_tol, double grad_tol) {
  std::vector<Parameter<typename Cpu::scalar_type>*> expected;
  cpu_module.for_each_parameter([&](auto& p) { expected.push_back(&p); });
  const auto actual = host_parameters(gpu_module);
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    INFO("parameter " << expected[i]->name);
    CHECK(actual[i].name == expected[i]->name);
    CHECK(scaled_max_error(actual[i].value, expected[i]->value, 1e-30) <= value_tol);
    CHECK(scaled_max_error(actual[i].grad, expected[i]->grad, 1e-12) <= grad_tol);
  }
}

/// The message of the ccl::error `f` throws ("" when it throws none).
template <class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace ccl::testing
