#pragma once
// Execution<Backend>: where and how a component runs its backend's ops. Every component that
// runs ops holds one (layers and heads in their OpScratch, engines as a member) and takes a new
// one with set_execution(e); containers (Sequential, the pipeline, the Trainer) hand theirs to
// every part, the way set_training reaches BatchNorm and Dropout. Nothing is read from a global:
// two pipelines on two streams can run from one thread.
//
//   Execution<ccl::cpu>    nothing to choose (the host threads are ccl::parallel's)
//   Execution<ccl::cuda>   the stream, TF32 and the contrastive algorithm
//                          (<ccl/cuda/execution.hpp>)
//
// ccl::set_execution(part, e) is the one way to hand an execution over: it calls
// part.set_execution(e), and refuses to compile for a ccl::cuda part that has no such member
// (which would otherwise keep running on the default stream, racing the caller's).

#include <ccl/core/backend.hpp>

#include <type_traits>
#include <utility>

namespace ccl {

template <class Backend>
struct Execution {
  static_assert(is_backend_v<Backend>,
                "ccl::Execution: the argument must be a backend tag (ccl::cpu or ccl::cuda)");
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::Execution<ccl::cuda> lives in <ccl/cuda/execution.hpp>; include it (or "
                "<ccl/cuda.hpp>)");
};

template <>
struct Execution<cpu> {};

/// Replaces a component's execution. The device overload orders the new stream after the work
/// already queued on the old one, so nothing queued before a switch (the uploads of a
/// constructor, a step on another stream) races what is queued after it; on the host there is
/// nothing to order.
inline void rebind_execution(Execution<cpu>& current, const Execution<cpu>& next) {
  current = next;
}

namespace detail {
template <class Part, class Exec, class = void>
struct accepts_execution : std::false_type {};
template <class Part, class Exec>
struct accepts_execution<
    Part, Exec,
    std::void_t<decltype(std::declval<Part&>().set_execution(std::declval<const Exec&>()))>>
    : std::true_type {};
}  // namespace detail

/// Hands `execution` to `part`. Host parts have nothing to take and may omit the member; a part
/// on the execution's device backend must provide set_execution (checked at compile time).
template <class Part, class Backend>
void set_execution(Part& part, const Execution<Backend>& execution) {
  if constexpr (detail::accepts_execution<Part, Execution<Backend>>::value) {
    part.set_execution(execution);
  } else {
    static_assert(std::is_same_v<Backend, cpu>,
                  "ccl::set_execution: this part of a ccl::cuda component has no "
                  "set_execution(const ccl::Execution<ccl::cuda>&); give it one that hands the "
                  "execution to everything it launches work with");
  }
}

namespace detail {
template <class Part, class = void>
struct reports_execution : std::false_type {};
template <class Part>
struct reports_execution<Part, std::void_t<decltype(std::declval<const Part&>().execution())>>
    : std::true_type {};
}  // namespace detail

/// The execution a part runs with: part.execution(), or the host's for a host part that keeps
/// none (checked at compile time for device parts).
template <class Backend, class Part>
Execution<Backend> execution_of(const Part& part) {
  if constexpr (detail::reports_execution<Part>::value) {
    return part.execution();
  } else {
    static_assert(std::is_same_v<Backend, cpu>,
                  "ccl::execution_of: this ccl::cuda component has no execution() accessor");
    return {};
  }
}

/// Several parts at once: set_execution(e, student_, head_, scratch_).
template <class Backend, class... Parts>
void set_executions(const Execution<Backend>& execution, Parts&... parts) {
  (ccl::set_execution(parts, execution), ...);
}

}  // namespace ccl
