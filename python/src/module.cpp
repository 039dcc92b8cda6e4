// The ccl losses for Python: arrays arrive through DLPack (nb::ndarray) and are viewed in place;
// only the gradients, which the caller did not allocate, are new arrays.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <ccl/losses.hpp>

#include <cstdint>
#include <string>
#include <utility>

namespace nb = nanobind;

namespace {

template <class Scalar>
using InMatrix = nb::ndarray<const Scalar, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using Labels = nb::ndarray<const std::int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

template <class Scalar>
using OutMatrix = nb::ndarray<nb::numpy, Scalar, nb::ndim<2>>;

template <class Scalar>
OutMatrix<Scalar> new_matrix(std::size_t rows, std::size_t cols) {
  auto* data = new Scalar[rows * cols]();
  nb::capsule owner(data, [](void* p) noexcept { delete[] static_cast<Scalar*>(p); });
  return OutMatrix<Scalar>(data, {rows, cols}, owner);
}

template <class Scalar>
ccl::EmbeddingView<const Scalar> in_view(const InMatrix<Scalar>& m) {
  return {m.data(), static_cast<ccl::Index>(m.shape(0)), static_cast<ccl::Index>(m.shape(1))};
}

template <class Scalar>
ccl::EmbeddingView<Scalar> out_view(OutMatrix<Scalar>& m) {
  return {m.data(), static_cast<ccl::Index>(m.shape(0)), static_cast<ccl::Index>(m.shape(1))};
}

ccl::loss::ContrastiveOptions options_of(double temperature, const std::string& numerics) {
  ccl::loss::ContrastiveOptions options;
  options.temperature = temperature;
  if (numerics == "stable") {
    options.numerics = ccl::loss::Numerics::stable;
  } else if (numerics == "official") {
    options.numerics = ccl::loss::Numerics::official;
  } else {
    throw ccl::error("numerics must be 'stable' or 'official', not '" + numerics + "'");
  }
  return options;
}

// value, dL/df, dL/dg of a pair loss; the gradients are new arrays, f and g are read in place.
template <class Loss, class Scalar>
nb::tuple run_pair(Loss& loss, const InMatrix<Scalar>& f, const InMatrix<Scalar>& g,
                   ccl::LabelView labels) {
  auto grad_f = new_matrix<Scalar>(f.shape(0), f.shape(1));
  auto grad_g = new_matrix<Scalar>(g.shape(0), g.shape(1));
  Scalar value;
  {
    nb::gil_scoped_release release;
    value = loss.accumulate(in_view(f), in_view(g), labels, Scalar(1), out_view(grad_f),
                            out_view(grad_g));
  }
  return nb::make_tuple(value, grad_f, grad_g);
}

template <class Scalar>
void bind_scalar(nb::module_& m) {
  m.def(
      "multiclass_nce",
      [](InMatrix<Scalar> f, InMatrix<Scalar> g, Labels labels, double temperature,
         const std::string& numerics) {
        ccl::loss::MultiClassNce<Scalar> loss(options_of(temperature, numerics));
        return run_pair(loss, f, g,
                        ccl::LabelView(labels.data(), static_cast<ccl::Index>(labels.shape(0))));
      },
      nb::arg("f").noconvert(), nb::arg("g").noconvert(), nb::arg("labels").noconvert(),
      nb::arg("temperature"), nb::arg("numerics") = "stable");
  m.def(
      "instance_nce",
      [](InMatrix<Scalar> f, InMatrix<Scalar> g, double temperature, const std::string& numerics) {
        ccl::loss::InstanceNce<Scalar> loss(options_of(temperature, numerics));
        return run_pair(loss, f, g, ccl::LabelView());
      },
      nb::arg("f").noconvert(), nb::arg("g").noconvert(), nb::arg("temperature"),
      nb::arg("numerics") = "stable");
  // sym(f, g) = L(f, g) + L(g, f), through ccl::loss::Symmetric (docs/losses.md).
  m.def(
      "symmetric_multiclass_nce",
      [](InMatrix<Scalar> f, InMatrix<Scalar> g, Labels labels, double temperature,
         const std::string& numerics) {
        auto loss = ccl::loss::symmetric(
            ccl::loss::MultiClassNce<Scalar>(options_of(temperature, numerics)));
        return run_pair(loss, f, g,
                        ccl::LabelView(labels.data(), static_cast<ccl::Index>(labels.shape(0))));
      },
      nb::arg("f").noconvert(), nb::arg("g").noconvert(), nb::arg("labels").noconvert(),
      nb::arg("temperature"), nb::arg("numerics") = "stable");
  m.def(
      "symmetric_instance_nce",
      [](InMatrix<Scalar> f, InMatrix<Scalar> g, double temperature, const std::string& numerics) {
        auto loss =
            ccl::loss::symmetric(ccl::loss::InstanceNce<Scalar>(options_of(temperature, numerics)));
        return run_pair(loss, f, g, ccl::LabelView());
      },
      nb::arg("f").noconvert(), nb::arg("g").noconvert(), nb::arg("temperature"),
      nb::arg("numerics") = "stable");
  // The official "JSD" (w·(KL(p‖q) + KL(q‖p))) and Hinton KD on logits; labels are unused.
  m.def(
      "symmetric_kl",
      [](InMatrix<Scalar> z1, InMatrix<Scalar> z2, double weight, const std::string& numerics) {
        ccl::loss::SymmetricKlOptions options;
        options.weight = weight;
        options.numerics = options_of(1.0, numerics).numerics;
        ccl::loss::SymmetricKl<Scalar> loss(options);
        return run_pair(loss, z1, z2, ccl::LabelView());
      },
      nb::arg("z1").noconvert(), nb::arg("z2").noconvert(), nb::arg("weight") = 0.5,
      nb::arg("numerics") = "stable");
  m.def(
      "hinton_kd",
      [](InMatrix<Scalar> student, InMatrix<Scalar> teacher, double temperature) {
        ccl::loss::HintonKd<Scalar> loss(temperature);
        return run_pair(loss, student, teacher, ccl::LabelView());
      },
      nb::arg("student").noconvert(), nb::arg("teacher").noconvert(), nb::arg("temperature") = 4.0);
}

}  // namespace

NB_MODULE(_ccl, m) {
  // ccl::error becomes ccl.Error, a ValueError: every ccl error is about a bad argument.
  static nb::object error_type = nb::exception<ccl::error>(m, "Error", PyExc_ValueError);
  bind_scalar<float>(m);
  bind_scalar<double>(m);
}
