#pragma once
// Parameter<Scalar>: a named trainable tensor with its gradient. Every module (Linear, a
// composition head, a network) exposes its parameters through
//
//   template <class Visitor> void for_each_parameter(Visitor&& visit);   // visit(Parameter&)
//
// so optimisers and checkpoints enumerate them without knowing the module's type. Values are
// stored as row-major matrices; a bias is a 1 x n matrix.
//
// Each parameter also says what kind of tensor it is (ParameterRole): storage shapes cannot tell
// a bias [1, n] from the weight of a Linear with one output, and rules such as "no weight decay
// on biases and normalisation parameters" (optim::WeightDecayOn::weights_only) need to know.

#include <ccl/core/backend.hpp>
#include <ccl/core/execution.hpp>
#include <ccl/core/types.hpp>

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

namespace ccl {

/// What a parameter is, for rules that treat kinds differently (weight decay).
enum class ParameterRole : std::uint8_t {
  weight,         ///< a weight matrix or convolution kernel (the default)
  bias,           ///< an additive bias of Linear or a convolution
  normalization,  ///< a normalisation layer's scale γ or shift β (BatchNorm)
};

inline const char* to_string(ParameterRole role) {
  switch (role) {
    case ParameterRole::weight:
      return "weight";
    case ParameterRole::bias:
      return "bias";
    case ParameterRole::normalization:
      return "normalization";
  }
  return "unknown";
}

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
  ParameterRole role = ParameterRole::weight;

  Parameter() = default;
  Parameter(std::string parameter_name, Index rows, Index cols,
            ParameterRole parameter_role = ParameterRole::weight)
      : name(std::move(parameter_name)),
        value(RowMatrix<Scalar>::Zero(rows, cols)),
        grad(RowMatrix<Scalar>::Zero(rows, cols)),
        role(parameter_role) {}

  Index rows() const { return value.rows(); }
  Index cols() const { return value.cols(); }
  Index size() const { return value.size(); }
  void zero_grad(const Execution<cpu>& = {}) { grad.setZero(value.rows(), value.cols()); }
};

namespace detail {
template <class Scalar, class Backend>
struct ParameterVisitorProbe {
  void operator()(Parameter<Scalar, Backend>&) const {}
};

template <class Module, class Scalar, class Backend, class = void>
struct has_parameters : std::false_type {};
template <class Module, class Scalar, class Backend>
struct has_parameters<Module, Scalar, Backend,
                      std::void_t<decltype(std::declval<Module&>().for_each_parameter(
                          ParameterVisitorProbe<Scalar, Backend>{}))>> : std::true_type {};
}  // namespace detail

/// True when Module has `for_each_parameter(visit)` calling visit(Parameter<Scalar, Backend>&):
/// what optimisers, checkpoints and the pipeline's student need of a trainable module.
template <class Module, class Scalar, class Backend = cpu>
inline constexpr bool has_parameters_v = detail::has_parameters<Module, Scalar, Backend>::value;

}  // namespace ccl
