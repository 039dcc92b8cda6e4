#pragma once
// A small CCL pipeline for the distributed equality tests: a conv student on [N, 1, T, H, W]
// clips (Conv3d -> synchronised BatchNorm3d -> ReLU -> global average pool -> linear
// classifier), one precomputed audio teacher, a residual composition head and the CCL objective
// evaluated on the global batch. Double throughout, so equalities can be asserted to 1e-10.

#include <ccl/compose/residual.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/dist/global_objective.hpp>
#include <ccl/dist/sync_batch_norm_layer.hpp>
#include <ccl/modality/modality.hpp>
#include <ccl/nn/conv.hpp>
#include <ccl/nn/pooling.hpp>
#include <ccl/nn/relu.hpp>
#include <ccl/nn/sequential.hpp>
#include <ccl/nn/tensor.hpp>
#include <ccl/optim/sgd.hpp>
#include <ccl/pipeline/ccl_objective.hpp>
#include <ccl/pipeline/optimizer_groups.hpp>
#include <ccl/pipeline/pipeline.hpp>
#include <ccl/pipeline/teacher.hpp>

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace dist_fixture {

using ccl::Index;
using Matrix = ccl::RowMatrix<double>;
using Clip = ccl::nn::Tensor<double, 5>;
constexpr Index kT = 2, kH = 4, kW = 4, kClip = kT * kH * kW, kTeacherDim = 6, kClasses = 3,
                kWidth = 6;  // the student embedding: as wide as the teacher's (NCE(x_v, x_t))

/// Three classes of 1 x 2 x 4 x 4 clips: a class pattern plus noise; the teacher's embeddings are
/// class prototypes plus noise.
struct ClipSet {
  Clip clips;
  Matrix teacher;
  std::vector<std::int64_t> labels;

  struct Batch {
    Clip input;
    std::vector<std::int64_t> labels;
    std::tuple<Matrix> teacher_inputs;
  };

  ClipSet(Index n, std::uint64_t seed)
      : clips({n, 1, kT, kH, kW}), teacher(n, kTeacherDim), labels(std::size_t(n)) {
    ccl::Rng rng(seed), prototypes(77);
    Matrix patterns(kClasses, kClip), embeddings(kClasses, kTeacherDim);
    prototypes.fill_normal(patterns);
    prototypes.fill_normal(embeddings);
    for (Index i = 0; i < n; ++i) {
      const Index y = rng.index(kClasses);
      labels[std::size_t(i)] = y;
      for (Index k = 0; k < kClip; ++k)
        clips.data()[i * kClip + k] = patterns(y, k) + rng.normal(0.0, 0.8);
      for (Index k = 0; k < kTeacherDim; ++k)
        teacher(i, k) = embeddings(y, k) + rng.normal(0.0, 0.1);
    }
  }

  Index size() const { return Index(labels.size()); }

  Batch load(const std::vector<Index>& indices) const {
    const Index b = Index(indices.size());
    Batch batch{Clip({b, 1, kT, kH, kW}), {}, {Matrix(b, kTeacherDim)}};
    for (Index r = 0; r < b; ++r) {
      const Index i = indices[std::size_t(r)];
      std::copy(clips.data() + i * kClip, clips.data() + (i + 1) * kClip,
                batch.input.data() + r * kClip);
      std::get<0>(batch.teacher_inputs).row(r) = teacher.row(i);
      batch.labels.push_back(labels[std::size_t(i)]);
    }
    return batch;
  }
};

template <class Comm>
auto make_encoder(Comm& comm, ccl::Rng& rng) {
  namespace nn = ccl::nn;
  return nn::sequential(
      nn::Conv3d<double>(nn::ConvOptions<3>(1, kWidth, 3).padding(1).bias(false), rng),
      ccl::dist::SyncBatchNorm3d<double, Comm>(comm, kWidth), nn::ReLU<double, 5>{},
      nn::GlobalAvgPool<double, 3>{});
}

/// The same weights on every rank and for every communicator (one seed).
template <class Comm>
auto make_pipeline(Comm& comm, std::uint64_t seed = 5) {
  using namespace ccl::pipeline;
  ccl::Rng rng(seed);
  auto encoder = make_encoder(comm, rng);
  Student<decltype(encoder), double> student(std::move(encoder), kWidth, kClasses, rng);
  ccl::compose::Residual<double> head(kTeacherDim, kWidth, kClasses, rng);
  return ccl::pipeline::make_pipeline(
      std::move(student),
      branch<ccl::Audio>(teacher::Precomputed<double>(kTeacherDim), std::move(head),
                         ccl::dist::global_objective(comm, CclObjective<double>())));
}

template <class Pipeline>
void add_groups(ccl::optim::Sgd<double>& sgd, Pipeline& pipeline, double lr = 0.1) {
  ccl::optim::SgdOptions options = ccl::optim::SgdOptions::official();
  options.lr = lr;
  ccl::pipeline::add_optimizer_groups(sgd, pipeline, options, options);
}

/// Every parameter value, then the batch-norm running statistics, concatenated.
template <class Pipeline>
std::vector<double> flatten(Pipeline& pipeline) {
  std::vector<double> flat;
  auto add = [&](const Matrix& m) { flat.insert(flat.end(), m.data(), m.data() + m.size()); };
  pipeline.for_each_student_parameter([&](ccl::Parameter<double>& p) { add(p.value); });
  pipeline.for_each_head_parameter([&](ccl::Parameter<double>& p) { add(p.value); });
  pipeline.student().for_each_buffer([&](const std::string&, Matrix& value) { add(value); });
  return flat;
}

inline double largest_difference(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return 1e300;
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

}  // namespace dist_fixture
