// One training step of the R(2+1)D student on the GPU (issue 7): forward of the device encoder
// (nn::encoders::r2plus1d<float, ccl::cuda>: cuDNN convolutions, batch norm, pooling) and of the
// student's Linear classifier, softmax cross-entropy, backward into every parameter, and an SGD
// update with the official hyper-parameters (momentum 0.9, weight decay 5e-4, method.md §5). The
// same step as bench_r2plus1d_step.cpp, with every tensor in device memory.
//
//   BM_official_step/B:{8,16}/tf32:{0,1}   the official student (14.4 M parameters with the
//                                          classifier) on [B, 3, 16, 112, 112] clips, 101 classes
//   BM_narrow_step/B:{16,128}/tf32:{0,1}   the Table 1 student (narrow widths, (1, 2, 2) stem
//                                          stride) on [B, 1, 8, 32, 32] clips, 10 classes
//
// bench/peer_r2plus1d.py --device cuda runs the identical networks and steps in PyTorch (cuDNN,
// torch.backends.cudnn.benchmark on); scripts/gpu-check.sh runs both and bench/gpu_table.py
// prints the ratios.
//
// Timing: CUDA events recorded on the stream around each whole step, read after the step has
// finished (Google Benchmark's manual time). Both sides read the loss back every step (ccl's
// CrossEntropy returns it as a host value), so neither runs ahead of the GPU. Counters:
// ms_per_step_median (what the table uses), wall_ms_per_step_median (host clock, the same steps),
// first_step_ms (cuDNN planning and workspaces included), clips_per_s, device_MiB (device memory
// in use after the warm-up step, inputs, activations, workspaces and momentum buffers included),
// parameters, tf32, loss (the last step's).
//
// TF32: Execution<cuda>::allow_tf32 for cuBLAS and cuDNN (tf32:1) or strict FP32 math (tf32:0).

#include "bench_support.hpp"

#include <ccl/cuda.hpp>

#include <ccl/core/rng.hpp>
#include <ccl/loss/cross_entropy.hpp>
#include <ccl/nn/encoders/r2plus1d.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/optim/sgd.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using ccl::cuda;
using ccl::Index;
namespace cb = ccl::bench;
namespace enc = ccl::nn::encoders;

using Encoder = enc::R2Plus1d<float, cuda>;
using Classifier = ccl::nn::Linear<float, cuda>;

struct StepShape {
  enc::R2Plus1dOptions options;
  Index frames, size, classes;
};

StepShape official_shape() { return {enc::R2Plus1dOptions::official(), 16, 112, 101}; }

StepShape narrow_shape() {
  auto o = enc::R2Plus1dOptions::narrow(1);
  o.stem_stride = {1, 2, 2};  // the Table 1 student: 1x8x32x32 clips (as bench_r2plus1d_step)
  return {o, 8, 32, 10};
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const auto mid = v.begin() + std::ptrdiff_t(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

double used_device_mib() {
  std::size_t free = 0, total = 0;
  CCL_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return double(total - free) / double(1 << 20);
}

/// Events around one step on the step's stream; elapsed milliseconds once it has finished.
class StepTimer {
 public:
  explicit StepTimer(cudaStream_t stream) : stream_(stream) {}
  void start() { start_.record(stream_); }
  double stop() {
    stop_.record(stream_);
    stop_.synchronize();
    return ccl::gpu::Event::elapsed_ms(start_, stop_);
  }

 private:
  cudaStream_t stream_ = nullptr;
  ccl::gpu::Event start_{cudaEventDefault}, stop_{cudaEventDefault};
};

void run_step(benchmark::State& state, const StepShape& shape) {
  const Index batch = state.range(0);
  ccl::Execution<cuda> execution;
  execution.allow_tf32 = state.range(1) != 0;
  const enc::R2Plus1dOptions& o = shape.options;

  try {
    const double used_before = used_device_mib();
    // The student of pipeline::Student: the encoder, then Linear(embedding -> classes), drawn
    // from one Rng in that order (as bench_r2plus1d_step.cpp's Student draws them).
    ccl::Rng rng(7);
    Encoder encoder = enc::r2plus1d<float, cuda>(o, rng);
    Classifier classifier(o.embedding_dim(), shape.classes, rng);
    encoder.set_training(true);
    Index parameters = 0;
    auto count = [&](ccl::Parameter<float, cuda>& p) {
      parameters += p.value.rows() * p.value.cols();
    };
    encoder.for_each_parameter(count);
    classifier.for_each_parameter(count);

    ccl::optim::Sgd<float, cuda> sgd;
    sgd.add_group(ccl::optim::SgdOptions::official())
        .add("encoder", encoder)
        .add("classifier", classifier);
    ccl::loss::CrossEntropy<float, cuda> ce;
    ccl::set_executions(execution, encoder, classifier, sgd, ce);

    // Inputs in [-1, 1) from bench_support's generator (the peer draws the same values).
    const Index per_clip = o.in_channels * shape.frames * shape.size * shape.size;
    const ccl::RowMatrix<float> values = cb::uniform_matrix(batch, per_clip, 11);
    const ccl::nn::Tensor<float, 5> host_clips(
        {batch, o.in_channels, shape.frames, shape.size, shape.size}, values.data());
    ccl::nn::Tensor<float, 5, cuda> clips;
    ccl::gpu::copy(host_clips, clips, execution.stream);
    std::vector<std::int64_t> labels(static_cast<std::size_t>(batch));
    for (Index i = 0; i < batch; ++i) labels[std::size_t(i)] = i % shape.classes;
    ccl::gpu::DeviceMatrix<float> grad_logits(batch, shape.classes);
    ccl::nn::Tensor<float, 2, cuda> grad_embedding({batch, o.embedding_dim()});

    float loss = 0;
    auto step = [&] {
      sgd.zero_grad();
      const auto& embedding = encoder.forward(clips);
      const auto& logits = classifier.forward(embedding.view());
      grad_logits.zero(execution.stream);
      loss = ce.accumulate(logits.view(), labels, 1.0f, grad_logits.mutable_view());
      // The classification step has no embedding loss: dL/dx_v comes from the classifier alone.
      grad_embedding.set_zero(execution.stream);
      classifier.backward(grad_logits.view(), grad_embedding.mutable_view());
      encoder.backward(grad_embedding);
      sgd.step();
    };
    StepTimer timer(execution.stream);
    timer.start();
    step();  // warm-up: cuDNN plans, workspaces, momentum buffers
    const double first_ms = timer.stop();
    step();
    CCL_CUDA_CHECK(cudaStreamSynchronize(execution.stream));
    const double device_mib = used_device_mib() - used_before;

    std::vector<double> event_ms, wall_ms;
    for (auto _ : state) {
      const auto wall0 = std::chrono::steady_clock::now();
      timer.start();
      step();
      const double ms = timer.stop();
      wall_ms.push_back(
          1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count());
      event_ms.push_back(ms);
      benchmark::DoNotOptimize(loss);
      state.SetIterationTime(1e-3 * ms);
    }
    const double med = median(event_ms);
    state.counters["ms_per_step_median"] = med;
    state.counters["wall_ms_per_step_median"] = median(wall_ms);
    state.counters["first_step_ms"] = first_ms;
    state.counters["clips_per_s"] = med > 0 ? 1e3 * double(batch) / med : 0.0;
    state.counters["device_MiB"] = device_mib;
    state.counters["parameters"] = double(parameters);
    state.counters["batch"] = double(batch);
    state.counters["tf32"] = execution.allow_tf32 ? 1 : 0;
    state.counters["loss"] = loss;
    state.SetLabel(ccl::gpu::device_name(0));
  } catch (const std::exception& e) {
    // Out of device memory (or any CUDA error) ends this configuration, not the program.
    (void)cudaGetLastError();
    state.SkipWithError(e.what());
  }
}

void BM_official_step(benchmark::State& state) { run_step(state, official_shape()); }
void BM_narrow_step(benchmark::State& state) { run_step(state, narrow_shape()); }

}  // namespace

// Fixed iteration counts: Google Benchmark then calls each function once, so the network is
// built and warmed up once per configuration (a min-time run would rebuild it per probe), and the
// whole program takes a predictable few seconds on an H100-class GPU.
BENCHMARK(BM_official_step)
    ->ArgNames({"B", "tf32"})
    ->ArgsProduct({{8, 16}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime()
    ->Iterations(10);
BENCHMARK(BM_narrow_step)
    ->ArgNames({"B", "tf32"})
    ->ArgsProduct({{16, 128}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime()
    ->Iterations(30);

int main(int argc, char** argv) {
  bool listing = false;  // --benchmark_list_tests needs no device
  for (int i = 1; i < argc; ++i) listing |= std::string(argv[i]).rfind("--benchmark_list", 0) == 0;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const auto status = ccl::gpu::device_status();
  if (!status.available() && !listing) {
    std::printf("SKIPPED: %s\n", status.describe().c_str());
    return 77;
  }
  if (!listing) benchmark::AddCustomContext("device", ccl::gpu::device_name(0));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
