#pragma once
// ccl::parallel_gemm: one matrix product split over ccl's threads, each piece a single-threaded
// ccl::gemm (gemm.hpp).
//
// The split is along the output's columns, else its rows, else the inner dimension; it depends on
// the shapes and the thread count only (never on timing), so a result is identical from run to run
// at a given thread count. Column and row splits compute every output element exactly as one
// thread would, up to the kernel's blocking; the inner-dimension split (the weight gradient of a
// convolution: a few hundred outputs, a depth of a whole batch of pixels) sums per-thread partial
// products in thread order, so results differ between thread counts by rounding only.
//
// Why not Eigen's own threading: see gemm.hpp. Inside an enclosing parallel region (a ccl loop,
// or the caller's own OpenMP team) the product runs serially on the calling thread.

#include <ccl/core/gemm.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/core/types.hpp>

#include <algorithm>
#include <utility>

namespace ccl {

/// How parallel_gemm divides one product: along which axis and into how many pieces.
struct GemmSplit {
  enum class Axis { none, columns, rows, depth };
  Axis axis = Axis::none;
  int pieces = 1;
};

namespace detail {
// A piece below this many multiply-adds costs less than waking a thread (a few microseconds).
inline constexpr double gemm_min_work_per_thread = double(1 << 18);
// Smallest piece along each axis: narrower pieces run the kernel's edge cases, not its fast path.
inline constexpr Index gemm_column_grain = 32;
inline constexpr Index gemm_row_grain = 16;
inline constexpr Index gemm_depth_grain = 128;

/// [first, last) of piece `piece` of `pieces` over `count` items, cut at multiples of `grain`.
inline std::pair<Index, Index> gemm_piece(Index count, Index grain, int piece, int pieces) {
  const Index units = (count + grain - 1) / grain;
  const Index first = std::min(count, grain * (units * piece / pieces));
  const Index last = std::min(count, grain * (units * (piece + 1) / pieces));
  return {first, last};
}
}  // namespace detail

/// The split parallel_gemm uses for an [m, k] x [k, n] product on `threads` threads.
inline GemmSplit gemm_split(Index m, Index n, Index k, int threads) {
  const double work = double(m) * double(n) * double(k);
  const int most = static_cast<int>(
      std::min<double>(threads, std::max(1.0, work / detail::gemm_min_work_per_thread)));
  for (int t = most; t >= 2; --t) {
    if (n >= t * detail::gemm_column_grain) return {GemmSplit::Axis::columns, t};
    if (m >= t * detail::gemm_row_grain) return {GemmSplit::Axis::rows, t};
    if (k >= t * detail::gemm_depth_grain) return {GemmSplit::Axis::depth, t};
  }
  return {};
}

/// Per-thread partial products of a depth split; reuse one per call site so that repeated
/// products do not allocate.
template <class Scalar>
using GemmScratch = Vector<Scalar>;

/// C = A·B or C += A·B (see ccl::gemm) on up to ccl::num_threads() threads. `scratch` holds the
/// partial products when the inner dimension is split (pieces x m x n scalars); it grows only.
template <class Destination, class Scalar>
void parallel_gemm(Eigen::DenseBase<Destination>& c_base, const GemmArg<Scalar>& a,
                   const GemmArg<Scalar>& b, Gemm mode, GemmScratch<Scalar>& scratch,
                   int threads = num_threads()) {
  auto& c = c_base.derived();
  require(a.cols == b.rows && c.rows() == a.rows && c.cols() == b.cols,
          "ccl::parallel_gemm: shapes do not chain: [", a.rows, ", ", a.cols, "] x [", b.rows, ", ",
          b.cols, "] -> [", c.rows(), ", ", c.cols(), "]");
  const Index m = a.rows, n = b.cols, k = a.cols;
  const GemmSplit split = gemm_split(m, n, k, threads);
  using Axis = GemmSplit::Axis;
  if (split.axis == Axis::none) {
    gemm(c, a, b, mode);
    return;
  }
  if (split.axis == Axis::depth && scratch.size() < split.pieces * m * n)
    scratch.resize(split.pieces * m * n);
  // The team may be smaller than asked (OpenMP may grant fewer threads): pieces are spread over
  // whoever came, so the split, and hence the result, never depends on the team size.
  parallel_team(split.pieces, [&](int thread, int team) {
    for (int piece = thread; piece < split.pieces; piece += team) {
      if (split.axis == Axis::columns) {
        const auto [first, last] =
            detail::gemm_piece(n, detail::gemm_column_grain, piece, split.pieces);
        gemm(c.middleCols(first, last - first), a, b.middle_cols(first, last - first), mode);
      } else if (split.axis == Axis::rows) {
        const auto [first, last] =
            detail::gemm_piece(m, detail::gemm_row_grain, piece, split.pieces);
        gemm(c.middleRows(first, last - first), a.middle_rows(first, last - first), b, mode);
      } else {
        const auto [first, last] =
            detail::gemm_piece(k, detail::gemm_depth_grain, piece, split.pieces);
        Eigen::Map<RowMatrix<Scalar>> partial(scratch.data() + piece * m * n, m, n);
        gemm(partial, a.middle_cols(first, last - first), b.middle_rows(first, last - first),
             Gemm::overwrite);
      }
    }
    if (split.axis != Axis::depth) return;
    // Only in ccl's own team: a serial fallback inside the caller's region must not wait for
    // the caller's threads.
    if (team > 1) team_barrier();
    // Every thread adds all partials, in piece order, over its own columns of C.
    const auto [first, last] = detail::gemm_piece(n, 1, thread, team);
    if (first == last) return;
    auto out = c.middleCols(first, last - first);
    for (int piece = 0; piece < split.pieces; ++piece) {
      const Eigen::Map<const RowMatrix<Scalar>> partial(scratch.data() + piece * m * n, m, n);
      if (piece == 0 && mode == Gemm::overwrite)
        out = partial.middleCols(first, last - first);
      else
        out += partial.middleCols(first, last - first);
    }
  });
}

/// parallel_gemm into an rvalue destination (an Eigen::Map or a block expression).
template <class Destination, class Scalar>
void parallel_gemm(Eigen::DenseBase<Destination>&& c, const GemmArg<Scalar>& a,
                   const GemmArg<Scalar>& b, Gemm mode, GemmScratch<Scalar>& scratch,
                   int threads = num_threads()) {
  parallel_gemm(c, a, b, mode, scratch, threads);
}

}  // namespace ccl
