#pragma once
// The two frozen teachers of the protocol: an image CNN trained on Fashion-MNIST and an audio CNN
// trained on the spoken class names. The image teacher trains on every Fashion-MNIST training
// image rendered as a single frame of a clip (a random motion, zoom, mirror, occluding bar and
// noise, drawn afresh every epoch; ccl::data::render_clip_frame): the frames of the student's
// clips are then no longer foreign to it, and its single-frame knowledge exceeds what the
// data-limited student learns from its 300 clips (the headroom, headroom.hpp). Each is trained once and cached as a checkpoint (a rerun
// with the same settings resumes at its last epoch, i.e. does nothing), evaluated on its own
// held-out data, and then used to precompute the teacher embeddings of every clip: one audio
// vector per clip (zero when the clip has no audio) and one image vector per frame.

#include "datasets.hpp"

#include <ccl/data/benchmark.hpp>
#include <ccl/pipeline/pipeline.hpp>
#include <ccl/pipeline/trainer.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace table1 {

struct TeacherOptions {
  Index dim = 64;            ///< embedding size, equal to the student's (CCL compares them)
  Index image_epochs = 2;
  Index image_train_limit = 60000;  ///< Fashion-MNIST images per epoch (<= 60000)
  /// Train (and test) the image teacher on clip-like renderings of the images (else on the plain
  /// 28x28 images, as before: a teacher the clip frames are foreign to).
  bool image_augment = true;
  Index audio_epochs = 8;
  std::uint64_t seed = 1;
  ccl::pipeline::ProgressStyle progress = ccl::pipeline::ProgressStyle::automatic;
};

struct Teachers {
  ClipTeachers train, test;
  double image_top1 = 0, audio_top1 = 0;
  double audio_agreement = 0;  ///< audio teacher's top-1 against the *video* label on test clips
};

namespace detail {

/// Runs the network in inference mode over `set` in order and stacks what `output(input)`
/// returns for each batch (embeddings or logits).
template <class Set, class Output>
Matrix stack_all(const Set& set, Output&& output, Index batch = 256) {
  Matrix out;
  std::vector<Index> indices;
  for (Index first = 0; first < set.size(); first += batch) {
    indices.resize(std::size_t(std::min(batch, set.size() - first)));
    for (std::size_t k = 0; k < indices.size(); ++k) indices[k] = first + Index(k);
    const auto e = output(set.load(indices).input).matrix();
    if (out.rows() == 0) out.resize(set.size(), e.cols());
    out.middleRows(first, e.rows()) = e;
  }
  return out;
}

template <class Pipeline, class Set>
Matrix embed_all(Pipeline& pipeline, const Set& set, Index batch = 256) {
  return stack_all(set, [&](const auto& input) { return pipeline.embed(input); }, batch);
}

template <class Pipeline, class Set>
Matrix logits_all(Pipeline& pipeline, const Set& set, Index batch = 256) {
  return stack_all(set, [&](const auto& input) { return pipeline.predict(input); }, batch);
}

}  // namespace detail

/// Trains (or loads from `cache_dir`) both teachers and embeds every clip with them. Defined in
/// teachers.cpp: the teachers' CNNs and their training are compiled once, not in every unit that
/// includes this header for Teachers and embed_all.
Teachers prepare_teachers(const ccl::data::TriModalBenchmark& b,
                          const std::filesystem::path& cache_dir, const TeacherOptions& o);

}  // namespace table1
