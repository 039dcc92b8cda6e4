#pragma once
// NoComposition: the composition slot of a branch whose objective does not compose (the Table 1
// baselines distil x_t into x_v directly). It has no parameters and is never called.

namespace ccl::pipeline {

template <class Scalar = float>
struct NoComposition {
  using scalar_type = Scalar;
  template <class Visitor>
  void for_each_parameter(Visitor&&) {}
  void zero_grad() {}
  /// Runs nothing on any backend.
  template <class AnyExecution>
  void set_execution(const AnyExecution&) {}
};

}  // namespace ccl::pipeline
