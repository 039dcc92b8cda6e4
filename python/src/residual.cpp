// compose::Residual for an autograd.Function: PyTorch owns the parameters, so each call builds a
// head from the current weights (an O(parameters) copy, small next to the O(B·parameters) GEMMs),
// runs ccl's forward, and keeps the head, with the activations it saved, for ccl's backward.
#include "arrays.hpp"
#include "bindings.hpp"

#include <ccl/compose/residual.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>

#include <cstdint>
#include <memory>
#include <utility>

namespace ccl_python {
namespace {

template <class Scalar>
class ResidualHead {
 public:
  using Head = ccl::compose::Residual<Scalar>;

  /// W_1 [Dt, Dt + Dv], b_1 [Dt], W_2 [C, Dt], b_2 [C] (torch.nn.Linear's layout).
  ResidualHead(const InMatrix<Scalar>& w1, const InVector<Scalar>& b1, const InMatrix<Scalar>& w2,
               const InVector<Scalar>& b2, bool normalize) {
    const auto teacher_dim = static_cast<ccl::Index>(w1.shape(0));
    const auto concat_dim = static_cast<ccl::Index>(w1.shape(1));
    ccl::require(concat_dim > teacher_dim, "compose::Residual: residual.weight has shape [",
                 teacher_dim, ", ", concat_dim,
                 "], expected [teacher_dim, teacher_dim + student_dim]");
    ccl::compose::ResidualOptions options;
    options.normalize = normalize;
    head_ = std::make_unique<Head>(teacher_dim, concat_dim - teacher_dim,
                                   static_cast<ccl::Index>(w2.shape(0)), options);
    // set_weight/set_bias check the shapes against the head and the values for NaN/Inf.
    head_->residual().set_weight(view_of(w1));
    head_->residual().set_bias(row_view_of(b1));
    head_->classifier().set_weight(view_of(w2));
    head_->classifier().set_bias(row_view_of(b2));
  }

  /// (x_tv, z_tv), copied out of the head's workspace so that they outlive it.
  nb::tuple forward(const InMatrix<Scalar>& teacher, const InMatrix<Scalar>& student) {
    ccl::RowMatrix<Scalar> composed, logits;
    {
      nb::gil_scoped_release release;
      const auto out = head_->forward(view_of(teacher), view_of(student));
      composed = out.composed.matrix();
      logits = out.logits.matrix();
    }
    return nb::make_tuple(adopt(std::move(composed)), adopt(std::move(logits)));
  }

  /// (dL/dx_t or None, dL/dx_v or None, dL/dW_1, dL/db_1, dL/dW_2, dL/db_2) for the last forward.
  nb::tuple backward(const InMatrix<Scalar>& grad_composed, const InMatrix<Scalar>& grad_logits,
                     bool want_teacher, bool want_student) {
    const auto batch = static_cast<std::size_t>(grad_composed.shape(0));
    nb::object grad_teacher = nb::none(), grad_student = nb::none();
    ccl::EmbeddingView<Scalar> teacher_view, student_view;
    if (want_teacher) {
      auto array = zeros<Scalar>(batch, static_cast<std::size_t>(head_->teacher_dim()));
      teacher_view = mutable_view_of(array);
      grad_teacher = nb::cast(array);
    }
    if (want_student) {
      auto array = zeros<Scalar>(batch, static_cast<std::size_t>(head_->student_dim()));
      student_view = mutable_view_of(array);
      grad_student = nb::cast(array);
    }
    {
      nb::gil_scoped_release release;
      // Zeroed here, not once: the parameter gradients are moved out below, and a second backward
      // through the same graph (retain_graph=True) must start from zero again.
      head_->zero_grad();
      head_->backward(view_of(grad_composed), view_of(grad_logits), student_view, teacher_view);
    }
    auto& residual = head_->residual();
    auto& classifier = head_->classifier();
    return nb::make_tuple(grad_teacher, grad_student, adopt(std::move(residual.weight().grad)),
                          adopt(std::move(residual.bias().grad), true),
                          adopt(std::move(classifier.weight().grad)),
                          adopt(std::move(classifier.bias().grad), true));
  }

  /// ccl's initialisation (PyTorch's default: U(±1/√fan_in), W_1, b_1, then W_2, b_2) from
  /// ccl::Rng(seed), so a seed gives the same head as in C++.
  static nb::tuple initial_parameters(ccl::Index teacher_dim, ccl::Index student_dim,
                                      ccl::Index classes, std::uint64_t seed) {
    ccl::Rng rng(seed);
    Head head(teacher_dim, student_dim, classes, rng);
    return nb::make_tuple(adopt(std::move(head.residual().weight().value)),
                          adopt(std::move(head.residual().bias().value), true),
                          adopt(std::move(head.classifier().weight().value)),
                          adopt(std::move(head.classifier().bias().value), true));
  }

 private:
  std::unique_ptr<Head> head_;
};

template <class Scalar>
void bind_head(nb::module_& m, const char* name) {
  nb::class_<ResidualHead<Scalar>>(m, name)
      .def(nb::init<const InMatrix<Scalar>&, const InVector<Scalar>&, const InMatrix<Scalar>&,
                    const InVector<Scalar>&, bool>(),
           nb::arg("residual_weight").noconvert(), nb::arg("residual_bias").noconvert(),
           nb::arg("classifier_weight").noconvert(), nb::arg("classifier_bias").noconvert(),
           nb::arg("normalize") = true)
      .def("forward", &ResidualHead<Scalar>::forward, nb::arg("teacher").noconvert(),
           nb::arg("student").noconvert())
      .def("backward", &ResidualHead<Scalar>::backward, nb::arg("grad_composed").noconvert(),
           nb::arg("grad_logits").noconvert(), nb::arg("want_teacher"), nb::arg("want_student"))
      .def_static("initial_parameters", &ResidualHead<Scalar>::initial_parameters,
                  nb::arg("teacher_dim"), nb::arg("student_dim"), nb::arg("classes"),
                  nb::arg("seed"));
}

}  // namespace

void bind_residual(nb::module_& m) {
  bind_head<float>(m, "ResidualHeadFloat32");
  bind_head<double>(m, "ResidualHeadFloat64");
}

}  // namespace ccl_python
