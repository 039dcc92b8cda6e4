#pragma once
// Fused, vectorised passes over one row of logits, written once for SIMD packets and reused for
// the scalar tail. The row objectives need exp, log and log1p per element; written as separate
// Eigen expressions they take a dozen passes over the row, each re-reading arrays that no longer
// fit in L1 at large B. Here one pass computes several sums at once while the data is in
// registers. The body is a generic lambda called with an array of packet accumulators (Eigen's
// packet type, e.g. 16 floats under AVX-512) for the bulk and of Scalars for the last elements,
// and uses Eigen's packet functions (pexp, plog1p, pand, ...), which also accept plain scalars.
// Scalars whose packets lack exp/log/log1p (double under AVX-512 in Eigen 3.4) run the same body
// one element at a time with the std:: functions.

#include <ccl/core/types.hpp>

#include <Eigen/Core>

#include <array>
#include <cstddef>

namespace ccl::loss::detail {

// (A specialisation rather than std::conditional, for the same reason as the plain arrays below.)
template <class Scalar, bool vectorised>
struct RowPacketType {
  using type = Scalar;
  static constexpr Index size = 1;
};
template <class Scalar>
struct RowPacketType<Scalar, true> {
  using type = typename Eigen::internal::packet_traits<Scalar>::type;
  static constexpr Index size = Index(Eigen::internal::unpacket_traits<type>::size);
};

template <class Scalar>
struct RowPacket {
  using Traits = Eigen::internal::packet_traits<Scalar>;
  static constexpr bool vectorised = Traits::Vectorizable && Traits::HasExp && Traits::HasLog &&
                                     Traits::HasLog1p && Traits::HasDiv && Traits::HasCmp;
  using type = typename RowPacketType<Scalar, vectorised>::type;
  static constexpr Index size = RowPacketType<Scalar, vectorised>::size;
};

/// Calls body(j, acc) for j = begin, begin + |P|, ... with `acc` an array of N packets P (the
/// packet type), and body(j, acc) with N Scalars for the remainder; the body adds what it sums
/// into acc[0..N) (ei::padd). Returns the N totals.
template <class Scalar, std::size_t N, class Body>
EIGEN_STRONG_INLINE std::array<Scalar, N> packet_sums(Index begin, Index end, Body&& body) {
  namespace ei = Eigen::internal;
  using Packet = typename RowPacket<Scalar>::type;
  constexpr Index size = RowPacket<Scalar>::size;
  constexpr std::size_t slots = N > 0 ? N : 1;
  Scalar tail[slots] = {};
  Index j = begin;
  if constexpr (size > 1) {
    // Plain arrays, not std::array: SIMD types carry attributes that g++ warns about dropping
    // when they are passed to a library template.
    Packet acc[slots];
    for (std::size_t k = 0; k < slots; ++k) acc[k] = ei::pset1<Packet>(Scalar(0));
    for (; j + size <= end; j += size) body(j, acc);
    for (std::size_t k = 0; k < slots; ++k) tail[k] = ei::predux(acc[k]);
  }
  for (; j < end; ++j) body(j, tail);
  std::array<Scalar, N> total{};
  for (std::size_t k = 0; k < N; ++k) total[k] = tail[k];
  return total;
}

/// Largest element of x[0, n) and the first index holding it; index n if there is none (NaN).
template <class Scalar>
EIGEN_STRONG_INLINE Scalar row_max(const Scalar* x, Index n, Index& where) {
  namespace ei = Eigen::internal;
  using Packet = typename RowPacket<Scalar>::type;
  constexpr Index size = RowPacket<Scalar>::size;
  Scalar max = x[0];
  Index j = 0;
  if constexpr (size > 1) {
    if (n >= size) {
      Packet acc = ei::ploadu<Packet>(x);
      for (j = size; j + size <= n; j += size) acc = ei::pmax(acc, ei::ploadu<Packet>(x + j));
      max = ei::predux_max(acc);
    }
  }
  for (; j < n; ++j) max = x[j] > max ? x[j] : max;
  where = n;
  j = 0;
  if constexpr (size > 1) {
    const Packet target = ei::pset1<Packet>(max);
    while (j + size <= n && !ei::predux_any(ei::pcmp_eq(ei::ploadu<Packet>(x + j), target))) {
      j += size;
    }
  }
  for (; j < n; ++j) {
    if (x[j] == max) {
      where = j;
      break;
    }
  }
  return max;
}

}  // namespace ccl::loss::detail
