#pragma once
// DistributedSampler: each rank's shard of the same seeded epoch permutation.
//
// Epoch e draws one permutation of [0, N) from (seed, e), identical on every rank. The global
// batches are consecutive runs of global_batch = R·B indices of it; rank r takes rows
// [r·B, (r+1)·B) of each. Concatenating the ranks' batches in rank order therefore gives exactly
// the global batch a 1-rank run with batch R·B sees, which is what makes R-rank training equal
// 1-rank training. Last batch: the N mod (R·B) indices left over are dropped (drop_last), so that
// every rank holds the same shard shape, as the collectives require; each epoch reshuffles, so
// no sample is dropped every epoch.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>

#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

namespace ccl::dist {

class DistributedSampler {
 public:
  DistributedSampler(Index dataset_size, Index batch_per_rank, int rank, int ranks,
                     std::uint64_t seed)
      : n_(dataset_size), b_(batch_per_rank), rank_(rank), ranks_(ranks), seed_(seed) {
    require(ranks > 0 && rank >= 0 && rank < ranks, "dist::DistributedSampler: rank ", rank,
            " is not in [0, ", ranks, ")");
    require(batch_per_rank > 0, "dist::DistributedSampler: batch_per_rank must be > 0, got ",
            batch_per_rank);
    require(dataset_size >= batch_per_rank * ranks, "dist::DistributedSampler: ", dataset_size,
            " samples cannot fill one global batch of ", batch_per_rank * ranks, " (", ranks,
            " ranks x ", batch_per_rank, ")");
  }

  /// Full global batches per epoch (the remainder is dropped, see above).
  Index batches_per_epoch() const { return n_ / (b_ * ranks_); }

  /// The seeded permutation of epoch `epoch` (the same on every rank).
  std::vector<Index> permutation(std::uint64_t epoch) const {
    std::vector<Index> order(static_cast<std::size_t>(n_));
    std::iota(order.begin(), order.end(), Index(0));
    std::mt19937_64 rng(seed_ ^ (0x9E3779B97F4A7C15ULL * (epoch + 1)));
    // Fisher-Yates with an explicit draw: std::shuffle's use of the engine is not specified,
    // and the permutation must not depend on the standard library.
    for (std::size_t i = order.size(); i > 1; --i) {
      const std::size_t j = std::size_t(rng() % i);
      std::swap(order[i - 1], order[j]);
    }
    return order;
  }

  /// This rank's B indices of global batch `batch` of epoch `epoch`.
  std::vector<Index> batch(std::uint64_t epoch, Index batch) const {
    require(batch >= 0 && batch < batches_per_epoch(), "dist::DistributedSampler: batch ", batch,
            " is not in [0, ", batches_per_epoch(), ")");
    return shard(permutation(epoch), batch, b_, rank_, ranks_);
  }

  /// Rank `rank`'s `batch_per_rank` indices of global batch `batch` of an epoch order that every
  /// rank holds (this sampler's permutation, or a Trainer's own shuffle): positions
  /// [(batch·R + rank)·B, (batch·R + rank + 1)·B) of it.
  static std::vector<Index> shard(const std::vector<Index>& order, Index batch,
                                  Index batch_per_rank, int rank, int ranks) {
    require(ranks > 0 && rank >= 0 && rank < ranks, "dist::DistributedSampler::shard: rank ", rank,
            " is not in [0, ", ranks, ")");
    const Index first = (batch * ranks + rank) * batch_per_rank;
    require(batch >= 0 && batch_per_rank > 0 && first + batch_per_rank <= Index(order.size()),
            "dist::DistributedSampler::shard: global batch ", batch, " of ", ranks, " x ",
            batch_per_rank, " rows does not fit an order of ", order.size(), " indices");
    return {order.begin() + first, order.begin() + first + batch_per_rank};
  }

 private:
  Index n_, b_;
  int rank_, ranks_;
  std::uint64_t seed_;
};

}  // namespace ccl::dist
