// One training step of the narrow R(2+1)D student (issue 3): forward of the encoder (the Table 1
// configuration: R2Plus1dOptions::narrow(1) with a (1, 2, 2) stem stride) and of its Linear(64 ->
// 10) classifier, softmax cross-entropy, backward into every parameter, and an SGD update with the
// official hyper-parameters (momentum 0.9, weight decay 5e-4, method.md §5), on a batch of 16
// clips [16, 1, 8, 32, 32]. bench/peer_r2plus1d.py runs the identical network and step in PyTorch;
// scripts/bench-r2plus1d.sh runs both and prints the ratio.
//
// Counters: ms_per_step (wall, mean), cpu_ms_per_step (process CPU time over all threads, mean: on
// a shared machine the wall time depends on what else runs, the CPU time much less), their
// medians (*_median, what the peer reports), clips_per_s, parameters (encoder + classifier),
// threads, and the last step's loss.
//
// BM_official_step: the official-width student (widths 64..512, 3x7x7 stem, Linear(512 -> 101))
// on the official clip size, [2, 3, 16, 112, 112]; peer_r2plus1d.py --student official --batch 2
// runs the same step in PyTorch.
//
// BM_conv3d: single Conv3d layers of both students, forward + backward, with their GEMM rate
// (GFLOP_per_s) for the share of the machine's peak (bench_peak_fma).
//
// Threads: OpenMP's default (all cores), or CCL_THREADS=n (ccl::set_num_threads).

#include "bench_support.hpp"

#include <ccl/core/parallel.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/loss/cross_entropy.hpp>
#include <ccl/nn/conv.hpp>
#include <ccl/nn/encoders/r2plus1d.hpp>
#include <ccl/optim/sgd.hpp>
#include <ccl/pipeline/student.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <vector>

namespace {

using ccl::Index;
namespace cb = ccl::bench;
namespace enc = ccl::nn::encoders;

enc::R2Plus1dOptions narrow_options() {
  auto o = enc::R2Plus1dOptions::narrow(1);
  o.stem_stride = {1, 2, 2};  // the Table 1 student: 1x8x32x32 clips
  return o;
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

Index count_parameters(ccl::pipeline::Student<enc::R2Plus1d<float>, float>& student,
                       Index* encoder_only) {
  Index total = 0;
  student.encoder().for_each_parameter(
      [&](ccl::Parameter<float>& p) { total += Index(p.value.size()); });
  *encoder_only = total;
  student.classifier().for_each_parameter(
      [&](ccl::Parameter<float>& p) { total += Index(p.value.size()); });
  return total;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const auto mid = v.begin() + std::ptrdiff_t(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

/// The step on `batch` clips of shape [channels, frames, size, size].
void run_step(benchmark::State& state, const enc::R2Plus1dOptions& o, Index classes, Index batch,
              Index frames, Index size) {
  ccl::Rng rng(7);
  using Student = ccl::pipeline::Student<enc::R2Plus1d<float>, float>;
  Student student(enc::r2plus1d<float>(o, rng), o.embedding_dim(), classes, rng);
  student.set_training(true);
  Index encoder_parameters = 0;
  const Index parameters = count_parameters(student, &encoder_parameters);

  ccl::optim::Sgd<float> sgd;
  sgd.add_group(ccl::optim::SgdOptions::official()).add("student", student);
  ccl::loss::CrossEntropy<float> ce;

  // Inputs in [-1, 1) from bench_support's generator (the peer draws the same values).
  const Index per_clip = o.in_channels * frames * size * size;
  const ccl::RowMatrix<float> values = cb::uniform_matrix(batch, per_clip, 11);
  ccl::nn::Tensor<float, 5> clips({batch, o.in_channels, frames, size, size}, values.data());
  std::vector<std::int64_t> labels(static_cast<std::size_t>(batch));
  for (Index i = 0; i < batch; ++i) labels[static_cast<std::size_t>(i)] = i % classes;
  ccl::RowMatrix<float> grad_logits(batch, classes);
  ccl::RowMatrix<float> grad_embedding = ccl::RowMatrix<float>::Zero(batch, o.embedding_dim());

  float loss = 0;
  auto step = [&] {
    sgd.zero_grad();
    const auto out = student.forward(clips);
    grad_logits.setZero();
    loss = ce.accumulate(out.logits, labels, 1.0f, ccl::mutable_view(grad_logits));
    student.backward(ccl::view(grad_embedding), ccl::view(grad_logits));
    sgd.step();
  };
  step();  // warm-up: workspaces and momentum buffers

  double cpu = 0;
  std::vector<double> wall_ms, cpu_ms;
  for (auto _ : state) {
    const double cpu0 = process_cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    step();
    benchmark::DoNotOptimize(loss);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double step_cpu = process_cpu_seconds() - cpu0;
    cpu += step_cpu;
    wall_ms.push_back(1e3 * wall);
    cpu_ms.push_back(1e3 * step_cpu);
    state.SetIterationTime(wall);
  }
  const double steps = double(state.iterations());
  state.counters["cpu_ms_per_step"] = 1e3 * cpu / steps;
  state.counters["ms_per_step"] =
      benchmark::Counter(1e-3 * steps, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  // Medians, as the peer reports them: on a loaded machine a few disturbed steps move the mean.
  state.counters["ms_per_step_median"] = median(wall_ms);
  state.counters["cpu_ms_per_step_median"] = median(cpu_ms);
  state.counters["clips_per_s"] =
      benchmark::Counter(double(batch) * steps, benchmark::Counter::kIsRate);
  state.counters["parameters"] = double(parameters);
  state.counters["encoder_parameters"] = double(encoder_parameters);
  state.counters["threads"] = ccl::num_threads();
  state.counters["loss"] = loss;
}

void BM_narrow_step(benchmark::State& state) { run_step(state, narrow_options(), 10, 16, 8, 32); }

void BM_official_step(benchmark::State& state) {
  run_step(state, enc::R2Plus1dOptions::official(), 101, 2, 16, 112);
}

/// One Conv3d layer, forward + backward (weight and input gradients), on its own: the GEMM-bound
/// part of the step, for the share-of-peak figures. GFLOP_per_s counts the three products
/// (2·Cout·Cin·k·P·N flops each); im2col/col2im and copies are in the time but not in the count.
void BM_conv3d(benchmark::State& state) {
  const Index cin = state.range(0), cout = state.range(1), kt = state.range(2), kh = state.range(3),
              batch = state.range(4), frames = state.range(5), size = state.range(6);
  ccl::Rng rng(3);
  const ccl::nn::Shape<3> kernel{kt, kh, kh};
  const ccl::nn::Shape<3> padding{kt / 2, kh / 2, kh / 2};
  ccl::nn::Conv3d<float> conv(
      ccl::nn::ConvOptions<3>(cin, cout, kernel).padding(padding).bias(false), rng);
  const Index per_clip = cin * frames * size * size;
  const ccl::RowMatrix<float> values = cb::uniform_matrix(batch, per_clip, 5);
  ccl::nn::Tensor<float, 5> x({batch, cin, frames, size, size}, values.data());
  ccl::nn::Tensor<float, 5> grad_x(x.shape(), 0.0f);
  auto grad_y = conv.forward(x);
  grad_y.fill(1e-3f);
  auto pass = [&] {
    conv.zero_grad();
    conv.forward(x);
    conv.backward(grad_y, &grad_x);
  };
  pass();
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    pass();
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  const double flops = 3.0 * 2.0 * double(cout) * double(conv.fan_in()) *
                       double(grad_y.spatial_size()) * double(batch);
  state.counters["GFLOP_per_s"] =
      benchmark::Counter(flops * 1e-9 * double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["threads"] = ccl::num_threads();
}

}  // namespace

BENCHMARK(BM_conv3d)
    ->ArgNames({"cin", "cout", "kt", "k", "N", "T", "HW"})
    // The narrow student's widest spatial conv (conv5, 1x3x3, 32 -> 64 mid channels) at Table 1's
    // batch; the official student's conv2 spatial conv (1x3x3, 64 -> 144) on a 2-clip batch; a
    // temporal (3x1x1) conv of the official conv3.
    ->Args({32, 64, 1, 3, 16, 1, 4})
    ->Args({16, 32, 1, 3, 16, 2, 8})
    ->Args({64, 144, 1, 3, 2, 16, 56})
    ->Args({230, 128, 3, 1, 2, 8, 28})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);
BENCHMARK(BM_narrow_step)->Unit(benchmark::kMillisecond)->UseManualTime()->MinTime(2.0);
BENCHMARK(BM_official_step)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(3);

int main(int argc, char** argv) {
  // CCL_THREADS=n pins ccl's thread count (its loops and its split GEMMs).
  if (const char* threads = std::getenv("CCL_THREADS")) ccl::set_num_threads(std::atoi(threads));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
