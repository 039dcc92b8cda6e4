#pragma once
// Agreement with rank 0 over a host communicator: what a training loop needs so that decisions
// and files stay the same on every rank (pipeline::Trainer uses them; so can a hand-written loop).
//
//   dist::on_rank_zero(comm, "Trainer", "write the checkpoint", [&] { ... });  // errors reach all
//   bool exists = dist::rank_zero_value(comm, file_exists(path));
//   dist::broadcast_bytes(comm, bytes);             // rank 0's bytes on every rank
//   auto sums = dist::agreed_sums(comm, {loss, correct, count});
//
// With one rank each is the plain local operation and communicates nothing.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/dist/communicator.hpp>

#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace ccl::dist {

/// Rank 0's bytes on every rank (packed into int64 words: the communicator's element types).
template <class Comm>
void broadcast_bytes(Comm& comm, std::vector<std::uint8_t>& bytes) {
  CCL_STATIC_ASSERT_COMMUNICATOR(Comm);
  std::int64_t size = std::int64_t(bytes.size());
  comm.broadcast(&size, 1, 0);
  std::vector<std::int64_t> words(std::size_t((size + 7) / 8), 0);
  if (comm.rank() == 0 && size > 0) std::memcpy(words.data(), bytes.data(), bytes.size());
  comm.broadcast(words.data(), Index(words.size()), 0);
  bytes.resize(std::size_t(size));
  if (size > 0) std::memcpy(bytes.data(), words.data(), bytes.size());
}

/// Rank 0's value of a flag, on every rank.
template <class Comm>
bool rank_zero_value(Comm& comm, bool mine) {
  CCL_STATIC_ASSERT_COMMUNICATOR(Comm);
  if (comm.size() == 1) return mine;
  std::int64_t flag = mine ? 1 : 0;
  comm.broadcast(&flag, 1, 0);
  return flag != 0;
}

/// Runs `body` on rank 0 only (files). A failure there becomes a ccl::error on every rank,
/// "<who>: rank 0 failed to <what>: <rank 0's message>", instead of leaving the others waiting in
/// the next collective.
template <class Comm, class Body>
void on_rank_zero(Comm& comm, const char* who, const char* what, Body&& body) {
  CCL_STATIC_ASSERT_COMMUNICATOR(Comm);
  if (comm.size() == 1) {
    body();
    return;
  }
  std::string message;
  if (comm.rank() == 0) {
    try {
      body();
    } catch (const std::exception& e) {
      message = e.what();
      if (message.empty()) message = "unknown error";
    } catch (...) {
      message = "an exception that is not a std::exception";
    }
  }
  std::vector<std::uint8_t> text(message.begin(), message.end());
  broadcast_bytes(comm, text);
  if (!text.empty())
    throw error(ccl::detail::concat(who, ": rank 0 failed to ", what, ": ",
                                    std::string(text.begin(), text.end())));
}

/// Element-wise sums over ranks, then rank 0's result broadcast: MPI does not promise that an
/// all-reduce rounds identically on every rank, and decisions taken on these figures (model
/// selection, early stopping, a non-finite loss) must be the same everywhere.
template <class Comm>
std::vector<double> agreed_sums(Comm& comm, std::vector<double> values) {
  CCL_STATIC_ASSERT_COMMUNICATOR(Comm);
  comm.all_reduce_sum(values.data(), Index(values.size()));
  comm.broadcast(values.data(), Index(values.size()), 0);
  return values;
}

}  // namespace ccl::dist
