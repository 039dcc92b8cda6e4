#include "source.hpp"

#include <ccl/core/error.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/data/ucf51_layout.hpp>
#include <ccl/data/ucf51_loader.hpp>

#include <algorithm>
#include <cstring>
#include <future>
#include <sstream>
#include <utility>

namespace ucf51_train {

namespace {

ccl::data::Ucf51Options layout_options(const Config& c) {
  ccl::data::Ucf51Options o;
  o.feature_dim = c.feature_dim;
  o.require_ucf51_classes = !c.any_classes;
  return o;
}

ccl::data::ClipOptions clip_options(const Config& c) {
  ccl::data::ClipOptions o;
  o.frames = c.frames;
  o.size = c.size;
  return o;
}

// Rows [first, first + count) of an evaluation batch (clips, labels, videos; evaluation batches
// carry no teacher features that the program uses).
ccl::data::ClipBatch take_rows(const ccl::data::ClipBatch& from, Index first, Index count) {
  ccl::data::ClipBatch out;
  auto shape = from.clips.shape();
  const Index per_clip = from.clips.size() / shape[0];
  shape[0] = count;
  out.clips.resize(shape);
  std::memcpy(out.clips.data(), from.clips.data() + first * per_clip,
              sizeof(float) * std::size_t(count * per_clip));
  out.labels.assign(from.labels.begin() + first, from.labels.begin() + first + count);
  out.videos.assign(from.videos.begin() + first, from.videos.begin() + first + count);
  return out;
}

// Concatenates evaluation batches along the clip axis.
ccl::data::ClipBatch concatenate(std::vector<ccl::data::ClipBatch>& parts) {
  if (parts.size() == 1) return std::move(parts.front());
  ccl::data::ClipBatch out;
  Index rows = 0;
  for (const auto& p : parts) rows += p.clips.dim(0);
  auto shape = parts.front().clips.shape();
  const Index per_clip = parts.front().clips.size() / shape[0];
  shape[0] = rows;
  out.clips.resize(shape);
  Index row = 0;
  for (const auto& p : parts) {
    std::memcpy(out.clips.data() + row * per_clip, p.clips.data(),
                sizeof(float) * std::size_t(p.clips.size()));
    row += p.clips.dim(0);
    out.labels.insert(out.labels.end(), p.labels.begin(), p.labels.end());
    out.videos.insert(out.videos.end(), p.videos.begin(), p.videos.end());
  }
  return out;
}

// The videos of the test split in batches of at most `max_clips` clips, produced in order one
// batch ahead on a background thread. A video with more windows than fit is split across batches.
class EvalStream {
 public:
  EvalStream(const ccl::data::Ucf51Dataset& data, std::vector<Index> videos, EvalKind kind,
             Index max_clips, bool prefetch)
      : data_(data), videos_(std::move(videos)), kind_(kind), max_clips_(max_clips),
        prefetch_(prefetch) {
    ccl::require(max_clips >= 1, "ucf51_train: the evaluation batch must hold at least one clip");
    if (prefetch_ && !exhausted()) pending_ = std::async(std::launch::async, [this] { return produce(); });
  }
  EvalStream(const EvalStream&) = delete;
  EvalStream& operator=(const EvalStream&) = delete;
  ~EvalStream() {
    if (pending_.valid()) pending_.wait();
  }

  bool done() const { return !pending_.valid() && exhausted(); }

  ccl::data::ClipBatch next() {
    ccl::require(!done(), "ucf51_train: the evaluation pass has ended");
    ccl::data::ClipBatch batch = prefetch_ ? pending_.get() : produce();
    if (prefetch_ && !exhausted())
      pending_ = std::async(std::launch::async, [this] { return produce(); });
    return batch;
  }

 private:
  bool exhausted() const { return next_video_ >= videos_.size() && leftover_rows() == 0; }
  Index leftover_rows() const { return leftover_.clips.empty() ? 0 : leftover_.clips.dim(0) - used_; }

  ccl::data::ClipBatch produce() {
    std::vector<ccl::data::ClipBatch> parts;
    Index rows = 0;
    while (rows < max_clips_ && !exhausted()) {
      if (leftover_rows() == 0) {
        const Index video = videos_[next_video_++];
        leftover_ = kind_ == EvalKind::validation ? data_.validation_clips(video)
                                                  : data_.test_windows(video);
        used_ = 0;
      }
      const Index take = std::min(leftover_rows(), max_clips_ - rows);
      parts.push_back(take_rows(leftover_, used_, take));
      used_ += take;
      rows += take;
    }
    return concatenate(parts);
  }

  const ccl::data::Ucf51Dataset& data_;
  std::vector<Index> videos_;
  EvalKind kind_;
  Index max_clips_;
  bool prefetch_;
  std::size_t next_video_ = 0;
  ccl::data::ClipBatch leftover_;
  Index used_ = 0;
  std::future<ccl::data::ClipBatch> pending_;
};

}  // namespace

struct Ucf51Source::Impl {
  explicit Impl(const Config& c)
      : layout(c.videos, c.audio, c.image, layout_options(c)), data(layout, clip_options(c)),
        prefetch(c.prefetch) {}

  ccl::data::Ucf51Layout layout;
  ccl::data::Ucf51Dataset data;
  bool prefetch;
  std::unique_ptr<ccl::data::Ucf51Epoch> epoch;
  std::unique_ptr<EvalStream> eval;
};

Ucf51Source::Ucf51Source(const Config& config) {
  if (config.threads > 0) ccl::set_num_threads(config.threads);
  impl_ = std::make_unique<Impl>(config);
  ccl::require(!impl_->layout.indices(ccl::data::Split::train).empty() &&
                   !impl_->layout.indices(ccl::data::Split::test).empty(),
               "ucf51_train: the layout needs training and test videos (UCF101 split 1: groups "
               "01-07 are the test split)");
}

Ucf51Source::~Ucf51Source() = default;

const std::vector<std::string>& Ucf51Source::class_names() const { return impl_->layout.classes(); }
bool Ucf51Source::has_image_features() const { return impl_->layout.has_image_features(); }
Index Ucf51Source::train_videos() const {
  return Index(impl_->layout.indices(ccl::data::Split::train).size());
}
Index Ucf51Source::test_videos() const {
  return Index(impl_->layout.indices(ccl::data::Split::test).size());
}

std::string Ucf51Source::summary() const {
  using ccl::data::Split;
  std::ostringstream out;
  out << "UCF51 layout: " << classes() << " classes, " << train_videos() << " training videos ("
      << impl_->layout.missing_audio_count(Split::train) << " without audio), " << test_videos()
      << " test videos (" << impl_->layout.missing_audio_count(Split::test)
      << " without audio), image-teacher features: " << (has_image_features() ? "yes" : "no")
      << "; clip decoding on " << ccl::num_threads() << " thread(s)";
  return out.str();
}

ccl::data::ClipBatch training_shard(const ccl::data::ClipBatch& global, int rank, int ranks) {
  const Index rows = global.clips.dim(0);
  ccl::require(ranks > 0 && rows % ranks == 0, "ucf51_train: a batch of ", rows,
               " clips cannot be split into ", ranks, " equal shards");
  const Index count = rows / ranks, first = Index(rank) * count;
  ccl::data::ClipBatch out = take_rows(global, first, count);
  auto slice = [&](const ccl::RowMatrix<float>& m) -> ccl::RowMatrix<float> {
    if (m.rows() == 0) return m;  // no such teacher in this layout
    return m.middleRows(first, count);
  };
  out.audio = slice(global.audio);
  out.image = slice(global.image);
  if (!global.audio_missing.empty())
    out.audio_missing.assign(global.audio_missing.begin() + first,
                             global.audio_missing.begin() + first + count);
  if (!global.clips_drawn.empty())
    out.clips_drawn.assign(global.clips_drawn.begin() + first,
                           global.clips_drawn.begin() + first + count);
  out.image_frame = global.image_frame;
  return out;
}

void Ucf51Source::start_epoch(Index batch_size, ccl::Rng& rng) {
  impl_->epoch.reset();  // an unfinished epoch's loader must finish before its successor starts
  impl_->epoch = std::make_unique<ccl::data::Ucf51Epoch>(
      impl_->data, impl_->layout.indices(ccl::data::Split::train), batch_size, rng, impl_->prefetch);
}

Index Ucf51Source::epoch_batches() const { return impl_->epoch ? impl_->epoch->batches() : 0; }
bool Ucf51Source::epoch_done() const { return !impl_->epoch || impl_->epoch->done(); }
ccl::data::ClipBatch Ucf51Source::next_training_batch() {
  ccl::require(bool(impl_->epoch), "ucf51_train: no epoch was started");
  return impl_->epoch->next();
}

void Ucf51Source::start_evaluation(EvalKind kind, Index max_clips) {
  impl_->eval.reset();
  impl_->eval = std::make_unique<EvalStream>(impl_->data,
                                             impl_->layout.indices(ccl::data::Split::test), kind,
                                             max_clips, impl_->prefetch);
}

bool Ucf51Source::evaluation_done() const { return !impl_->eval || impl_->eval->done(); }
ccl::data::ClipBatch Ucf51Source::next_evaluation_batch() {
  ccl::require(bool(impl_->eval), "ucf51_train: no evaluation pass was started");
  return impl_->eval->next();
}

}  // namespace ucf51_train
