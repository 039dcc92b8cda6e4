#pragma once
// The validation split of the training clips: every cell fits the rest and is validated on it
// after every epoch, the tuning grid and --select best-validation choose by it, and the headroom
// probes choose their weight decay by it — nothing looks at the test clips
// (docs/reproducing-table1.md). Stratified and deterministic: within each class, every k-th
// training clip (in clip order) is held out, so the split has the same class balance as the
// training set and does not depend on a seed.

#include "datasets.hpp"
#include "teachers.hpp"

#include <ccl/core/error.hpp>
#include <ccl/data/benchmark.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

namespace table1 {

struct ValidationSplit {
  /// class_names and config as the benchmark's; clips_train = the clips the student fits,
  /// clips_test = the held-out validation clips. The image/audio teacher data is left empty.
  ccl::data::TriModalBenchmark bench;
  Teachers teachers;  ///< train / test = the teacher embeddings of those two clip sets
};

namespace detail {

inline ccl::data::ClipSet select_clips(const ccl::data::ClipSet& all,
                                       const std::vector<Index>& rows) {
  ccl::data::ClipSet out;
  out.count = Index(rows.size());
  out.frames = all.frames;
  out.height = all.height;
  out.width = all.width;
  const std::size_t clip_size = std::size_t(all.frames * all.height * all.width);
  out.audio.mel_bins = all.audio.mel_bins;
  out.audio.frames = all.audio.frames;
  out.audio.count = out.count;
  const std::size_t audio_size = std::size_t(all.audio.mel_bins * all.audio.frames);
  for (Index r : rows) {
    const std::size_t i = std::size_t(r);
    out.video.insert(out.video.end(), all.clip(r), all.clip(r) + clip_size);
    out.labels.push_back(all.labels[i]);
    out.audio.features.insert(out.audio.features.end(), all.audio.item(r),
                              all.audio.item(r) + audio_size);
    out.audio.labels.push_back(all.audio.labels[i]);
    out.audio_kind.push_back(all.audio_kind[i]);
    out.source_item.push_back(all.source_item[i]);
  }
  return out;
}

inline ClipTeachers select_teachers(const ClipTeachers& all, const std::vector<Index>& rows,
                                    Index frames) {
  ClipTeachers out;
  out.audio.resize(Index(rows.size()), all.audio.cols());
  out.image_frames.resize(Index(rows.size()) * frames, all.image_frames.cols());
  for (std::size_t k = 0; k < rows.size(); ++k) {
    out.audio.row(Index(k)) = all.audio.row(rows[k]);
    out.image_frames.middleRows(Index(k) * frames, frames) =
        all.image_frames.middleRows(rows[k] * frames, frames);
  }
  return out;
}

}  // namespace detail

/// Holds out `fraction` of each class's training clips (at least one per class) as validation.
inline ValidationSplit make_validation_split(const ccl::data::TriModalBenchmark& bench,
                                             const Teachers& teachers, double fraction) {
  ccl::require(fraction > 0 && fraction < 1, "table1: the validation fraction must lie in (0, 1),"
               " got ", fraction);
  const ccl::data::ClipSet& clips = bench.clips_train;
  std::map<std::int32_t, std::vector<Index>> by_class;
  for (Index i = 0; i < clips.count; ++i) by_class[clips.labels[std::size_t(i)]].push_back(i);
  const Index every = std::max<Index>(2, Index(std::lround(1.0 / fraction)));
  std::vector<Index> fit, held_out;
  for (const auto& entry : by_class) {
    const auto& members = entry.second;
    ccl::require(members.size() >= 2, "table1: class ", entry.first, " has ", members.size(),
                 " training clip(s); a validation split needs at least 2 per class");
    for (std::size_t k = 0; k < members.size(); ++k) {
      // Positions every-1, 2·every-1, ...: the last clip of each block of `every` is held out.
      (Index(k) % every == every - 1 ? held_out : fit).push_back(members[k]);
    }
  }
  std::sort(fit.begin(), fit.end());
  std::sort(held_out.begin(), held_out.end());

  ValidationSplit split;
  split.bench.config = bench.config;
  split.bench.class_names = bench.class_names;
  split.bench.spoken_names = bench.spoken_names;
  split.bench.clips_train = detail::select_clips(clips, fit);
  split.bench.clips_test = detail::select_clips(clips, held_out);
  split.teachers.train = detail::select_teachers(teachers.train, fit, clips.frames);
  split.teachers.test = detail::select_teachers(teachers.train, held_out, clips.frames);
  split.teachers.image_top1 = teachers.image_top1;
  split.teachers.audio_top1 = teachers.audio_top1;
  split.teachers.audio_agreement = teachers.audio_agreement;
  return split;
}

}  // namespace table1
