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
//
// Memory: a communicator's collectives read and write the memory of its `memory_space` (host
// memory, ccl::cpu, unless the type declares `using memory_space = ccl::cuda;` as dist::nccl
// does). Code written once for both backends moves backend data through <ccl/dist/collectives.hpp>,
// which stages it through the host when the two differ; host-side bookkeeping (flags, counts,
// metrics, checkpoint bytes) goes through host_communicator(comm): the communicator itself, or
// the host communicator a device one was bootstrapped from (`comm.host()`, dist::nccl's MPI).

#include <ccl/core/backend.hpp>
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

template <class C, class = void>
struct memory_space {
  using type = cpu;
};
template <class C>
struct memory_space<C, std::void_t<typename C::memory_space>> {
  using type = typename C::memory_space;
};

template <class C, class = void>
struct has_host_side : std::false_type {};
template <class C>
struct has_host_side<C, std::void_t<decltype(std::declval<C&>().host())>> : std::true_type {};

}  // namespace detail

/// The memory a communicator's collectives work on: ccl::cpu (host) or ccl::cuda (device).
template <class C>
using memory_space_t = typename detail::memory_space<C>::type;

/// The communicator for host data (flags, counts, metrics, bytes) over the same ranks: `comm`
/// itself when it works on host memory, else the host communicator it exposes as `host()`.
template <class C>
auto& host_communicator(C& comm) {
  if constexpr (detail::has_host_side<C>::value) {
    return comm.host();
  } else {
    static_assert(std::is_same_v<memory_space_t<C>, cpu>,
                  "ccl::dist::host_communicator: a device communicator must expose the host "
                  "communicator of the same ranks as host() (dist::nccl returns its MPI)");
    return comm;
  }
}

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
