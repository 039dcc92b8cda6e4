// The machine's peak single-precision FMA rate, measured: the denominator of every "share of
// peak" in docs/performance.md (GEMM-bound figures of the contrastive losses and convolutions).
//
// A kernel of 12 (256-bit) or 16 (512-bit) independent fused multiply-add chains in registers
// (enough to cover the FMA latency of 4-5 cycles on two pipes), nothing loaded from memory, for
// 256-bit (AVX2 + FMA) and, when the CPU has it, 512-bit (AVX-512F) vectors. Counters: GFLOP_per_s
// (2 flops per lane per FMA, all threads together), threads. BM_peak_fma/width:256|512/threads:1 is
// one core's peak; threads:N (N = ccl::num_threads(), i.e. CCL_THREADS or all cores) the machine's.
// Note that some CPUs (AMD Zen 4) execute 512-bit instructions on 256-bit units: both widths then
// give the same rate, which is the true peak.

#include <ccl/core/parallel.hpp>

#include <benchmark/benchmark.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#endif

#include <chrono>
#include <cstdlib>
#include <string>

namespace {

// Independent FMA chains per kernel: enough to hide a 4-5 cycle latency on two FMA pipes, and few
// enough to stay in registers (AVX2 has 16 vector registers, AVX-512 32).
constexpr int chains_256 = 12;
constexpr int chains_512 = 16;
constexpr long iterations = 1L << 20;  // x chains x lanes x 2 flops per call, per thread

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define CCL_PEAK_X86 1

// Intrinsics, not `a * b + c`: whether the compiler contracts that into an FMA depends on
// -ffp-contract, and this kernel must issue nothing but FMAs.
__attribute__((target("avx2,fma"))) float run_256(float seed) {
  constexpr int chains = chains_256;
  __m256 acc[chains];
  for (int c = 0; c < chains; ++c) acc[c] = _mm256_set1_ps(seed * float(c + 1));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < chains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  }
  __m256 sum = acc[0];
  for (int c = 1; c < chains; ++c) sum = _mm256_add_ps(sum, acc[c]);
  return _mm256_cvtss_f32(sum);
}

__attribute__((target("avx512f"))) float run_512(float seed) {
  constexpr int chains = chains_512;
  __m512 acc[chains];
  for (int c = 0; c < chains; ++c) acc[c] = _mm512_set1_ps(seed * float(c + 1));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < chains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  }
  __m512 sum = acc[0];
  for (int c = 1; c < chains; ++c) sum = _mm512_add_ps(sum, acc[c]);
  return _mm512_cvtss_f32(sum);
}
#endif

void BM_peak_fma(benchmark::State& state) {
#if defined(CCL_PEAK_X86)
  const int width = static_cast<int>(state.range(0));
  const int threads = state.range(1) == 0 ? ccl::num_threads() : static_cast<int>(state.range(1));
  __builtin_cpu_init();
  if (width == 512 && !__builtin_cpu_supports("avx512f")) {
    state.SkipWithError("this CPU has no AVX-512F");
    return;
  }
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    state.SkipWithError("this CPU has no AVX2 + FMA");
    return;
  }
  float sink = 0;
  int team_size = 1;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    ccl::parallel_team(threads, [&](int thread, int team) {
      const float r =
          width == 512 ? run_512(1e-3f * float(thread + 1)) : run_256(1e-3f * float(thread + 1));
      if (thread == 0) {
        sink = r;
        team_size = team;
      }
    });
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    benchmark::DoNotOptimize(sink);
  }
  const int chains = width == 512 ? chains_512 : chains_256;
  const double flops_per_call =
      2.0 * double(width / 32) * double(chains) * double(iterations) * double(team_size);
  state.counters["GFLOP_per_s"] = benchmark::Counter(
      flops_per_call * 1e-9 * double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["threads"] = team_size;
#else
  state.SkipWithError("the peak-FMA kernel is written for x86-64 (AVX2/AVX-512)");
#endif
}

}  // namespace

// threads 0 = ccl::num_threads() (CCL_THREADS, else all cores).
BENCHMARK(BM_peak_fma)
    ->ArgNames({"width", "threads"})
    ->Args({256, 1})
    ->Args({512, 1})
    ->Args({256, 0})
    ->Args({512, 0})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

int main(int argc, char** argv) {
  if (const char* threads = std::getenv("CCL_THREADS")) ccl::set_num_threads(std::atoi(threads));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
