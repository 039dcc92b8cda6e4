#pragma once
// The headroom diagnostic: how much a perfect distiller could gain. A linear probe (ccl's Linear +
// cross-entropy, i.e. multinomial logistic regression) is trained on the teachers' embeddings of
// the clips the student fits, its weight decay chosen by top-1 on the validation clips, and tested
// on the test clips. A probe well above the no-distillation student means the teacher knows
// something about the video's class that the student has not learned from its own clips.
//
//   A        the audio embedding of the clip (all-zero without audio: the probe then has only
//            its bias, as the student's audio branch has nothing)
//   I        the image teacher on ONE frame: every frame of a clip is a row; accuracy averaged
//            over the frames = the expected accuracy on the single frame a mini-batch sees
//   I (clip) the image embedding averaged over the clip's frames (what more frames would add)
//   AI       [audio, one frame] concatenated, per frame
// The A and AI probes are also reported on the test clips whose audio names their class
// ("related audio"): the semantic gap shows as the difference.

#include "datasets.hpp"
#include "teachers.hpp"

#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/data/benchmark.hpp>
#include <ccl/loss/cross_entropy.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/optim/adam.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

namespace table1 {

/// Rows of probe features with their labels; `row_clip[i]` is the clip row i came from.
struct ProbeRows {
  Matrix features;
  std::vector<std::int64_t> labels;
  std::vector<Index> row_clip;
};

struct ProbeOptions {
  Index epochs = 60;
  Index batch_size = 64;
  double lr = 1e-2;
  std::vector<double> weight_decays{0.0, 1e-4, 1e-3, 1e-2, 1e-1};
  std::uint64_t seed = 1;
};

struct ProbeResult {
  std::string name;
  double weight_decay = 0;
  double validation_top1 = 0;
  double test_top1 = 0;
  /// Test top-1 on the clips whose audio names their class (NaN where it does not apply).
  double related_test_top1 = std::numeric_limits<double>::quiet_NaN();
  Index fit_rows = 0;
};

namespace detail {

/// A trained linear probe: standardisation by the fit rows' statistics, then Linear.
class LinearProbe {
 public:
  LinearProbe(const ProbeRows& fit, Index classes, double weight_decay, const ProbeOptions& o)
      : rng_(o.seed), mean_(fit.features.colwise().mean()),
        linear_(fit.features.cols(), classes, rng_) {
    const Index n = fit.features.rows(), d = fit.features.cols();
    ccl::require(n > 0, "headroom: a probe needs at least one fit row");
    Matrix centred = fit.features.rowwise() - mean_;
    scale_ = (centred.array().square().colwise().sum() / float(n)).sqrt().max(1e-6f).inverse();
    const Matrix x = centred.array().rowwise() * scale_.array();
    ccl::optim::Adam<float> adam;
    ccl::optim::AdamOptions ao;
    ao.lr = o.lr;
    ao.weight_decay = weight_decay;
    adam.add_group(ao).add("probe", linear_);
    ccl::loss::CrossEntropy<float> ce;
    std::vector<Index> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), Index(0));
    Matrix batch, grad;
    std::vector<std::int64_t> labels;
    for (Index epoch = 0; epoch < o.epochs; ++epoch) {
      rng_.shuffle(order);
      for (Index first = 0; first < n; first += o.batch_size) {
        const Index count = std::min(o.batch_size, n - first);
        batch.resize(count, d);
        labels.resize(std::size_t(count));
        for (Index r = 0; r < count; ++r) {
          const Index i = order[std::size_t(first + r)];
          batch.row(r) = x.row(i);
          labels[std::size_t(r)] = fit.labels[std::size_t(i)];
        }
        adam.zero_grad();
        const auto& z = linear_.forward(ccl::view(batch));
        grad.setZero(z.rows(), z.cols());
        ce.accumulate(ccl::view(z), labels, 1.0f, ccl::mutable_view(grad));
        linear_.backward(ccl::view(grad));
        adam.step();
      }
    }
  }

  /// Top-1 over `rows`, restricted to those whose clip satisfies keep(clip).
  template <class Keep>
  double accuracy(const ProbeRows& rows, Keep keep) {
    const Matrix x = (rows.features.rowwise() - mean_).array().rowwise() * scale_.array();
    const Matrix& z = linear_.forward(ccl::view(x));
    Index correct = 0, counted = 0;
    for (Index i = 0; i < z.rows(); ++i) {
      if (!keep(rows.row_clip[std::size_t(i)])) continue;
      Index best = 0;
      z.row(i).maxCoeff(&best);
      correct += best == rows.labels[std::size_t(i)];
      ++counted;
    }
    return counted > 0 ? double(correct) / double(counted)
                       : std::numeric_limits<double>::quiet_NaN();
  }
  double accuracy(const ProbeRows& rows) {
    return accuracy(rows, [](Index) { return true; });
  }

 private:
  ccl::Rng rng_;  // declared first: it initialises linear_
  Eigen::RowVectorXf mean_, scale_;
  ccl::nn::Linear<float> linear_;
};

/// The probe's rows for one kind of feature over one clip set.
enum class ProbeFeature { audio, frame, clip_mean, audio_frame };

inline ProbeRows probe_rows(ProbeFeature kind, const ccl::data::ClipSet& clips,
                            const ClipTeachers& t) {
  ProbeRows out;
  const Index n = clips.count, frames = clips.frames;
  const Index da = t.audio.cols(), di = t.image_frames.cols();
  const bool per_frame = kind == ProbeFeature::frame || kind == ProbeFeature::audio_frame;
  const Index rows = per_frame ? n * frames : n;
  const Index cols = kind == ProbeFeature::audio ? da
                     : kind == ProbeFeature::audio_frame ? da + di
                                                         : di;
  out.features.resize(rows, cols);
  for (Index c = 0; c < n; ++c) {
    const auto label = std::int64_t(clips.labels[std::size_t(c)]);
    switch (kind) {
      case ProbeFeature::audio: out.features.row(c) = t.audio.row(c); break;
      case ProbeFeature::clip_mean:
        out.features.row(c) = t.image_frames.middleRows(c * frames, frames).colwise().mean();
        break;
      case ProbeFeature::frame:
        out.features.middleRows(c * frames, frames) = t.image_frames.middleRows(c * frames, frames);
        break;
      case ProbeFeature::audio_frame:
        for (Index f = 0; f < frames; ++f) {
          out.features.row(c * frames + f) << t.audio.row(c), t.image_frames.row(c * frames + f);
        }
        break;
    }
    for (Index r = 0; r < (per_frame ? frames : 1); ++r) {
      out.labels.push_back(label);
      out.row_clip.push_back(c);
    }
  }
  return out;
}

}  // namespace detail

/// The probes of the headroom table (A, I, I clip mean, AI), each with its weight decay chosen on
/// the validation clips. `fit`/`validation`: the student's fit and held-out clips with their
/// teacher embeddings; `test`: the test clips.
inline std::vector<ProbeResult> headroom_probes(const ccl::data::ClipSet& fit,
                                                const ClipTeachers& fit_teachers,
                                                const ccl::data::ClipSet& validation,
                                                const ClipTeachers& validation_teachers,
                                                const ccl::data::ClipSet& test,
                                                const ClipTeachers& test_teachers, Index classes,
                                                const ProbeOptions& o = {}) {
  using detail::ProbeFeature;
  struct Kind {
    const char* name;
    ProbeFeature feature;
    bool uses_audio;
  };
  const Kind kinds[] = {{"A", ProbeFeature::audio, true},
                        {"I (one frame)", ProbeFeature::frame, false},
                        {"I (clip mean)", ProbeFeature::clip_mean, false},
                        {"AI (one frame)", ProbeFeature::audio_frame, true}};
  const auto related = [&](Index clip) {
    return test.audio_kind[std::size_t(clip)] == ccl::data::AudioKind::matching;
  };
  std::vector<ProbeResult> out;
  for (const Kind& kind : kinds) {
    const auto fit_rows = detail::probe_rows(kind.feature, fit, fit_teachers);
    const auto val_rows = detail::probe_rows(kind.feature, validation, validation_teachers);
    const auto test_rows = detail::probe_rows(kind.feature, test, test_teachers);
    ProbeResult best;
    best.validation_top1 = -1;
    for (double wd : o.weight_decays) {
      detail::LinearProbe probe(fit_rows, classes, wd, o);
      const double v = probe.accuracy(val_rows);
      if (v > best.validation_top1) {  // the first (smallest) weight decay wins ties
        best.name = kind.name;
        best.weight_decay = wd;
        best.validation_top1 = v;
        best.test_top1 = probe.accuracy(test_rows);
        if (kind.uses_audio) best.related_test_top1 = probe.accuracy(test_rows, related);
        best.fit_rows = fit_rows.features.rows();
      }
    }
    out.push_back(best);
  }
  return out;
}

}  // namespace table1
