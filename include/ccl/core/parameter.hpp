#pragma once
// Parameter<Scalar>: a named trainable tensor with its gradient. Every module (Linear, a
// composition head, a network) exposes its parameters through
//
//   template <class Visitor> void for_each_parameter(Visitor&& visit);   // visit(Parameter&)
//
// so optimisers and checkpoints enumerate them without knowing the module's type. Values are
// stored as row-major matrices; a bias is a 1 x n matrix.

#include <ccl/core/types.hpp>

#include <string>
#include <utility>

namespace ccl {

template <class Scalar>
struct Parameter {
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
