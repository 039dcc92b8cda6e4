#pragma once
// dist::mpi: the communicator over an MPI communicator (MPI_COMM_WORLD by default), host buffers.
// Needs MPI (target ccl::mpi); the core headers do not include this one.
//
//   int main(int argc, char** argv) {
//     ccl::dist::environment env(argc, argv);   // MPI_Init ... MPI_Finalize
//     return ccl::dist::guard([&] { ccl::dist::mpi comm; train(comm); });
//   }
//
// guard() is why a rank that throws cannot leave the others waiting forever in a collective: it
// prints "ccl: rank R failed: <what>" to stderr and calls MPI_Abort, which ends every rank.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/dist/communicator.hpp>

#include <mpi.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <limits>
#include <type_traits>

namespace ccl::dist {

namespace detail {

/// Every MPI status becomes a ccl::error naming the call and MPI's own description.
inline void check_mpi(int status, const char* call) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(status, text, &length);
  throw error(ccl::detail::concat("dist::mpi: ", call, " failed (", status, "): ", text));
}

template <class T>
MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, float>)
    return MPI_FLOAT;
  else if constexpr (std::is_same_v<T, double>)
    return MPI_DOUBLE;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return MPI_INT64_T;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return MPI_INT32_T;
  else
    static_assert(sizeof(T) == 0, "dist::mpi: element type must be float, double, int32 or int64");
}

inline int mpi_count(Index count, const char* call) {
  require(count >= 0 && count <= std::numeric_limits<int>::max(), "dist::mpi: ", call, ": count ",
          count, " is outside [0, INT_MAX]");
  return int(count);
}

}  // namespace detail

/// MPI_Init on construction (unless already initialised), MPI_Finalize on destruction.
class environment {
 public:
  environment(int& argc, char**& argv) {
    int initialised = 0;
    detail::check_mpi(MPI_Initialized(&initialised), "MPI_Initialized");
    if (!initialised) {
      detail::check_mpi(MPI_Init(&argc, &argv), "MPI_Init");
      owns_ = true;
    }
    // Errors come back as statuses (turned into ccl::error) instead of aborting inside MPI.
    detail::check_mpi(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN),
                      "MPI_Comm_set_errhandler");
  }
  environment(const environment&) = delete;
  environment& operator=(const environment&) = delete;
  ~environment() {
    if (owns_) MPI_Finalize();
  }

 private:
  bool owns_ = false;
};

class mpi {
 public:
  explicit mpi(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    detail::check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    detail::check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }

  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm native() const { return comm_; }

  template <class T>
  void all_reduce_sum(T* data, Index count) {
    detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, data, detail::mpi_count(count, "MPI_Allreduce"),
                                    detail::mpi_type<T>(), MPI_SUM, comm_),
                      "MPI_Allreduce");
  }
  template <class T>
  void all_gather(const T* local, Index count, T* gathered) {
    const int n = detail::mpi_count(count, "MPI_Allgather");
    detail::check_mpi(
        MPI_Allgather(local, n, detail::mpi_type<T>(), gathered, n, detail::mpi_type<T>(), comm_),
        "MPI_Allgather");
  }
  template <class T>
  void broadcast(T* data, Index count, int root) {
    require(root >= 0 && root < size_, "dist::mpi::broadcast: root ", root, " is not a rank of ",
            size_);
    detail::check_mpi(
        MPI_Bcast(data, detail::mpi_count(count, "MPI_Bcast"), detail::mpi_type<T>(), root, comm_),
        "MPI_Bcast");
  }
  void barrier() { detail::check_mpi(MPI_Barrier(comm_), "MPI_Barrier"); }

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
};

static_assert(is_communicator_v<mpi>, "dist::mpi must model the communicator concept");

/// Runs `body`; returns 0 when it returns. When it throws, prints the error with the rank and
/// aborts every rank (MPI_Abort), so no rank waits forever in a collective the failed one left.
template <class Body>
int guard(Body&& body) {
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    int rank = -1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    std::fprintf(stderr, "ccl: rank %d failed: %s\n", rank, e.what());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
}

}  // namespace ccl::dist
