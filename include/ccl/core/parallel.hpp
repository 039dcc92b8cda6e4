#pragma once
// Thread-count control and the one parallel loop ccl uses on the CPU.
//
// ccl threads two kinds of work: Eigen's matrix products (Eigen parallelises them itself when the
// translation unit is compiled with OpenMP) and ccl's own row loops (parallel_for below). One
// setting, ccl::set_num_threads(n), governs both. OpenMP is opt-in: ccl::ccl never adds -fopenmp
// to a consumer's flags. Without it this header compiles to a plain serial loop, and the OpenMP
// pragma lives only inside this file, behind `#if defined(_OPENMP)`, so -Wall never reports an
// unknown pragma.

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

/// Threads ccl uses for its row loops and Eigen's products: the value given to
/// set_num_threads, or OpenMP's default (OMP_NUM_THREADS, else the core count) when none was
/// given; always 1 without OpenMP.
inline int num_threads() {
#if defined(_OPENMP)
  const int setting = detail::thread_setting();
  return setting > 0 ? setting : omp_get_max_threads();
#else
  return 1;
#endif
}

/// Sets the thread count of ccl's row loops and of Eigen's matrix products (Eigen::setNbThreads,
/// which is process-wide). n = 0 restores the OpenMP default. Without OpenMP only 0 and 1 are
/// meaningful; larger values are accepted and ignored, so code need not #ifdef its setup.
inline void set_num_threads(int n) {
  require(n >= 0, "set_num_threads: the thread count must be >= 0 (0 = default), got ", n);
  detail::thread_setting() = n;
#if defined(_OPENMP)
  Eigen::setNbThreads(n);  // 0 is Eigen's own "use OpenMP's default"
#endif
}

/// Runs body(thread, team) once on each thread of a team of up to `threads` (OpenMP may grant
/// fewer: `team` is the actual size, `thread` in [0, team)). Serial, body(0, 1), without OpenMP,
/// for threads <= 1, or inside an enclosing parallel region. The body must not throw (an
/// exception cannot leave an OpenMP region). Eigen's products inside the body run on one thread:
/// Eigen does not nest parallelism.
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

}  // namespace ccl
