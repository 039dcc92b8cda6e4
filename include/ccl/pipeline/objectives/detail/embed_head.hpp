#pragma once
// The trainable embedding heads of the COR, CRD and CMC baselines: RepDistiller's LinearEmbed /
// Embed, Linear(d → 128) (method.md §8.4, §8.6, §8.8), initialised like PyTorch's nn.Linear.

#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>

#include <string>

namespace ccl::pipeline::objectives {

/// RepDistiller's embedding width.
inline constexpr Index default_embed_dim = 128;

namespace detail {

/// Linear(in → out) drawn from `rng`, its parameters renamed "<name>.weight", "<name>.bias" so
/// that the two heads of one objective stay distinct in optimisers and checkpoints.
template <class Scalar>
nn::Linear<Scalar> embed_head(const char* op, const std::string& name, Index in, Index out,
                              Rng& rng) {
  require(in > 0 && out > 0, op, ": the ", name, " head needs positive sizes, got ", in, " -> ",
          out);
  nn::Linear<Scalar> head(in, out, rng);
  head.weight().name = name + ".weight";
  head.bias().name = name + ".bias";
  return head;
}

}  // namespace detail
}  // namespace ccl::pipeline::objectives
