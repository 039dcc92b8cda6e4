// The two teachers' training and embedding passes (teachers.hpp). In their own translation unit:
// the CNNs, their trainers and checkpoints are compiled once instead of in every unit that
// includes teachers.hpp.

#include "teachers.hpp"

#include <ccl/data/clip_render.hpp>
#include <ccl/nn/encoders/conv_stack.hpp>
#include <ccl/optim/schedules.hpp>
#include <ccl/optim/sgd.hpp>
#include <ccl/pipeline/student.hpp>

#include <cstdio>

namespace table1 {

namespace detail {

template <class Pipeline, class Set>
ccl::pipeline::EvalReport train_classifier(Pipeline& pipeline, const Set& train, const Set& test,
                                           Index epochs, Index batch, double lr,
                                           const std::filesystem::path& checkpoint,
                                           const TeacherOptions& o) {
  ccl::optim::Sgd<float> sgd;
  ccl::optim::SgdOptions options = ccl::optim::SgdOptions::official();
  options.lr = lr;
  const Index group = sgd.add_group(options).add("teacher", pipeline.student()).index();
  ccl::optim::Scheduler<ccl::optim::Cosine> schedule(sgd, group, ccl::optim::Cosine{epochs, 0.0});
  ccl::pipeline::TrainerOptions t;
  t.epochs = epochs;
  t.batch_size = batch;
  t.seed = o.seed;
  t.progress = o.progress;
  t.checkpoint_path = checkpoint.string();
  ccl::pipeline::Trainer trainer(pipeline, sgd, t);
  trainer.add_scheduler(schedule);
  try {
    trainer.fit(train);
  } catch (const ccl::error& e) {
    // A cache from another version or setting: train from scratch instead.
    std::fprintf(stderr, "ignoring the teacher cache %s (%s)\n", checkpoint.string().c_str(), e.what());
    std::filesystem::remove(checkpoint);
    trainer.fit(train);
  }
  return trainer.evaluate(test);
}

// Every frame of every clip as an image [N*T, 1, H, W], for the image teacher.
class FrameSet {
 public:
  explicit FrameSet(const ccl::data::ClipSet& clips) : clips_(clips) {}
  Index size() const { return clips_.count * clips_.frames; }
  Batch<ccl::nn::Tensor<float, 4>> load(const std::vector<Index>& indices) const {
    const Index h = clips_.height, w = clips_.width;
    Batch<ccl::nn::Tensor<float, 4>> batch{ccl::nn::Tensor<float, 4>({Index(indices.size()), 1, h, w}), {}, {}};
    for (std::size_t r = 0; r < indices.size(); ++r) {
      const std::uint8_t* src = clips_.video.data() + std::size_t(indices[r] * h * w);
      float* dst = batch.input.data() + Index(r) * h * w;
      for (Index k = 0; k < h * w; ++k) dst[k] = normalise_pixel(src[k]);
      batch.labels.push_back(clips_.labels[std::size_t(indices[r] / clips_.frames)]);
    }
    return batch;
  }

 private:
  const ccl::data::ClipSet& clips_;
};

// Fashion-MNIST images rendered as single frames of a clip: every load draws a new motion and
// frame index per image (the generator advances with the loads, which the Trainer makes in a
// fixed order, so a run is reproducible; a teacher resumed mid-training draws other frames).
class RenderedFrameSet {
 public:
  RenderedFrameSet(const ccl::data::LabelledImages& images, const ccl::data::BenchmarkConfig& c,
                   std::uint64_t seed)
      : images_(images), config_(c), rng_(seed) {}
  Index size() const { return images_.count; }
  Batch<ccl::nn::Tensor<float, 4>> load(const std::vector<Index>& indices) const {
    const int h = config_.height, w = config_.width;
    Batch<ccl::nn::Tensor<float, 4>> batch{
        ccl::nn::Tensor<float, 4>({Index(indices.size()), 1, Index(h), Index(w)}), {}, {}};
    std::vector<std::uint8_t> frame(std::size_t(h * w));
    for (std::size_t r = 0; r < indices.size(); ++r) {
      const auto motion =
          ccl::data::random_motion(rng_, config_.frames, h, w, config_.occlusion_probability);
      const int t = int(rng_.index(config_.frames));
      ccl::data::render_clip_frame(images_.image(indices[r]), int(images_.height),
                                   int(images_.width), motion, t, config_.frames, h, w, rng_,
                                   frame.data());
      float* dst = batch.input.data() + Index(r) * h * w;
      for (int k = 0; k < h * w; ++k) dst[k] = normalise_pixel(frame[std::size_t(k)]);
      batch.labels.push_back(images_.labels[std::size_t(indices[r])]);
    }
    return batch;
  }

 private:
  const ccl::data::LabelledImages& images_;
  ccl::data::BenchmarkConfig config_;
  mutable ccl::Rng rng_;
};

// A prefix of a labelled image set (the per-epoch budget of the image teacher).
inline ccl::data::LabelledImages prefix(const ccl::data::LabelledImages& images, Index count) {
  ccl::data::LabelledImages out = images;
  out.count = std::min(count, images.count);
  out.pixels.resize(std::size_t(out.count * out.height * out.width));
  out.labels.resize(std::size_t(out.count));
  return out;
}

}  // namespace detail

Teachers prepare_teachers(const ccl::data::TriModalBenchmark& b,
                          const std::filesystem::path& cache_dir, const TeacherOptions& o) {
  namespace enc = ccl::nn::encoders;
  using ccl::pipeline::Student;
  const Index classes = Index(b.class_names.size());
  std::filesystem::create_directories(cache_dir);
  const std::string tag = "-d" + std::to_string(o.dim) + "-s" + std::to_string(o.seed);
  Teachers teachers;

  {  // Image teacher: grey 28x28 Fashion-MNIST, applied later to 32x32 clip frames (the global
     // pooling makes it size-agnostic).
    ccl::Rng rng(o.seed * 101 + 1);
    enc::ConvStackOptions c;
    c.in_channels = 1;
    c.widths = {16, 32, 64};
    c.embedding_dim = o.dim;
    auto pipeline = ccl::pipeline::make_pipeline(
        Student<enc::ImageCnn<float>, float>(enc::image_cnn<float>(c, rng), o.dim, classes, rng));
    const auto train_images = detail::prefix(b.image_train, o.image_train_limit);
    const std::filesystem::path checkpoint =
        cache_dir / ("image-teacher" + tag + "-n" + std::to_string(train_images.count) + "-e" +
                     std::to_string(o.image_epochs) + (o.image_augment ? "-rendered" : "") +
                     ".ckpt");
    ccl::pipeline::EvalReport report;
    if (o.image_augment) {
      const detail::RenderedFrameSet train(train_images, b.config, o.seed * 101 + 3);
      const detail::RenderedFrameSet test(b.image_test, b.config, o.seed * 101 + 4);
      report = detail::train_classifier(pipeline, train, test, o.image_epochs, 64, 0.05,
                                        checkpoint, o);
    } else {
      const ImageSet train(train_images), test(b.image_test);
      report = detail::train_classifier(pipeline, train, test, o.image_epochs, 64, 0.05,
                                        checkpoint, o);
    }
    teachers.image_top1 = report.top(1);
    teachers.train.image_frames = detail::embed_all(pipeline, detail::FrameSet(b.clips_train));
    teachers.test.image_frames = detail::embed_all(pipeline, detail::FrameSet(b.clips_test));
  }
  {  // Audio teacher: log-mel frames, mel bins as channels of a 1D CNN.
    ccl::Rng rng(o.seed * 101 + 2);
    enc::ConvStackOptions c;
    c.in_channels = b.audio_train.mel_bins;
    c.widths = {64, 64, 64};
    c.embedding_dim = o.dim;
    auto pipeline = ccl::pipeline::make_pipeline(
        Student<enc::AudioCnn<float>, float>(enc::audio_cnn<float>(c, rng), o.dim, classes, rng));
    const AudioSet train(b.audio_train), test(b.audio_test);
    const auto report = detail::train_classifier(
        pipeline, train, test, o.audio_epochs, 32, 0.05,
        cache_dir / ("audio-teacher" + tag + "-e" + std::to_string(o.audio_epochs) + ".ckpt"), o);
    teachers.audio_top1 = report.top(1);
    auto embed_clips = [&](const ccl::data::ClipSet& clips, Matrix& out, double* agreement) {
      const AudioSet tracks(clips.audio);
      out = detail::embed_all(pipeline, tracks);
      const Matrix logits = agreement != nullptr ? detail::logits_all(pipeline, tracks) : Matrix();
      Index agree = 0, present = 0;
      for (Index i = 0; i < clips.count; ++i) {
        if (clips.audio_kind[std::size_t(i)] == ccl::data::AudioKind::missing) {
          out.row(i).setZero();  // the official marker of a clip without audio
          continue;
        }
        if (agreement != nullptr) {
          Index best = 0;
          logits.row(i).maxCoeff(&best);
          agree += best == clips.labels[std::size_t(i)];
          ++present;
        }
      }
      if (agreement != nullptr) *agreement = present > 0 ? double(agree) / double(present) : 0.0;
    };
    embed_clips(b.clips_train, teachers.train.audio, nullptr);
    embed_clips(b.clips_test, teachers.test.audio, &teachers.audio_agreement);
  }
  return teachers;
}

}  // namespace table1
