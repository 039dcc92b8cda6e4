#pragma once
// The parameter interface of a layer that has no parameters (activations, pooling, reshapes,
// dropout): it visits nothing and has no gradient to zero. Layers derive from it instead of
// restating the three empty members.

namespace ccl::nn::detail {

struct NoParameters {
  template <class Visitor>
  void for_each_parameter(Visitor&&) {}
  template <class Visitor>
  void for_each_parameter(Visitor&&) const {}
  void zero_grad() {}
};

}  // namespace ccl::nn::detail
