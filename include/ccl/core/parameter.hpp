#pragma once
// Parameter<Scalar>: a named trainable tensor with its gradient. Every module (Linear, a
// composition head, a network) exposes its parameters through
//
//   template <class Visitor> void for_each_parameter(Visitor&& visit);   // visit(Parameter&)
//
// so optimisers and checkpoints enumerate them without knowing the module's type. Values are
// stored as row-major matrices; a bias is a 1 x n matrix.

#include <ccl/core/backend.hpp>
#include <ccl/core/types.hpp>

#include <string>
#include <type_traits>
#include <utility>

namespace ccl {

//
// The Backend argument says where value and grad live. This primary template is the host one;
// Parameter<Scalar, ccl::cuda> (device matrices) is the specialisation in <ccl/cuda/parameter.hpp>.
template <class Scalar, class Backend = cpu>
struct Parameter {
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::Parameter<Scalar, ccl::cuda> lives in <ccl/cuda/parameter.hpp>; include it "
                "(or <ccl/cuda.hpp>) to keep parameters in device memory");
  std::string name;
  RowMatrix<Scalar> value;
  RowMatrix<Scalar> grad;

  Parameter() = default;
  Parameter(std::string parameter_name, Index rows, Index cols)
      : name(std::move(parameter_name)),
        value(RowMatrix<Scalar>::Zero(rows, cols)),
        grad(RowMatrix<Scalar>::Zero(rows, cols)) {}

  Index size() const { return value.size(); }
  void zero_grad() { grad.setZero(value.rows(), value.cols()); }
};

}  // namespace ccl
