#pragma once
// ccl::error is the one exception type the library throws for misuse and bad data. Messages name
// the operation, the offending argument and its shape or value, so a user can fix the call
// without a debugger ("multiclass_nce: f has shape [32, 512] but g has shape [32, 256]").

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace ccl {

class error : public std::runtime_error {
 public:
  explicit error(const std::string& message) : std::runtime_error("ccl: " + message) {}
};

namespace detail {

template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

}  // namespace detail

/// Throws ccl::error built from the streamed parts when `condition` is false. The parts are only
/// formatted on failure, so checks cost a branch on the hot path.
template <class... Parts>
void require(bool condition, Parts&&... parts) {
  if (!condition) throw error(detail::concat(std::forward<Parts>(parts)...));
}

}  // namespace ccl
