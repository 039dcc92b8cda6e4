// The Table 1 baseline objectives (PKT, RKD, IFD, FitNet, COR, CRD, CMC) on the CUDA backend: the
// same objective templates with Backend = ccl::cuda inside a device pipeline, compared step for
// step with the CPU pipeline (which tests/test_pipeline_baselines.cpp checks against the losses
// written out by hand). Both pipelines are built from one seed, so the student, the regressor and
// the embedding heads start identical (device modules draw their weights on the host with the CPU
// rules); CRD and CMC draw their negatives on the host with the CPU's sampler from the same
// generator, so both backends contrast against identical negatives. Tolerance: double, 1e-9
// relative to the largest entry of each gradient / to each objective value.

#include <ccl/cuda.hpp>

#include <ccl/core/rng.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/pipeline/baseline_objectives.hpp>
#include <ccl/pipeline/pipeline.hpp>
#include <ccl/pipeline/teacher.hpp>

#include "support.cuh"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

using ccl::Index;
using ccl::RowMatrix;
using namespace ccl::pipeline;
namespace objectives = ccl::pipeline::objectives;

namespace {

constexpr Index batch = 8, in = 5, dim = 4, teacher_dim = 6, classes = 3, dataset = 24,
                embed = 4;
constexpr double tolerance = 1e-9;

template <class Backend>
using Encoder = ccl::nn::Linear<double, Backend>;

std::vector<std::int64_t> dataset_labels() {
  std::vector<std::int64_t> labels;
  for (Index i = 0; i < dataset; ++i) labels.push_back(i % classes);
  return labels;
}

ccl::loss::baselines::MemoryContrastOptions small_banks() {
  ccl::loss::baselines::MemoryContrastOptions options;
  options.negatives = 5;  // fewer than the 16 samples of the other classes
  return options;
}

// One factory per objective: make<Backend>(rng) builds it on either backend from the same draws.
struct Pkt {
  static constexpr const char* name = "PKT";
  static constexpr Index tdim = dim;
  template <class B>
  static auto make(ccl::Rng&) { return objectives::PktObjective<double, B>(); }
};
struct Rkd {
  static constexpr const char* name = "RKD";
  static constexpr Index tdim = dim;
  template <class B>
  static auto make(ccl::Rng&) { return objectives::RkdObjective<double, B>(); }
};
struct Ifd {
  static constexpr const char* name = "IFD";
  static constexpr Index tdim = dim;
  template <class B>
  static auto make(ccl::Rng&) { return objectives::IfdObjective<double, B>(); }
};
#if defined(CCL_CUDA_HAS_CUDNN)  // the device BatchNorm of the regressor is a cuDNN layer
struct FitNet {
  static constexpr const char* name = "FitNet";
  static constexpr Index tdim = teacher_dim;
  template <class B>
  static auto make(ccl::Rng& rng) {
    return objectives::FitNetObjective<double, B>(dim, teacher_dim, rng);
  }
};
#endif
struct Cor {
  static constexpr const char* name = "COR";
  static constexpr Index tdim = teacher_dim;
  template <class B>
  static auto make(ccl::Rng& rng) {
    return objectives::CorObjective<double, B>(dim, teacher_dim, rng, 0.02, embed);
  }
};
struct Crd {
  static constexpr const char* name = "CRD";
  static constexpr Index tdim = teacher_dim;
  template <class B>
  static auto make(ccl::Rng& rng) {
    objectives::CrdObjectiveOptions options;
    options.embed_dim = embed;
    static_cast<ccl::loss::baselines::MemoryContrastOptions&>(options.loss) = small_banks();
    const auto labels = dataset_labels();
    return objectives::CrdObjective<double, B>(dim, teacher_dim, ccl::LabelView(labels), rng,
                                               options);
  }
};
struct Cmc {
  static constexpr const char* name = "CMC";
  static constexpr Index tdim = teacher_dim;
  template <class B>
  static auto make(ccl::Rng& rng) {
    objectives::CmcObjectiveOptions options;
    options.embed_dim = embed;
    static_cast<ccl::loss::baselines::MemoryContrastOptions&>(options.loss) = small_banks();
    return objectives::CmcObjective<double, B>(dim, teacher_dim, dataset, rng, options);
  }
};

// A Linear student and one audio branch with the baseline objective (missing audio masked).
template <class Backend, class Factory>
auto make_baseline_pipeline(std::uint64_t seed) {
  ccl::Rng rng(seed);
  Student<Encoder<Backend>, double, Backend> student(Encoder<Backend>(in, dim, rng), dim, classes,
                                                     rng);
  auto objective = Factory::template make<Backend>(rng);
  return make_pipeline(std::move(student),
                       branch<ccl::Audio>(teacher::Precomputed<double, Backend>(Factory::tdim),
                                          NoComposition<double>{}, std::move(objective)));
}

template <class Factory>
using DevicePipeline = decltype(make_baseline_pipeline<ccl::cuda, Factory>(1));
using DeviceView = ccl::EmbeddingView<const double, ccl::cuda>;

template <class Factory>
bool instantiate() {
  using P = DevicePipeline<Factory>;
  static_assert(std::is_same_v<typename P::Backend, ccl::cuda>);
  auto step = &P::template step<DeviceView, DeviceView>;
  // ... and set_execution reaches every part (it does not compile for a part without one).
  auto set_execution = &P::set_execution;
  return step != nullptr && set_execution != nullptr;
}

template <class Factory>
void compare_one_step() {
  INFO("objective " << Factory::name);
  RowMatrix<double> x = ccl::testing::random_matrix<double>(batch, in, 11);
  RowMatrix<double> audio = ccl::testing::random_matrix<double>(batch, Factory::tdim, 12);
  audio = audio.cwiseAbs();  // non-negative teacher features, like the real ones
  audio.row(3).setZero();    // a clip without audio: masked out of the branch
  const std::vector<std::int64_t> y{0, 1, 2, 0, 1, 2, 0, 1};
  // Dataset indices whose labels (i % 3) are y: CRD checks them.
  const std::vector<Index> indices{3, 7, 11, 15, 19, 23, 0, 4};

  auto host = make_baseline_pipeline<ccl::cpu, Factory>(5);
  auto device = make_baseline_pipeline<ccl::cuda, Factory>(5);
  const auto x_device = ccl::gpu::to_device(x);
  const auto audio_device = ccl::gpu::to_device(audio);

  host.zero_grad();
  device.zero_grad();
  host.set_batch_indices(indices);
  device.set_batch_indices(indices);
  const auto h = host.step(x, y, audio);
  const auto d = device.step(x_device.view(), y, audio_device.view());

  CHECK(double(d.student_ce) == Approx(double(h.student_ce)).epsilon(tolerance));
  CHECK(double(d.student_objective) == Approx(double(h.student_objective)).epsilon(tolerance));
  REQUIRE(d.branches.size() == 1);
  CHECK(d.branches[0].rows == batch - 1);
  CHECK(d.branches[0].rows == h.branches[0].rows);
  CHECK(double(d.branches[0].student_total) ==
        Approx(double(h.branches[0].student_total)).epsilon(tolerance));
  CHECK(double(d.branches[0].head_total) ==
        Approx(double(h.branches[0].head_total)).epsilon(tolerance));

  std::vector<RowMatrix<double>> host_grads, device_grads;
  std::vector<std::string> names;
  auto take_host = [&](ccl::Parameter<double, ccl::cpu>& p) { host_grads.push_back(p.grad); };
  auto take_device = [&](ccl::Parameter<double, ccl::cuda>& p) {
    device_grads.push_back(ccl::gpu::to_host(p.grad));
    names.push_back(p.name);
  };
  host.for_each_student_parameter(take_host);
  host.for_each_head_parameter(take_host);
  device.for_each_student_parameter(take_device);
  device.for_each_head_parameter(take_device);
  REQUIRE(host_grads.size() == device_grads.size());
  // A gradient that is exactly zero in exact arithmetic (the bias of a Linear layer followed by
  // a training-mode BatchNorm, which subtracts the batch mean: FitNet's regressor) is a rounding
  // residue on both backends, ~1e-17; comparing two residues relative to each other is
  // meaningless. Such gradients must instead be residues on both, relative to the step's
  // largest gradient.
  double largest = 0;
  for (const auto& g : host_grads) largest = std::max(largest, double(g.cwiseAbs().maxCoeff()));
  for (std::size_t k = 0; k < host_grads.size(); ++k) {
    INFO("parameter " << names[k]);
    const double host_size = double(host_grads[k].cwiseAbs().maxCoeff());
    if (host_size <= 1e-12 * largest) {
      CHECK(double(device_grads[k].cwiseAbs().maxCoeff()) <= 1e-12 * largest);
      continue;
    }
    CHECK(ccl::testing::scaled_max_error(device_grads[k], host_grads[k], 1e-300) < tolerance);
  }
}

// After one step the banks hold the momentum update at the rows' indices: equal on both backends.
template <class Factory>
void compare_banks_after_step() {
  INFO("objective " << Factory::name);
  RowMatrix<double> x = ccl::testing::random_matrix<double>(batch, in, 21);
  RowMatrix<double> audio = ccl::testing::random_matrix<double>(batch, Factory::tdim, 22);
  const std::vector<std::int64_t> y{0, 1, 2, 0, 1, 2, 0, 1};
  const std::vector<Index> indices{3, 7, 11, 15, 19, 23, 0, 4};
  auto host = make_baseline_pipeline<ccl::cpu, Factory>(8);
  auto device = make_baseline_pipeline<ccl::cuda, Factory>(8);
  const auto x_device = ccl::gpu::to_device(x);
  const auto audio_device = ccl::gpu::to_device(audio);
  host.set_batch_indices(indices);
  device.set_batch_indices(indices);
  host.step(x, y, audio);
  device.step(x_device.view(), y, audio_device.view());
  auto& h = host.template branch<0>().objective;
  auto& d = device.template branch<0>().objective;
  CHECK(ccl::testing::scaled_max_error(ccl::gpu::to_host(d.loss().memory_student()),
                                       h.loss().memory_student(), 1e-300) < tolerance);
  CHECK(ccl::testing::scaled_max_error(ccl::gpu::to_host(d.loss().memory_teacher()),
                                       h.loss().memory_teacher(), 1e-300) < tolerance);
  CHECK(d.loss().z_student() == Approx(h.loss().z_student()).epsilon(tolerance));
  CHECK(d.loss().z_teacher() == Approx(h.loss().z_teacher()).epsilon(tolerance));
  CHECK(d.loss().rng().state() == h.loss().rng().state());  // the same negatives were drawn
}

template <class Objective>
void visit_buffers(Objective& objective) {
  objective.for_each_buffer([](const std::string&, auto&) {});
}

}  // namespace

TEST_CASE("every baseline objective instantiates inside a device pipeline",
          "[host][cuda][pipeline][baselines]") {
  // Taking the address of step<...> compiles and links every member it reaches (the objective's
  // accumulate, heads, losses, workspaces) without running anything, which needs a device.
  CHECK(instantiate<Pkt>());
  CHECK(instantiate<Rkd>());
  CHECK(instantiate<Ifd>());
#if defined(CCL_CUDA_HAS_CUDNN)
  CHECK(instantiate<FitNet>());
#endif
  CHECK(instantiate<Cor>());
  CHECK(instantiate<Crd>());
  CHECK(instantiate<Cmc>());
  static_assert(std::is_same_v<objectives::CrdObjective<double, ccl::cuda>::backend_type,
                               ccl::cuda>);
  static_assert(std::is_same_v<objectives::PktObjective<double>::backend_type, ccl::cpu>);
  // Checkpoints visit device banks and host state alike: for_each_buffer must compile.
  auto crd_buffers = &visit_buffers<objectives::CrdObjective<double, ccl::cuda>>;
  auto cmc_buffers = &visit_buffers<objectives::CmcObjective<double, ccl::cuda>>;
  CHECK(crd_buffers != nullptr);
  CHECK(cmc_buffers != nullptr);
}

TEST_CASE("one baseline step on the GPU equals the CPU step: PKT, RKD, IFD",
          "[gpu][cuda][pipeline][baselines]") {
  CCL_REQUIRE_CUDA_DEVICE();
  compare_one_step<Pkt>();
  compare_one_step<Rkd>();
  compare_one_step<Ifd>();
}

#if defined(CCL_CUDA_HAS_CUDNN)
TEST_CASE("one FitNet step on the GPU equals the CPU step (regressor gradients included)",
          "[gpu][cuda][pipeline][baselines]") {
  CCL_REQUIRE_CUDA_DEVICE();
  compare_one_step<FitNet>();
}
#endif

TEST_CASE("one COR step on the GPU equals the CPU step (both heads' gradients)",
          "[gpu][cuda][pipeline][baselines]") {
  CCL_REQUIRE_CUDA_DEVICE();
  compare_one_step<Cor>();
}

TEST_CASE("one CRD / CMC step on the GPU equals the CPU step: gradients and memory banks",
          "[gpu][cuda][pipeline][baselines]") {
  CCL_REQUIRE_CUDA_DEVICE();
  compare_one_step<Crd>();
  compare_one_step<Cmc>();
  compare_banks_after_step<Crd>();
  compare_banks_after_step<Cmc>();
}
