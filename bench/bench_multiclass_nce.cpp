// fwd+bwd of multi-class NCE (method.md §4.3) at D = 512 for the batch sizes of issue 5, and
// Eigen's plain GEMM rate on the same shapes as the roof. bench/run_peers.py drives this program
// and the PyTorch peer and prints the ratio table (scripts/bench.sh runs everything).
//
// Counters: gemm_GFLOPs = (3 GEMMs x 2·B²·D flops) / time, i.e. the rate at which the loss gets
// through its matrix products; peak_MiB = the process's peak RSS during the benchmark (inputs
// included); first_call_ms = the first call of a fresh loss object, whose workspaces are fresh
// pages, next to the steady-state time of the reused object. At B = 65,536 one call takes about
// a minute on 2 cores, so there the single timed call is the first call (first_call_ms = time)
// and the roof runs one pass: the whole sweep stays within scripts/bench.sh's ~20 minutes.

#include "bench_support.hpp"

#include <ccl/core/gemm.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/loss/detail/contrastive_engine.hpp>
#include <ccl/loss/multiclass_nce.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using ccl::Index;
using ccl::RowMatrix;
namespace cb = ccl::bench;

/// From this batch size on, a call takes about a minute: no separate warm-up call.
constexpr Index huge_batch = 65536;

double gemm_flops(Index batch) {
  return 3.0 * 2.0 * double(batch) * double(batch) * double(cb::feature_dim);
}

struct Inputs {
  explicit Inputs(Index batch)
      : f(cb::uniform_matrix(batch, cb::feature_dim, 1)),
        g(cb::uniform_matrix(batch, cb::feature_dim, 2)),
        labels(cb::cyclic_labels(batch)),
        grad_f(RowMatrix<float>::Zero(batch, cb::feature_dim)),
        grad_g(RowMatrix<float>::Zero(batch, cb::feature_dim)) {}
  RowMatrix<float> f, g;
  std::vector<std::int64_t> labels;
  RowMatrix<float> grad_f, grad_g;
};

void set_common_counters(benchmark::State& state, Index batch, double peak_mib) {
  state.counters["gemm_GFLOPs"] =
      benchmark::Counter(gemm_flops(batch) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_MiB"] = peak_mib;
  state.counters["threads"] = ccl::num_threads();
}

/// range(0) = B, range(1) = 10·τ.
void BM_ccl_multiclass_nce(benchmark::State& state) {
  const Index batch = state.range(0);
  const double tau = double(state.range(1)) / 10.0;
  Inputs in(batch);
  cb::reset_peak_memory();

  ccl::loss::MultiClassNce<float> loss(tau);
  auto call = [&] {
    return loss.accumulate(ccl::view(in.f), ccl::view(in.g), in.labels, 1.0f,
                           ccl::mutable_view(in.grad_f), ccl::mutable_view(in.grad_g));
  };
  float value = 0;
  double first_ms = -1;
  if (batch < huge_batch) {
    const auto start = std::chrono::steady_clock::now();
    value = call();
    first_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    value = call();
    if (first_ms < 0) {
      first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count();
    }
    benchmark::DoNotOptimize(value);
    benchmark::ClobberMemory();
  }
  set_common_counters(state, batch, cb::peak_memory_mib());
  state.counters["first_call_ms"] = first_ms;
  state.counters["loss"] = value;
  state.counters["tile_rows"] =
      double(ccl::loss::detail::plan_tiles(
                 batch, ccl::loss::detail::automatic_tile_rows<float>(batch), ccl::num_threads())
                 .tile);
}

/// The roof: the same three products on the same tiles with the same threading (whole tiles
/// per thread, single-threaded ccl::gemm calls, a dL/dĝ accumulator per thread), and nothing else.
void BM_eigen_gemm_roof(benchmark::State& state) {
  const Index batch = state.range(0);
  const Index dim = cb::feature_dim;
  Inputs in(batch);
  const auto plan = ccl::loss::detail::plan_tiles(
      batch, ccl::loss::detail::automatic_tile_rows<float>(batch), ccl::num_threads());
  std::vector<RowMatrix<float>> logits(plan.team, RowMatrix<float>(plan.tile, batch));
  std::vector<RowMatrix<float>> grad_g(plan.team, RowMatrix<float>(batch, dim));
  RowMatrix<float> grad_f(batch, dim);
  cb::reset_peak_memory();
  auto pass = [&] {
    ccl::parallel_team(plan.team, [&](int thread, int team) {
      for (Index k = thread; k < plan.tiles; k += team) {
        const Index first = k * plan.tile;
        const Index rows = std::min(plan.tile, batch - first);
        auto block = logits[thread].topRows(rows);
        const auto f_tile = in.f.middleRows(first, rows);
        // ccl::gemm: Eigen's kernel, or the CBLAS one in the _cblas build (CCL_USE_CBLAS).
        ccl::gemm(block, ccl::gemm_arg(f_tile), ccl::gemm_arg_transposed(in.g),
                  ccl::Gemm::overwrite, 2.0f);
        ccl::gemm(grad_f.middleRows(first, rows), ccl::gemm_arg(block), ccl::gemm_arg(in.g),
                  ccl::Gemm::overwrite);
        ccl::gemm(grad_g[thread], ccl::gemm_arg_transposed(block), ccl::gemm_arg(f_tile),
                  k == thread ? ccl::Gemm::overwrite : ccl::Gemm::accumulate);
      }
    });
  };
  if (batch < huge_batch) pass();  // warm: first touch of the outputs
  for (auto _ : state) {
    pass();
    benchmark::DoNotOptimize(grad_g[0].data());
    benchmark::ClobberMemory();
  }
  set_common_counters(state, batch, cb::peak_memory_mib());
  state.counters["tile_rows"] = double(plan.tile);
}

/// Batch sizes by cost: small (B <= 4096, milliseconds to a second a call), medium (16384, a
/// few seconds), huge (65536, about a minute on 2 cores).
enum Family { small, medium, huge };

/// B x 10·τ for the loss, B alone for the roof. On a machine shared with other work the best of
/// several repetitions is the figure least disturbed by it ("min" aggregate); calls that take
/// seconds run once per repetition, and B = 65,536 once in all.
void batch_args(benchmark::internal::Benchmark* b, bool with_tau, Family family) {
  for (const Index batch : {256, 1024, 4096, 16384, 65536}) {
    const Family of = batch <= 4096 ? small : batch < huge_batch ? medium : huge;
    if (of != family) continue;
    if (!with_tau) {
      b->Args({batch});
      continue;
    }
    for (const int tau10 : {1, 5}) b->Args({batch, tau10});
  }
  if (family != small) b->Iterations(1);
  if (family != huge) {
    b->Repetitions(family == small ? 5 : 3)
        ->ComputeStatistics(
            "min",
            [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); })
        ->ReportAggregatesOnly(true);
  }
}

int configure() {
  // CCL_THREADS=n pins the thread count (the comparison uses 2 on both sides).
  if (const char* threads = std::getenv("CCL_THREADS")) ccl::set_num_threads(std::atoi(threads));
  return 0;
}
const int configured = configure();

}  // namespace

#define CCL_BENCH_REGISTER(function, with_tau, family, ...)                               \
  BENCHMARK(function)                                                                     \
      ->Apply([](benchmark::internal::Benchmark* b) { batch_args(b, with_tau, family); }) \
      ->ArgNames(__VA_ARGS__)                                                             \
      ->Unit(benchmark::kMillisecond)                                                     \
      ->UseRealTime()                                                                     \
      ->MeasureProcessCPUTime()

CCL_BENCH_REGISTER(BM_ccl_multiclass_nce, true, small, {"B", "tau10"});
CCL_BENCH_REGISTER(BM_eigen_gemm_roof, false, small, {"B"});
CCL_BENCH_REGISTER(BM_ccl_multiclass_nce, true, medium, {"B", "tau10"});
CCL_BENCH_REGISTER(BM_eigen_gemm_roof, false, medium, {"B"});
CCL_BENCH_REGISTER(BM_ccl_multiclass_nce, true, huge, {"B", "tau10"});
CCL_BENCH_REGISTER(BM_eigen_gemm_roof, false, huge, {"B"});

BENCHMARK_MAIN();
