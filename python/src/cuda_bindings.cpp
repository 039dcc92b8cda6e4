// _ccl.cuda: the losses and the Residual head on CUDA arrays (PyTorch CUDA tensors, CuPy
// arrays...) imported through DLPack and read in place; the gradients are device arrays that ccl
// allocates and hands back through DLPack. Labels stay on the host, as in ccl's CUDA backend.
// Built with CCL_PYTHON_CUDA.
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

/// The same memory as a [n] vector; the new array keeps the [1, n] one (its owner) alive.
template <class Scalar>
OutDeviceArray<Scalar> row_as_vector(OutDeviceArray<Scalar>& row) {
  nb::object owner = nb::cast(row);
  return OutDeviceArray<Scalar>(row.data(), {row.shape(1)}, owner, {}, nb::dtype<Scalar>(),
                                nb::device::cuda::value, row.device_id());
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

template <class Scalar>
using InDeviceVector = nb::ndarray<const Scalar, nb::ndim<1>, nb::c_contig, nb::device::cuda>;

/// A bias vector as the [1, n] device row ccl's layers take.
template <class Scalar>
cuda_ops::DeviceMatrix<const Scalar> device_row_of(const InDeviceVector<Scalar>& v) {
  return {v.data(), 1, static_cast<ccl::Index>(v.shape(0))};
}

/// The device twin of residual.cpp's ResidualHead: the same Python interface on CUDA arrays.
template <class Scalar>
class DeviceResidual {
 public:
  DeviceResidual(const InDeviceMatrix<Scalar>& w1, const InDeviceVector<Scalar>& b1,
                 const InDeviceMatrix<Scalar>& w2, const InDeviceVector<Scalar>& b2,
                 bool normalize, std::uintptr_t stream)
      : placement_{static_cast<int>(w1.device_id()), stream},
        head_(device_view_of(w1), device_row_of(b1), device_view_of(w2), device_row_of(b2),
              normalize, placement_) {}

  nb::tuple forward(const InDeviceMatrix<Scalar>& teacher, const InDeviceMatrix<Scalar>& student) {
    const auto batch = teacher.shape(0);
    auto composed = device_zeros<Scalar>(batch, size(head_.teacher_dim()), placement_);
    auto logits = device_zeros<Scalar>(batch, size(head_.classes()), placement_);
    {
      nb::gil_scoped_release release;
      head_.forward(device_view_of(teacher), device_view_of(student), device_view_of(composed),
                    device_view_of(logits));
    }
    return nb::make_tuple(composed, logits);
  }

  nb::tuple backward(const InDeviceMatrix<Scalar>& grad_composed,
                     const InDeviceMatrix<Scalar>& grad_logits, bool want_teacher,
                     bool want_student) {
    const auto batch = grad_composed.shape(0);
    const auto teacher_dim = size(head_.teacher_dim()), student_dim = size(head_.student_dim());
    const auto classes = size(head_.classes());
    nb::object grad_teacher = nb::none(), grad_student = nb::none();
    cuda_ops::DeviceMatrix<Scalar> teacher_view{nullptr, 0, 0}, student_view{nullptr, 0, 0};
    if (want_teacher) {
      auto array = device_zeros<Scalar>(batch, teacher_dim, placement_);
      teacher_view = device_view_of(array);
      grad_teacher = nb::cast(array);
    }
    if (want_student) {
      auto array = device_zeros<Scalar>(batch, student_dim, placement_);
      student_view = device_view_of(array);
      grad_student = nb::cast(array);
    }
    auto grad_w1 = device_zeros<Scalar>(teacher_dim, teacher_dim + student_dim, placement_);
    auto grad_b1 = device_zeros<Scalar>(1, teacher_dim, placement_);
    auto grad_w2 = device_zeros<Scalar>(classes, teacher_dim, placement_);
    auto grad_b2 = device_zeros<Scalar>(1, classes, placement_);
    {
      nb::gil_scoped_release release;
      head_.backward(device_view_of(grad_composed), device_view_of(grad_logits), teacher_view,
                     student_view, device_view_of(grad_w1), device_view_of(grad_b1),
                     device_view_of(grad_w2), device_view_of(grad_b2));
    }
    // The biases as [n] vectors, like torch.nn.Linear's: a view of the same device memory.
    return nb::make_tuple(grad_teacher, grad_student, grad_w1, row_as_vector(grad_b1), grad_w2,
                          row_as_vector(grad_b2));
  }

 private:
  static std::size_t size(ccl::Index n) { return static_cast<std::size_t>(n); }

  Placement placement_;
  cuda_ops::DeviceResidualHead<Scalar> head_;
};

template <class Scalar>
void bind_residual_head(nb::module_& m, const char* name) {
  nb::class_<DeviceResidual<Scalar>>(m, name)
      .def(nb::init<const InDeviceMatrix<Scalar>&, const InDeviceVector<Scalar>&,
                    const InDeviceMatrix<Scalar>&, const InDeviceVector<Scalar>&, bool,
                    std::uintptr_t>(),
           nb::arg("residual_weight").noconvert(), nb::arg("residual_bias").noconvert(),
           nb::arg("classifier_weight").noconvert(), nb::arg("classifier_bias").noconvert(),
           nb::arg("normalize") = true, nb::arg("stream") = 0)
      .def("forward", &DeviceResidual<Scalar>::forward, nb::arg("teacher").noconvert(),
           nb::arg("student").noconvert())
      .def("backward", &DeviceResidual<Scalar>::backward, nb::arg("grad_composed").noconvert(),
           nb::arg("grad_logits").noconvert(), nb::arg("want_teacher"), nb::arg("want_student"));
}

// Copies between host arrays and device arrays, so that the device losses can be used (and
// tested) from NumPy alone, without a CUDA-enabled PyTorch or CuPy.
template <class Scalar>
void bind_copies(nb::module_& m) {
  using AnyHost = nb::ndarray<const Scalar, nb::c_contig, nb::device::cpu>;
  using AnyDevice = nb::ndarray<const Scalar, nb::c_contig, nb::device::cuda>;
  m.def(
      "to_device",
      [](AnyHost host, int device) {
        ccl::require(host.ndim() == 1 || host.ndim() == 2,
                     "to_device: a vector or a matrix, not ", host.ndim(), " dimensions");
        // A vector travels as a [1, n] matrix and comes back as the same memory shaped [n].
        const std::size_t rows = host.ndim() == 2 ? host.shape(0) : 1;
        auto out = device_zeros<Scalar>(rows, host.shape(host.ndim() - 1), Placement{device, 0});
        CCL_CUDA_CHECK(cudaMemcpy(out.data(), host.data(), host.nbytes(), cudaMemcpyDefault));
        return host.ndim() == 2 ? out : row_as_vector(out);
      },
      nb::arg("host").noconvert(), nb::arg("device") = 0,
      "A device copy of a C-contiguous host vector or matrix (a DLPack array on `device`).");
  m.def(
      "to_host",
      [](AnyDevice array) {
        ccl::require(array.ndim() == 1 || array.ndim() == 2,
                     "to_host: a vector or a matrix, not ", array.ndim(), " dimensions");
        const std::size_t rows = array.ndim() == 2 ? array.shape(0) : 1;
        auto out = zeros<Scalar>(rows, array.shape(array.ndim() - 1));
        CCL_CUDA_CHECK(cudaMemcpy(out.data(), array.data(), array.nbytes(), cudaMemcpyDefault));
        if (array.ndim() == 2) return out;
        nb::object owner = nb::cast(out);
        return OutArray<Scalar>(out.data(), {out.shape(1)}, owner);
      },
      nb::arg("array").noconvert(), "A host copy of a device vector or matrix.");
}

}  // namespace

void bind_cuda(nb::module_& m) {
  nb::module_ cuda = m.def_submodule("cuda", "ccl's losses on CUDA arrays (ccl::cuda backend)");
  bind_scalar<float>(cuda);
  bind_scalar<double>(cuda);
  bind_copies<float>(cuda);
  bind_copies<double>(cuda);
  bind_residual_head<float>(cuda, "ResidualHeadFloat32");
  bind_residual_head<double>(cuda, "ResidualHeadFloat64");
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
