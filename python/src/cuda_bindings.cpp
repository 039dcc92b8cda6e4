// _ccl.cuda: the losses on CUDA arrays (PyTorch CUDA tensors, CuPy arrays...) imported through
// DLPack and read in place; the gradients are device arrays that ccl allocates and hands back
// through DLPack. Labels stay on the host, as in ccl's CUDA backend. Built with CCL_PYTHON_CUDA.
#include "arrays.hpp"
#include "bindings.hpp"
#include "cuda_ops.hpp"

#include <nanobind/stl/string.h>

#include <ccl/core/error.hpp>
#include <ccl/cuda/error.hpp>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <string>

namespace ccl_python {
namespace {

using cuda_ops::Placement;

template <class Scalar>
using InDeviceMatrix = nb::ndarray<const Scalar, nb::ndim<2>, nb::c_contig, nb::device::cuda>;
template <class Scalar>
using OutDeviceArray = nb::ndarray<nb::array_api, Scalar, nb::device::cuda>;

template <class Scalar>
cuda_ops::DeviceMatrix<const Scalar> device_view_of(const InDeviceMatrix<Scalar>& m) {
  return {m.data(), static_cast<ccl::Index>(m.shape(0)), static_cast<ccl::Index>(m.shape(1))};
}

/// A zeroed [rows, cols] device array on placement.device, freed when its last user lets go.
template <class Scalar>
OutDeviceArray<Scalar> device_zeros(std::size_t rows, std::size_t cols, Placement placement) {
  // At least one element: a capsule cannot own a null pointer.
  void* data =
      cuda_ops::allocate_zeroed(std::max<std::size_t>(rows * cols, 1) * sizeof(Scalar), placement);
  nb::capsule owner(data, [](void* p) noexcept { cuda_ops::release(p); });
  return OutDeviceArray<Scalar>(data, {rows, cols}, owner, {}, nb::dtype<Scalar>(),
                                nb::device::cuda::value, placement.device);
}

template <class Scalar>
cuda_ops::DeviceMatrix<Scalar> device_view_of(OutDeviceArray<Scalar>& m) {
  return {m.data(), static_cast<ccl::Index>(m.shape(0)), static_cast<ccl::Index>(m.shape(1))};
}

template <class Scalar>
Placement placement_of(const InDeviceMatrix<Scalar>& f, const InDeviceMatrix<Scalar>& g,
                       std::uintptr_t stream) {
  ccl::require(f.device_id() == g.device_id(), "ccl: the two inputs are on different devices (",
               f.device_id(), " and ", g.device_id(), ")");
  return {static_cast<int>(f.device_id()), stream};
}

ccl::loss::Numerics numerics_of(const std::string& numerics) {
  if (numerics == "stable") return ccl::loss::Numerics::stable;
  if (numerics == "official") return ccl::loss::Numerics::official;
  throw ccl::error("numerics must be 'stable' or 'official', not '" + numerics + "'");
}

template <class Scalar>
nb::tuple run_pair(const cuda_ops::PairLossSpec& spec, const InDeviceMatrix<Scalar>& f,
                   const InDeviceMatrix<Scalar>& g, ccl::LabelView labels, std::uintptr_t stream) {
  const Placement placement = placement_of(f, g, stream);
  auto grad_f = device_zeros<Scalar>(f.shape(0), f.shape(1), placement);
  auto grad_g = device_zeros<Scalar>(g.shape(0), g.shape(1), placement);
  Scalar value;
  {
    nb::gil_scoped_release release;
    value = cuda_ops::pair_loss<Scalar>(spec, device_view_of(f), device_view_of(g), labels,
                                        device_view_of(grad_f), device_view_of(grad_g), placement);
  }
  return nb::make_tuple(value, grad_f, grad_g);
}

template <class Scalar>
void bind_scalar(nb::module_& m) {
  using cuda_ops::PairLoss;
  // The signatures of the CPU functions (losses.cpp) plus the caller's stream.
  auto labelled = [&m](const char* name, PairLoss kind) {
    m.def(
        name,
        [kind](InDeviceMatrix<Scalar> f, InDeviceMatrix<Scalar> g, InLabels labels,
               double temperature, const std::string& numerics, std::uintptr_t stream) {
          return run_pair<Scalar>({kind, temperature, numerics_of(numerics)}, f, g,
                                  labels_of(labels), stream);
        },
        nb::arg("f").noconvert(), nb::arg("g").noconvert(), nb::arg("labels").noconvert(),
        nb::arg("temperature"), nb::arg("numerics") = "stable", nb::arg("stream") = 0);
  };
  auto unlabelled = [&m](const char* name, PairLoss kind, const char* parameter,
                         double default_parameter) {
    m.def(
        name,
        [kind](InDeviceMatrix<Scalar> f, InDeviceMatrix<Scalar> g, double value,
               const std::string& numerics, std::uintptr_t stream) {
          return run_pair<Scalar>({kind, value, numerics_of(numerics)}, f, g, ccl::LabelView(),
                                  stream);
        },
        nb::arg("f").noconvert(), nb::arg("g").noconvert(), nb::arg(parameter) = default_parameter,
        nb::arg("numerics") = "stable", nb::arg("stream") = 0);
  };
  labelled("multiclass_nce", PairLoss::multiclass_nce);
  labelled("symmetric_multiclass_nce", PairLoss::symmetric_multiclass_nce);
  unlabelled("instance_nce", PairLoss::instance_nce, "temperature", 0.5);
  unlabelled("symmetric_instance_nce", PairLoss::symmetric_instance_nce, "temperature", 0.5);
  unlabelled("symmetric_kl", PairLoss::symmetric_kl, "weight", 0.5);
  m.def(
      "hinton_kd",
      [](InDeviceMatrix<Scalar> student, InDeviceMatrix<Scalar> teacher, double temperature,
         std::uintptr_t stream) {
        return run_pair<Scalar>({PairLoss::hinton_kd, temperature, ccl::loss::Numerics::stable},
                                student, teacher, ccl::LabelView(), stream);
      },
      nb::arg("student").noconvert(), nb::arg("teacher").noconvert(),
      nb::arg("temperature") = 4.0, nb::arg("stream") = 0);
  m.def(
      "cross_entropy",
      [](InDeviceMatrix<Scalar> logits, InLabels labels, std::uintptr_t stream) {
        const Placement placement{static_cast<int>(logits.device_id()), stream};
        auto grad = device_zeros<Scalar>(logits.shape(0), logits.shape(1), placement);
        Scalar value;
        {
          nb::gil_scoped_release release;
          value = cuda_ops::cross_entropy<Scalar>(device_view_of(logits), labels_of(labels),
                                                  device_view_of(grad), placement);
        }
        return nb::make_tuple(value, grad);
      },
      nb::arg("logits").noconvert(), nb::arg("labels").noconvert(), nb::arg("stream") = 0);
}

// Copies between host arrays and device arrays, so that the device losses can be used (and
// tested) from NumPy alone, without a CUDA-enabled PyTorch or CuPy.
template <class Scalar>
void bind_copies(nb::module_& m) {
  m.def(
      "to_device",
      [](InMatrix<Scalar> host, int device) {
        auto out = device_zeros<Scalar>(host.shape(0), host.shape(1), Placement{device, 0});
        CCL_CUDA_CHECK(cudaMemcpy(out.data(), host.data(), host.nbytes(), cudaMemcpyDefault));
        return out;
      },
      nb::arg("host").noconvert(), nb::arg("device") = 0,
      "A device copy of a C-contiguous host matrix (a DLPack array on `device`).");
  m.def(
      "to_host",
      [](InDeviceMatrix<Scalar> array) {
        auto out = zeros<Scalar>(array.shape(0), array.shape(1));
        CCL_CUDA_CHECK(cudaMemcpy(out.data(), array.data(), array.nbytes(), cudaMemcpyDefault));
        return out;
      },
      nb::arg("array").noconvert(), "A host copy of a device matrix.");
}

}  // namespace

void bind_cuda(nb::module_& m) {
  nb::module_ cuda = m.def_submodule("cuda", "ccl's losses on CUDA arrays (ccl::cuda backend)");
  bind_scalar<float>(cuda);
  bind_scalar<double>(cuda);
  bind_copies<float>(cuda);
  bind_copies<double>(cuda);
  cuda.def("device_count", []() noexcept {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
      (void)cudaGetLastError();  // no driver or no device: report none, leave no error behind
      return 0;
    }
    return count;
  }, "The number of CUDA devices this process sees (0 without a driver or a device).");
}

}  // namespace ccl_python
