// ucf51_inspect: checks a UCF51 layout before a GPU run. It scans the videos, the audio features
// and (optionally) the image-teacher features the way training will (ccl/data/ucf51_layout.hpp),
// prints the class list and split counts, decodes one augmented training clip and the
// evaluation clips of one video, and writes them as a PNG contact sheet, so that a bad path,
// a corrupt file or a wrong frame size shows up in seconds instead of hours into training.
//
//   ucf51_inspect --videos UCF101-hdf5 --audio features/audio [--image features/image]
//                 [--video v_Archery_g01_c01] [--seed 1] [--png clip.png]
//                 [--frames 16] [--size 112] [--any-classes] [--check-all]
//                 [--time-batch 16] [--threads N]
//   ucf51_inspect --self-test DIR     a tiny synthetic layout written into DIR, then inspected

#include "../common/ucf51_synthetic_layout.hpp"

#include <ccl/core/parallel.hpp>
#include <ccl/data/npy.hpp>
#include <ccl/data/ucf51_dataset.hpp>
#include <ccl/data/ucf51_layout.hpp>
#include <ccl/data/video/clip_pipeline.hpp>
#include <ccl/data/video/image_codec.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using ccl::Index;

namespace {

struct Options {
  fs::path videos, audio, image, png = "ucf51-clip.png", self_test;
  std::string video;
  std::uint64_t seed = 1;
  Index frames = 16, size = 112, time_batch = 0;
  int threads = 0;
  bool any_classes = false, check_all = false;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "ucf51_inspect: " << problem << "\n"
            << "usage: ucf51_inspect --videos DIR --audio DIR [--image DIR] [--video ID] [--seed N]\n"
            << "                     [--png FILE] [--frames N] [--size N] [--any-classes] [--check-all]\n"
            << "                     [--time-batch N] [--threads N]\n"
            << "       ucf51_inspect --self-test DIR\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--videos") o.videos = value();
    else if (arg == "--audio") o.audio = value();
    else if (arg == "--image") o.image = value();
    else if (arg == "--video") o.video = value();
    else if (arg == "--png") o.png = value();
    else if (arg == "--self-test") o.self_test = value();
    else if (arg == "--seed") o.seed = std::stoull(value());
    else if (arg == "--frames") o.frames = std::stol(value());
    else if (arg == "--size") o.size = std::stol(value());
    else if (arg == "--time-batch") o.time_batch = std::stol(value());
    else if (arg == "--threads") o.threads = std::stoi(value());
    else if (arg == "--any-classes") o.any_classes = true;
    else if (arg == "--check-all") o.check_all = true;
    else usage("unknown option " + arg);
  }
  if (o.self_test.empty() && (o.videos.empty() || o.audio.empty()))
    usage("--videos and --audio are required");
  return o;
}

// The shared tiny layout (3 classes x 4 videos of moving colour bars, PNG frame directories).
void write_self_test(Options& o) {
  ccl_examples::write_synthetic_layout(o.self_test, 512);
  o.videos = o.self_test / "videos";
  o.audio = o.self_test / "audio";
  o.png = o.self_test / "ucf51-clip.png";
  o.any_classes = true;
  o.frames = 8;
  o.size = 32;
}

// Tiles the T frames of each clip of `batch` in one row per clip.
ccl::data::RgbFrame contact_sheet(const std::vector<const ccl::data::ClipBatch*>& batches,
                                  const ccl::data::ClipOptions& options) {
  Index rows = 0;
  for (const auto* batch : batches) rows += batch->clips.dim(0);
  const Index pad = 2, cell = options.size + pad;
  ccl::data::RgbFrame sheet(rows * cell + pad, options.frames * cell + pad);
  std::fill(sheet.pixels.begin(), sheet.pixels.end(), std::uint8_t(255));
  Index row = 0;
  for (const auto* batch : batches)
    for (Index n = 0; n < batch->clips.dim(0); ++n, ++row)
      for (Index t = 0; t < options.frames; ++t) {
        const auto frame = ccl::data::clip_frame_to_rgb(batch->clips, n, t, options);
        for (Index y = 0; y < options.size; ++y)
          for (Index x = 0; x < options.size; ++x)
            for (Index c = 0; c < 3; ++c)
              sheet.at(pad + row * cell + y, pad + t * cell + x, c) = frame.at(y, x, c);
      }
  return sheet;
}

int run(Options o) {
  if (!o.self_test.empty()) write_self_test(o);
  if (o.threads > 0) ccl::set_num_threads(o.threads);
  ccl::data::Ucf51Options layout_options;
  layout_options.require_ucf51_classes = !o.any_classes;
  const auto start = std::chrono::steady_clock::now();
  const ccl::data::Ucf51Layout layout(o.videos, o.audio, o.image, layout_options);
  const double scan_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  using ccl::data::Split;
  std::map<std::string, std::array<Index, 2>> per_class;
  for (const auto& v : layout.videos()) ++per_class[v.class_name][v.split == Split::test];
  std::cout << "classes: " << layout.classes().size() << " (label 0 = " << layout.classes().front()
            << ", label " << layout.classes().size() - 1 << " = " << layout.classes().back() << ")\n";
  for (const auto& [name, counts] : per_class)
    std::cout << "  " << name << ": " << counts[0] << " train, " << counts[1] << " test\n";
  for (Split split : {Split::train, Split::test})
    std::cout << ccl::data::to_string(split) << ": " << layout.indices(split).size() << " videos, "
              << layout.missing_audio_count(split) << " without audio (all-zero feature)\n";
  std::cout << "audio features without a video (skipped): " << layout.audio_without_video().size()
            << "\nimage-teacher features: " << (layout.has_image_features() ? "yes" : "no")
            << "\nscan: " << scan_s << " s\n";
  if (layout.classes() == ccl::data::ucf51_class_names() && layout.videos().size() != 6837)
    std::cout << "note: the full UCF51 has 6,837 videos (4,893 train / 1,944 test)\n";

  if (o.check_all) {  // opens every video and decodes its first and last frames
    Index checked = 0;
    for (const auto& v : layout.videos()) {
      const ccl::data::VideoFrames frames(v.video);
      frames.frame(1);
      frames.frame(frames.frame_count());
      if (!v.image.empty()) layout.image_features(v, frames.frame_count());
      layout.audio_feature(v);
      if (++checked % 500 == 0) std::cout << "checked " << checked << " videos\n" << std::flush;
    }
    std::cout << "checked all " << checked << " videos: every file opens and decodes\n";
  }

  Index position = layout.indices(Split::train).front();
  if (!o.video.empty()) {
    position = -1;
    for (std::size_t i = 0; i < layout.videos().size(); ++i)
      if (layout.videos()[i].id == o.video) position = Index(i);
    if (position < 0) throw ccl::error("ucf51_inspect: no video '" + o.video + "' in the layout");
  }
  const auto& video = layout.videos()[std::size_t(position)];
  const ccl::data::VideoFrames frames(video.video);
  const auto first = frames.frame(1);
  std::cout << "video " << video.id << " (" << video.class_name << ", label " << video.label << ", "
            << ccl::data::to_string(video.split) << "): " << frames.frame_count() << " frames of "
            << first.width << "x" << first.height << (frames.is_hdf5() ? " (HDF5)" : " (frame directory)")
            << "\n";

  ccl::data::ClipOptions clip_options;
  clip_options.frames = o.frames;
  clip_options.size = o.size;
  const ccl::data::Ucf51Dataset data(layout, clip_options);
  ccl::Rng rng(o.seed);
  const auto t0 = std::chrono::steady_clock::now();
  const auto train = data.training_batch({position}, rng);
  const double clip_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto& drawn = train.clips_drawn.front();
  std::cout << "training clip (seed " << o.seed << "): frames " << drawn.frames.front() << ".."
            << drawn.frames.back() << ", crop " << drawn.crop.width << "x" << drawn.crop.height
            << " at (" << drawn.crop.left << ", " << drawn.crop.top << "), flip "
            << (drawn.flip ? "yes" : "no") << ", tensor " << train.clips.shape_string() << ", "
            << clip_s * 1000 << " ms\n";
  const auto validation = data.validation_clips(position);
  const auto test = data.test_windows(position);
  std::cout << "validation clips: " << validation.clips.dim(0) << ", test windows: " << test.clips.dim(0)
            << "\n";
  if (o.time_batch > 0) {  // is loading fast enough to feed a GPU?
    std::vector<Index> videos = layout.indices(Split::train);
    rng.shuffle(videos);
    videos.resize(std::size_t(std::min<Index>(o.time_batch, Index(videos.size()))));
    const auto b0 = std::chrono::steady_clock::now();
    data.training_batch(videos, rng);
    const double batch_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - b0).count();
    std::cout << "a training batch of " << videos.size() << " clips: " << batch_s * 1000 << " ms on "
              << ccl::num_threads() << " thread(s), " << double(videos.size()) / batch_s
              << " clips/s\n";
  }
  ccl::data::write_png(o.png, contact_sheet({&train, &validation}, clip_options));
  std::cout << "contact sheet (row 1: the training clip, then the validation clips): "
            << o.png.string() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
