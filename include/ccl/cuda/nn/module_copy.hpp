#pragma once
// Moving a whole module's parameters between a host module and its device twin (nn::Linear,
// a composition, any type with for_each_parameter): both are enumerated in their documented
// order and matched one to one by position, name and shape, so a mismatched architecture is an
// error rather than a silent partial copy. Used to start a device model from a host one (or a
// checkpoint loaded on the host) and to compare the two backends in tests. Both copies are
// synchronous with the whole device (they wait for every stream before and after): they know no
// component's stream, and they are rare.
//
// Host code: this header contains no kernels and compiles without nvcc.

#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/parameter.hpp>

#include <cuda_runtime_api.h>

#include <cstddef>
#include <vector>

namespace ccl::gpu {

namespace detail {
template <class Scalar>
void check_count(const char* op, std::size_t k, std::size_t host_count,
                 const Parameter<Scalar, cuda>& device) {
  require(k < host_count, op, ": the device module has more parameters than the host one (",
          host_count, "); first extra: '", device.name, "'");
}
template <class Scalar>
void check_twin(const char* op, std::size_t k, const Parameter<Scalar, cpu>& host,
                const Parameter<Scalar, cuda>& device) {
  require(host.name == device.name && host.value.rows() == device.rows() &&
              host.value.cols() == device.cols(),
          op, ": parameter ", k, " is '", host.name, "' [", host.value.rows(), ", ",
          host.value.cols(), "] on the host but '", device.name, "' [", device.rows(), ", ",
          device.cols(), "] on the device");
}
}  // namespace detail

/// Uploads every parameter value (and gradient when `with_grad`; zero otherwise) of `host` into
/// `device`, a module of the same architecture.
template <class HostModule, class DeviceModule>
void copy_parameters(const HostModule& host, DeviceModule& device, bool with_grad = false) {
  using Scalar = typename HostModule::scalar_type;
  constexpr const char* op = "gpu::copy_parameters";
  std::vector<const Parameter<Scalar, cpu>*> sources;
  host.for_each_parameter([&](const Parameter<Scalar, cpu>& p) { sources.push_back(&p); });
  std::size_t k = 0;
  CCL_CUDA_CHECK(cudaDeviceSynchronize());
  device.for_each_parameter([&](Parameter<Scalar, cuda>& p) {
    detail::check_count(op, k, sources.size(), p);
    detail::check_twin(op, k, *sources[k], p);
    gpu::copy_from_host(*sources[k], p, with_grad, nullptr);
    ++k;
  });
  CCL_CUDA_CHECK(cudaDeviceSynchronize());
  require(k == sources.size(), op, ": the host module has ", sources.size(),
          " parameters, the device module ", k);
}

/// Downloads every parameter value (and gradient when `with_grad`) of `device` into `host`;
/// returns when the data are on the host.
template <class DeviceModule, class HostModule>
void copy_parameters_to_host(const DeviceModule& device, HostModule& host, bool with_grad = false) {
  using Scalar = typename HostModule::scalar_type;
  constexpr const char* op = "gpu::copy_parameters_to_host";
  std::vector<Parameter<Scalar, cpu>*> targets;
  host.for_each_parameter([&](Parameter<Scalar, cpu>& p) { targets.push_back(&p); });
  std::size_t k = 0;
  CCL_CUDA_CHECK(cudaDeviceSynchronize());
  device.for_each_parameter([&](const Parameter<Scalar, cuda>& p) {
    detail::check_count(op, k, targets.size(), p);
    detail::check_twin(op, k, *targets[k], p);
    gpu::copy_to_host(p, *targets[k], with_grad, nullptr);
    ++k;
  });
  require(k == targets.size(), op, ": the host module has ", targets.size(),
          " parameters, the device module ", k);
}

}  // namespace ccl::gpu
