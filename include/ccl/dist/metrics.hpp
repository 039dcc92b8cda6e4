#pragma once
// Metrics over every rank's samples. A metric that is a ratio of counts (accuracy, Recall@K) must
// be reduced as its numerator and denominator, not as the mean of per-rank ratios, which is wrong
// whenever shards differ in size (an evaluation set not divisible by R):
//
//   auto global = ccl::dist::sum_over_ranks(comm, {correct, evaluated});
//   double accuracy = global[0] / global[1];   // the same on every rank; rank 0 prints it

#include <ccl/core/types.hpp>
#include <ccl/dist/communicator.hpp>

#include <vector>

namespace ccl::dist {

/// Element-wise sum of `values` over ranks (every rank passes as many values).
template <class Comm>
std::vector<double> sum_over_ranks(Comm& comm, std::vector<double> values) {
  CCL_STATIC_ASSERT_COMMUNICATOR(Comm);
  comm.all_reduce_sum(values.data(), Index(values.size()));
  return values;
}

/// Σ_r numerator_r / Σ_r denominator_r: a ratio metric over the union of the ranks' samples.
template <class Comm>
double ratio_over_ranks(Comm& comm, double numerator, double denominator) {
  const auto sums = sum_over_ranks(comm, {numerator, denominator});
  return sums[1] == 0 ? 0.0 : sums[0] / sums[1];
}

}  // namespace ccl::dist
