#pragma once
// LabelView: a non-owning view of B integer class labels, 32- or 64-bit. Frameworks disagree on
// the label type (PyTorch uses int64, most C++ code int), and a copy per loss call would be a
// needless allocation, so the view remembers the width and widens on read.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>

#include <Eigen/Core>

#include <cstdint>
#include <type_traits>
#include <vector>

namespace ccl {

class LabelView {
 public:
  LabelView() = default;
  LabelView(const std::int32_t* data, Index size) : data_(data), size_(size), wide_(false) {
    require(size >= 0, "LabelView: negative size ", size);
  }
  LabelView(const std::int64_t* data, Index size) : data_(data), size_(size), wide_(true) {
    require(size >= 0, "LabelView: negative size ", size);
  }
  template <class Int, class Alloc,
            class = std::enable_if_t<std::is_same_v<Int, std::int32_t> ||
                                     std::is_same_v<Int, std::int64_t>>>
  LabelView(const std::vector<Int, Alloc>& labels)  // NOLINT(google-explicit-constructor)
      : LabelView(labels.data(), static_cast<Index>(labels.size())) {}
  template <class Derived>
  LabelView(const Eigen::DenseBase<Derived>& labels)  // NOLINT(google-explicit-constructor)
      : LabelView(labels.derived().data(), labels.size()) {
    using Int = typename Derived::Scalar;
    static_assert(std::is_same_v<Int, std::int32_t> || std::is_same_v<Int, std::int64_t>,
                  "ccl: labels must be 32- or 64-bit signed integers");
    static_assert(bool(Derived::Flags & Eigen::DirectAccessBit),
                  "ccl: labels must be stored contiguously (evaluate the expression first)");
    require(labels.derived().innerStride() == 1, "LabelView: labels must be contiguous");
  }

  Index size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::int64_t operator[](Index i) const {
    return wide_ ? static_cast<const std::int64_t*>(data_)[i]
                 : static_cast<const std::int32_t*>(data_)[i];
  }
  /// The labels [first, first + count) of this view, same width, no copy.
  LabelView subview(Index first, Index count) const {
    require(first >= 0 && count >= 0 && first <= size_ && count <= size_ - first,
            "LabelView::subview: [", first, ", ", first, " + ", count, ") is outside [0, ", size_,
            ")");
    LabelView part = *this;
    part.data_ = wide_ ? static_cast<const void*>(static_cast<const std::int64_t*>(data_) + first)
                       : static_cast<const void*>(static_cast<const std::int32_t*>(data_) + first);
    part.size_ = count;
    return part;
  }

 private:
  const void* data_ = nullptr;
  Index size_ = 0;
  bool wide_ = true;
};

}  // namespace ccl
