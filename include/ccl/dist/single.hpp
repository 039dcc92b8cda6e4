#pragma once
// dist::single: the one-process communicator (rank 0 of 1). The default of every dist-aware API,
// so that code written for several ranks runs unchanged, and with no dependency, in one process.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/dist/communicator.hpp>

#include <algorithm>

namespace ccl::dist {

class single {
 public:
  int rank() const { return 0; }
  int size() const { return 1; }

  template <class T>
  void all_reduce_sum(T*, Index count) {
    require(count >= 0, "dist::single::all_reduce_sum: negative count ", count);
  }
  template <class T>
  void all_gather(const T* local, Index count, T* gathered) {
    require(count >= 0, "dist::single::all_gather: negative count ", count);
    if (local != gathered) std::copy(local, local + count, gathered);
  }
  template <class T>
  void broadcast(T*, Index count, int root) {
    require(count >= 0, "dist::single::broadcast: negative count ", count);
    require(root == 0, "dist::single::broadcast: root ", root, " is not a rank of 1 process");
  }
  void barrier() {}
};

static_assert(is_communicator_v<single>, "dist::single must model the communicator concept");

}  // namespace ccl::dist
