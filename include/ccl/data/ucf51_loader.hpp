#pragma once
// Ucf51Epoch: one epoch of training batches in a random order — the official
// DataLoader(shuffle=True, batch_size=16): every video once, the last batch smaller — with the
// next batch loaded on a background thread while the caller trains on the current one, so that
// JPEG decoding (about 50 ms per clip and core) overlaps the GPU step.
//
// Determinism: the epoch owns its generator, seeded from the caller's Rng at construction (one
// draw), shuffles with it, and loads the batches strictly in order on one background thread at a
// time; so a seed gives the same batches with and without prefetching, and the caller's Rng is
// free while the epoch runs. Errors while loading surface from next().

#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/data/ucf51_dataset.hpp>

#include <algorithm>
#include <future>
#include <utility>
#include <vector>

namespace ccl::data {

class Ucf51Epoch {
 public:
  /// `videos`: positions in the layout (e.g. layout.indices(Split::train)).
  Ucf51Epoch(const Ucf51Dataset& data, std::vector<Index> videos, Index batch_size, Rng& rng,
             bool prefetch = true)
      : data_(data), videos_(std::move(videos)), batch_size_(batch_size),
        rng_(rng.next_u64()), prefetch_(prefetch) {
    require(batch_size >= 1, "Ucf51Epoch: batch size must be positive, got ", batch_size);
    require(!videos_.empty(), "Ucf51Epoch: no videos");
    rng_.shuffle(videos_);
    if (prefetch_) launch();
  }
  Ucf51Epoch(const Ucf51Epoch&) = delete;
  Ucf51Epoch& operator=(const Ucf51Epoch&) = delete;
  ~Ucf51Epoch() {
    if (pending_.valid()) pending_.wait();  // the loader uses members: let it finish
  }

  Index batches() const { return (Index(videos_.size()) + batch_size_ - 1) / batch_size_; }
  bool done() const { return next_ >= batches(); }
  /// The shuffled order of the videos this epoch.
  const std::vector<Index>& order() const { return videos_; }

  /// The next batch (waits for it when it is still loading, then starts the one after it).
  ClipBatch next() {
    require(!done(), "Ucf51Epoch::next: the epoch has ended after ", batches(), " batches");
    ClipBatch batch = prefetch_ ? pending_.get() : load(next_);
    ++next_;
    if (prefetch_ && !done()) launch();
    return batch;
  }

 private:
  ClipBatch load(Index batch) {
    const auto first = videos_.begin() + std::ptrdiff_t(batch * batch_size_);
    const auto last = videos_.begin() +
                      std::ptrdiff_t(std::min<Index>((batch + 1) * batch_size_, Index(videos_.size())));
    return data_.training_batch(std::vector<Index>(first, last), rng_);
  }

  void launch() {
    const Index batch = next_;
    pending_ = std::async(std::launch::async, [this, batch] { return load(batch); });
  }

  const Ucf51Dataset& data_;
  std::vector<Index> videos_;
  Index batch_size_;
  Rng rng_;
  bool prefetch_;
  Index next_ = 0;
  std::future<ClipBatch> pending_;
};

}  // namespace ccl::data
