#pragma once
// Dense class ids and per-class counts of a batch's labels: what multi-class NCE needs to know
// |P(i)| (rows sharing i's label, i included) and |N(i)| = B - |P(i)| without a B x B mask.

#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace ccl::loss::detail {

class LabelGroups {
 public:
  /// Labels may be any integers (only equality matters); ids are assigned in sorted label order.
  void assign(const LabelView& labels) {
    const Index batch = labels.size();
    order_.resize(static_cast<std::size_t>(batch));
    std::iota(order_.begin(), order_.end(), Index(0));
    std::stable_sort(order_.begin(), order_.end(),
                     [&](Index a, Index b) { return labels[a] < labels[b]; });
    ids_.resize(batch);
    counts_.clear();
    for (Index k = 0; k < batch; ++k) {
      const Index row = order_[static_cast<std::size_t>(k)];
      if (k == 0 || labels[row] != labels[order_[static_cast<std::size_t>(k - 1)]]) {
        counts_.push_back(0);
      }
      ids_[row] = static_cast<std::int32_t>(counts_.size() - 1);
      ++counts_.back();
    }
  }

  const Eigen::Array<std::int32_t, Eigen::Dynamic, 1>& ids() const { return ids_; }
  Index positives(Index row) const { return counts_[static_cast<std::size_t>(ids_[row])]; }
  Index classes() const { return static_cast<Index>(counts_.size()); }

 private:
  std::vector<Index> order_;
  Eigen::Array<std::int32_t, Eigen::Dynamic, 1> ids_;
  std::vector<Index> counts_;
};

}  // namespace ccl::loss::detail
