#pragma once
// The communicator concept of ccl::dist: what data-parallel training needs from a transport.
//
// A type C models it when, for T in {float, double, std::int64_t}, it provides
//
//   int rank() const;  int size() const;
//   void all_reduce_sum(T* data, Index count);                  // in place, every rank gets Σ
//   void all_gather(const T* local, Index count, T* gathered);  // gathered = rank 0's, rank 1's,
//   ... void broadcast(T* data, Index count, int root); void barrier();
//
// Every rank passes the same `count` (equal shards): the global batch is the concatenation of the
// ranks' batches in rank order, which is what makes the distributed losses equal the
// single-process loss on that concatenation. Implementations: dist::single (no dependency),
// dist::mpi (<ccl/dist/mpi.hpp>), dist::nccl (<ccl/dist/nccl.hpp>, device buffers).
// Failures of the underlying library become ccl::error naming the call.

#include <ccl/core/types.hpp>

#include <cstdint>
#include <type_traits>
#include <utility>

namespace ccl::dist {

namespace detail {

template <class C, class T, class = void>
struct has_collectives_for : std::false_type {};

template <class C, class T>
struct has_collectives_for<
    C, T,
    std::void_t<decltype(std::declval<C&>().all_reduce_sum(std::declval<T*>(), Index{})),
                decltype(std::declval<C&>().all_gather(std::declval<const T*>(), Index{},
                                                       std::declval<T*>())),
                decltype(std::declval<C&>().broadcast(std::declval<T*>(), Index{}, int{}))>>
    : std::true_type {};

template <class C, class = void>
struct has_topology : std::false_type {};

template <class C>
struct has_topology<C, std::void_t<decltype(int(std::declval<const C&>().rank())),
                                   decltype(int(std::declval<const C&>().size())),
                                   decltype(std::declval<C&>().barrier())>> : std::true_type {};

}  // namespace detail

/// True when C models the communicator concept above.
template <class C>
inline constexpr bool is_communicator_v = detail::has_topology<C>::value&&
    detail::has_collectives_for<C, float>::value&& detail::has_collectives_for<C, double>::value&&
        detail::has_collectives_for<C, std::int64_t>::value;

/// Put at template boundaries that take a communicator, for a readable compile error.
#define CCL_STATIC_ASSERT_COMMUNICATOR(C)                                                       \
  static_assert(::ccl::dist::is_communicator_v<C>,                                              \
                "ccl::dist: the type does not model the communicator concept (rank(), size(), " \
                "all_reduce_sum, all_gather, broadcast for float/double/int64, barrier()); "    \
                "see <ccl/dist/communicator.hpp>")

}  // namespace ccl::dist
