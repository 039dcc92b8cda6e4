#pragma once
// Thread-count control and the one parallel loop ccl uses on the CPU.
//
// ccl threads its own loops: row loops (parallel_for below) and matrix products split over the
// team (parallel_gemm.hpp), each piece a single-threaded GEMM. One setting,
// ccl::set_num_threads(n), governs all of them; Eigen's own product threading is never used by
// ccl (its team busy-waits at every k-block: gemm.hpp says why). OpenMP is opt-in: ccl::ccl never
// adds -fopenmp to a consumer's flags. Without it this header compiles to a plain serial loop, and
// the OpenMP pragmas live only inside this file, behind `#if defined(_OPENMP)`, so -Wall never
// reports an unknown pragma.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>

#include <Eigen/Core>

#include <algorithm>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace ccl {

namespace detail {
/// The user's setting; 0 means "as many as OpenMP would use by default".
inline int& thread_setting() {
  static int threads = 0;
  return threads;
}
}  // namespace detail

/// True when ccl was compiled with OpenMP, i.e. when more than one thread can ever be used.
inline constexpr bool has_openmp =
#if defined(_OPENMP)
    true;
#else
    false;
#endif

/// Threads ccl uses for its loops and products: the value given to set_num_threads, or OpenMP's
/// default (OMP_NUM_THREADS, else the core count) when none was given; always 1 without OpenMP.
inline int num_threads() {
#if defined(_OPENMP)
  const int setting = detail::thread_setting();
  return setting > 0 ? setting : omp_get_max_threads();
#else
  return 1;
#endif
}

/// Sets the thread count of every ccl loop and product; n = 0 restores the OpenMP default.
/// Process-wide; it leaves Eigen's own setting (Eigen::setNbThreads, used by the caller's Eigen
/// products, never by ccl's) alone. Without OpenMP only 0 and 1 are meaningful; larger values are
/// accepted and ignored, so code need not #ifdef its setup.
inline void set_num_threads(int n) {
  require(n >= 0, "set_num_threads: the thread count must be >= 0 (0 = default), got ", n);
  detail::thread_setting() = n;
}

/// Runs body(thread, team) once on each thread of a team of up to `threads` (OpenMP may grant
/// fewer: `team` is the actual size, `thread` in [0, team)). Serial, body(0, 1), without OpenMP,
/// for threads <= 1, or inside an enclosing parallel region. The body must not throw (an
/// exception cannot leave an OpenMP region).
template <class Body>
void parallel_team(int threads, Body&& body) {
#if defined(_OPENMP)
  if (threads > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(threads)
    body(omp_get_thread_num(), omp_get_num_threads());
    return;
  }
#else
  (void)threads;
#endif
  body(0, 1);
}

/// Waits until every thread of the enclosing parallel_team has arrived (an OpenMP barrier); a
/// no-op in a serial team. Every thread of the team must call it the same number of times.
inline void team_barrier() {
#if defined(_OPENMP)
#pragma omp barrier
#endif
}

/// Calls body(i, thread) for every i in [begin, end), split in contiguous static chunks over
/// num_threads() threads; `thread` indexes per-thread scratch. The body must not throw. Runs
/// serially when the range is shorter than `min_per_thread` per thread, where forking would cost
/// more than it saves.
template <class Body>
void parallel_for(Index begin, Index end, Body&& body, Index min_per_thread = 1) {
  const Index count = end - begin;
  if (count <= 0) return;
  const Index most = std::max<Index>(1, count / std::max<Index>(min_per_thread, 1));
  const int threads = static_cast<int>(std::min<Index>(num_threads(), most));
  parallel_team(threads, [&](int thread, int team) {
    // Contiguous chunks: each thread walks adjacent rows, which keeps its scratch hot.
    const Index first = begin + count * thread / team;
    const Index last = begin + count * (thread + 1) / team;
    for (Index i = first; i < last; ++i) body(i, thread);
  });
}

/// Calls body(first, last) on contiguous chunks that cover [0, count), one chunk per thread, for
/// memory-bound element-wise loops (copies, ReLU, sums of tensors): a chunk has at least `grain`
/// elements, so a small tensor stays on the calling thread. The body must not throw.
template <class Body>
void parallel_chunks(Index count, Body&& body, Index grain = Index(1) << 14) {
  if (count <= 0) return;
  const int threads =
      static_cast<int>(std::min<Index>(num_threads(), std::max<Index>(1, count / grain)));
  parallel_team(threads, [&](int thread, int team) {
    const Index first = count * thread / team;
    const Index last = count * (thread + 1) / team;
    if (first < last) body(first, last);
  });
}

}  // namespace ccl
