#pragma once
// The parameter interface of a layer that has no parameters (activations, pooling, reshapes,
// dropout): it visits nothing and has no gradient to zero. It also keeps the layer's Execution
// (core/execution.hpp), which its element-wise ops run with. Layers derive from it instead of
// restating these members.

#include <ccl/core/execution.hpp>

namespace ccl::nn::detail {

template <class Backend>
struct NoParameters {
  template <class Visitor>
  void for_each_parameter(Visitor&&) {}
  template <class Visitor>
  void for_each_parameter(Visitor&&) const {}
  void zero_grad() {}

  void set_execution(const Execution<Backend>& execution) {
    rebind_execution(execution_, execution);
  }
  const Execution<Backend>& execution() const { return execution_; }

 protected:
  Execution<Backend> execution_;
};

}  // namespace ccl::nn::detail
