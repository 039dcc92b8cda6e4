// The pipeline on the CUDA backend: the same Student / teacher::Precomputed / compose::Residual /
// CclObjective / Pipeline / Trainer templates with Backend = ccl::cuda, compared step for step
// with the CPU pipeline (which tests/test_pipeline.cpp checks against finite differences of the
// objectives written out term by term). Both pipelines are built from the same seed, so their
// initial parameters are identical (device modules draw their weights on the host with the CPU
// rules). Tolerances, relative to the largest entry of each gradient: double 1e-10, objective
// values 1e-10 relative.

#include <ccl/cuda.hpp>

#include <ccl/compose/residual.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/io/checkpoint.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/optim/sgd.hpp>
#include <ccl/pipeline/bind.hpp>
#include <ccl/pipeline/ccl_objective.hpp>
#include <ccl/pipeline/pipeline.hpp>
#include <ccl/pipeline/teacher.hpp>
#include <ccl/pipeline/trainer.hpp>

#include "support.cuh"

#include <catch2/catch.hpp>

#include <cstdint>
#include <tuple>
#include <type_traits>
#include <vector>

using ccl::Index;
using ccl::RowMatrix;
using namespace ccl::pipeline;

namespace {

constexpr Index batch = 8, in = 5, dim = 4, classes = 3;

template <class Backend>
using Encoder = ccl::nn::Linear<double, Backend>;
template <class Backend>
using Head = ccl::compose::Residual<double, Backend>;

// The same architecture for both backends: a Linear encoder, one audio branch with the
// official CCL objective and missing-audio masking. The types are stated once, by Bind.
template <class Backend>
auto make_ccl_pipeline(std::uint64_t seed) {
  using P = Bind<double, Backend>;
  ccl::Rng rng(seed);
  auto student = P::student(Encoder<Backend>(in, dim, rng), dim, classes, rng);
  CclObjectiveOptions options;
  options.temperature = 0.5;
  auto head = P::template make<ccl::compose::Residual>(dim, dim, classes, rng);
  static_assert(std::is_same_v<decltype(head), Head<Backend>>);
  return make_pipeline(
      std::move(student),
      branch<ccl::Audio>(P::template make<teacher::Precomputed>(dim), std::move(head),
                         P::template make<CclObjective>(options)));
}

using DevicePipeline = decltype(make_ccl_pipeline<ccl::cuda>(1));
using DeviceView = ccl::EmbeddingView<const double, ccl::cuda>;

struct Inputs {
  RowMatrix<double> x = ccl::testing::random_matrix<double>(batch, in, 11);
  RowMatrix<double> audio = ccl::testing::random_matrix<double>(batch, dim, 12);
  std::vector<std::int64_t> y{0, 1, 2, 0, 1, 2, 0, 1};
  Inputs() { audio.row(3).setZero(); }  // a clip without audio: masked out of the branch
};

}  // namespace

TEST_CASE("a device pipeline instantiates: every backend boundary type-checks",
          "[host][cuda][pipeline]") {
  static_assert(std::is_same_v<DevicePipeline::Backend, ccl::cuda>);
  static_assert(
      std::is_same_v<ccl::backend_matrix_t<float, ccl::cuda>, ccl::gpu::DeviceMatrix<float>>);
  // Taking the addresses forces the member templates to be instantiated (compiled and linked)
  // without running them, which needs a device.
  auto step = &DevicePipeline::step<DeviceView, DeviceView>;
  auto predict = &DevicePipeline::predict<DeviceView>;
  auto set_execution = &DevicePipeline::set_execution;
  CHECK(step != nullptr);
  CHECK(predict != nullptr);
  CHECK(set_execution != nullptr);
  SUCCEED(
      "Pipeline<Student<Linear<double, cuda>>, Branch<Audio, Precomputed<cuda>, "
      "Residual<cuda>, CclObjective<cuda>>> compiles");
}

TEST_CASE("one CCL step on the GPU equals the CPU step: objectives and every gradient",
          "[gpu][cuda][pipeline]") {
  CCL_REQUIRE_CUDA_DEVICE();
  // Also on a non-blocking stream of its own: a part left on the default stream would race it.
  const bool own_stream = GENERATE(false, true);
  INFO((own_stream ? "on a non-blocking stream" : "on the default stream"));
  const Inputs data;
  ccl::gpu::Stream stream;
  auto host = make_ccl_pipeline<ccl::cpu>(5);
  auto device = make_ccl_pipeline<ccl::cuda>(5);
  if (own_stream) device.set_execution({stream.get()});
  const cudaStream_t s = device.execution().stream;
  const auto x = ccl::gpu::to_device(data.x, s);
  const auto audio = ccl::gpu::to_device(data.audio, s);

  host.zero_grad();
  device.zero_grad();
  const auto h = host.step(data.x, data.y, data.audio);
  const auto d = device.step(x.view(), data.y, audio.view());

  CHECK(double(d.student_ce) == Approx(double(h.student_ce)).epsilon(1e-10));
  CHECK(double(d.student_objective) == Approx(double(h.student_objective)).epsilon(1e-10));
  REQUIRE(d.branches.size() == 1);
  CHECK(d.branches[0].rows == h.branches[0].rows);
  CHECK(d.branches[0].rows == batch - 1);
  CHECK(double(d.branches[0].head_total) ==
        Approx(double(h.branches[0].head_total)).epsilon(1e-10));

  std::vector<RowMatrix<double>> host_grads, device_grads;
  std::vector<std::string> names;
  auto take_host = [&](ccl::Parameter<double, ccl::cpu>& p) { host_grads.push_back(p.grad); };
  auto take_device = [&](ccl::Parameter<double, ccl::cuda>& p) {
    device_grads.push_back(ccl::gpu::to_host(p.grad, s));
    names.push_back(p.name);
  };
  host.for_each_student_parameter(take_host);
  host.for_each_head_parameter(take_host);
  device.for_each_student_parameter(take_device);
  device.for_each_head_parameter(take_device);
  REQUIRE(host_grads.size() == device_grads.size());
  for (std::size_t k = 0; k < host_grads.size(); ++k) {
    INFO("parameter " << names[k]);
    CHECK(ccl::testing::scaled_max_error(device_grads[k], host_grads[k], 1e-300) < 1e-10);
  }
}

namespace {

// A device dataset for the Trainer: batches are uploaded by load(), as a user's would be.
struct DeviceSet {
  RowMatrix<double> x, audio;
  std::vector<std::int64_t> y;
  struct Batch {
    ccl::gpu::DeviceMatrix<double> x_device, audio_device;
    DeviceView input;
    std::vector<std::int64_t> labels;
    std::tuple<DeviceView> teacher_inputs;
  };
  Index size() const { return x.rows(); }
  Batch load(const std::vector<Index>& indices) const {
    RowMatrix<double> xb(Index(indices.size()), x.cols()), ab(Index(indices.size()), audio.cols());
    Batch b;
    for (std::size_t r = 0; r < indices.size(); ++r) {
      xb.row(Index(r)) = x.row(indices[r]);
      ab.row(Index(r)) = audio.row(indices[r]);
      b.labels.push_back(y[std::size_t(indices[r])]);
    }
    b.x_device = ccl::gpu::to_device(xb);
    b.audio_device = ccl::gpu::to_device(ab);
    b.input = b.x_device.view();
    b.teacher_inputs = std::make_tuple(DeviceView(b.audio_device.view()));
    return b;
  }
};

}  // namespace

TEST_CASE("the Trainer runs a device pipeline and its checkpoint restores the device model",
          "[gpu][cuda][pipeline][trainer]") {
  CCL_REQUIRE_CUDA_DEVICE();
  DeviceSet set;
  set.x = ccl::testing::random_matrix<double>(24, in, 21);
  set.audio = ccl::testing::random_matrix<double>(24, dim, 22);
  for (Index i = 0; i < 24; ++i) set.y.push_back(i % classes);

  auto pipeline = make_ccl_pipeline<ccl::cuda>(9);
  ccl::optim::Sgd<double, ccl::cuda> sgd;
  auto group = sgd.add_group(ccl::optim::SgdOptions{});
  pipeline.for_each_trainable_module(
      [&](const std::string& name, auto& module) { group.add(name, module); });
  TrainerOptions options;
  options.epochs = 2;
  options.batch_size = 8;
  options.progress = ProgressStyle::none;
  Trainer trainer(pipeline, sgd, options);
  const auto reports = trainer.fit(set, &set);
  REQUIRE(reports.size() == 2);
  CHECK(std::isfinite(reports.back().loss));
  CHECK(reports.back().eval.samples == 24);

  // Save, disturb, restore: the device parameters come back exactly.
  const auto bytes = trainer.checkpoint().to_bytes();
  std::vector<RowMatrix<double>> before;
  pipeline.for_each_student_parameter(
      [&](ccl::Parameter<double, ccl::cuda>& p) { before.push_back(ccl::gpu::to_host(p.value)); });
  pipeline.for_each_student_parameter(
      [&](ccl::Parameter<double, ccl::cuda>& p) { p.value.zero(); });
  trainer.checkpoint().from_bytes(bytes);
  std::size_t k = 0;
  pipeline.for_each_student_parameter([&](ccl::Parameter<double, ccl::cuda>& p) {
    CHECK(ccl::testing::scaled_max_error(ccl::gpu::to_host(p.value), before[k++], 1e-300) == 0);
  });
}
