#pragma once
// The losses' names for the row normalisation of <ccl/core/normalize_rows.hpp>.

#include <ccl/core/normalize_rows.hpp>

namespace ccl::loss::detail {
using ccl::detail::normalize_eps;
using ccl::detail::normalize_row;
using ccl::detail::normalize_rows;
using ccl::detail::normalize_rows_backward;
using ccl::detail::require_nonzero_rows;
using ccl::detail::rows_per_thread;
}  // namespace ccl::loss::detail
