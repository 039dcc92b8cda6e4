// The pair losses and cross-entropy: value and gradients, the inputs read in place.
#include "arrays.hpp"
#include "bindings.hpp"

#include <nanobind/stl/string.h>

#include <ccl/losses.hpp>

#include <string>

namespace ccl_python {
namespace {

ccl::loss::Numerics numerics_of(const std::string& numerics) {
  if (numerics == "stable") return ccl::loss::Numerics::stable;
  if (numerics == "official") return ccl::loss::Numerics::official;
  throw ccl::error("numerics must be 'stable' or 'official', not '" + numerics + "'");
}

ccl::loss::ContrastiveOptions options_of(double temperature, const std::string& numerics) {
  ccl::loss::ContrastiveOptions options;
  options.temperature = temperature;
  options.numerics = numerics_of(numerics);
  return options;
}

// value, dL/df, dL/dg of a pair loss; the gradients are new arrays, f and g are read in place.
template <class Loss, class Scalar>
nb::tuple run_pair(Loss& loss, const InMatrix<Scalar>& f, const InMatrix<Scalar>& g,
                   ccl::LabelView labels) {
  auto grad_f = zeros<Scalar>(f.shape(0), f.shape(1));
  auto grad_g = zeros<Scalar>(g.shape(0), g.shape(1));
  Scalar value;
  {
    nb::gil_scoped_release release;
    value = loss.accumulate(view_of(f), view_of(g), labels, Scalar(1), mutable_view_of(grad_f),
                            mutable_view_of(grad_g));
  }
  return nb::make_tuple(value, grad_f, grad_g);
}

template <class Scalar>
void bind_scalar(nb::module_& m) {
  m.def(
      "multiclass_nce",
      [](InMatrix<Scalar> f, InMatrix<Scalar> g, InLabels labels, double temperature,
         const std::string& numerics) {
        ccl::loss::MultiClassNce<Scalar> loss(options_of(temperature, numerics));
        return run_pair(loss, f, g, labels_of(labels));
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
      [](InMatrix<Scalar> f, InMatrix<Scalar> g, InLabels labels, double temperature,
         const std::string& numerics) {
        auto loss = ccl::loss::symmetric(
            ccl::loss::MultiClassNce<Scalar>(options_of(temperature, numerics)));
        return run_pair(loss, f, g, labels_of(labels));
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
        options.numerics = numerics_of(numerics);
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
  // Softmax cross-entropy, mean over the batch (ccl::loss::CrossEntropy): value and dL/dlogits.
  m.def(
      "cross_entropy",
      [](InMatrix<Scalar> logits, InLabels labels) {
        auto grad = zeros<Scalar>(logits.shape(0), logits.shape(1));
        Scalar value;
        {
          nb::gil_scoped_release release;
          ccl::loss::CrossEntropy<Scalar> loss;
          value = loss.accumulate(view_of(logits), labels_of(labels), Scalar(1),
                                  mutable_view_of(grad));
        }
        return nb::make_tuple(value, grad);
      },
      nb::arg("logits").noconvert(), nb::arg("labels").noconvert());
}

}  // namespace

void bind_losses(nb::module_& m) {
  bind_scalar<float>(m);
  bind_scalar<double>(m);
}

}  // namespace ccl_python
