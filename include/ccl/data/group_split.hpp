#pragma once
// Validation splits by video group, as UCF101's own splits are built: the clips of one group
// (gXX: the same actor, background and viewpoint, cut into several clips cYY) are all on one side,
// so that a validation score does not reward recognising a group seen in training.
//
// A group is identified by its number alone, across all classes, exactly as UCF101's splits use
// it (split 1 tests g01–g07 of every class). The split is computed from each row's FeatureFile
// (FeatureBatch::files, TeacherFeatureFolder::files()), never from the order of the rows.
//
//   const auto train = folder.load_split(ccl::data::Split::train);   // g08–g25
//   ccl::Rng rng(7);
//   const auto split = ccl::data::split_by_group(train.files, 0.2, rng); // ~20 % of the groups
//   const auto fit = train.subset(split.train), validation = train.subset(split.validation);

#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/data/teacher_features.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

namespace ccl::data {

/// Row positions (into the listing that was split) of each side, and the groups held out.
struct GroupSplit {
  std::vector<Index> train;
  std::vector<Index> validation;
  std::vector<int> validation_groups;  ///< ascending
};

/// The groups present in `files`, ascending.
inline std::vector<int> groups_of(const std::vector<FeatureFile>& files) {
  std::set<int> groups;
  for (const auto& file : files) groups.insert(file.group);
  return {groups.begin(), groups.end()};
}

/// Rows whose group is one of `validation_groups` go to validation, the others to train (both in
/// listing order). Every named group must occur in `files`, and neither side may be empty.
inline GroupSplit split_by_group(const std::vector<FeatureFile>& files,
                                 std::vector<int> validation_groups) {
  constexpr const char* op = "split_by_group";
  require(!files.empty(), op, ": no files to split");
  require(!validation_groups.empty(), op, ": no validation group given");
  std::sort(validation_groups.begin(), validation_groups.end());
  validation_groups.erase(std::unique(validation_groups.begin(), validation_groups.end()),
                          validation_groups.end());
  const std::vector<int> present = groups_of(files);
  for (int group : validation_groups)
    require(std::binary_search(present.begin(), present.end(), group), op, ": group ", group,
            " does not occur in the files (they hold groups ", present.front(), " to ",
            present.back(), ")");
  GroupSplit split;
  split.validation_groups = validation_groups;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const bool held_out =
        std::binary_search(validation_groups.begin(), validation_groups.end(), files[i].group);
    (held_out ? split.validation : split.train).push_back(Index(i));
  }
  require(!split.train.empty(), op, ": every group is a validation group; nothing is left to train on");
  return split;
}

/// Holds out round(fraction · G) of the G groups present (at least 1, at most G − 1), drawn
/// from `rng` without replacement. fraction must lie in (0, 1) and at least two groups occur.
inline GroupSplit split_by_group(const std::vector<FeatureFile>& files, double fraction, Rng& rng) {
  constexpr const char* op = "split_by_group";
  require(std::isfinite(fraction) && fraction > 0 && fraction < 1, op,
          ": the validation fraction must lie in (0, 1), got ", fraction);
  require(!files.empty(), op, ": no files to split");
  std::vector<int> groups = groups_of(files);
  const Index count = Index(groups.size());
  require(count >= 2, op, ": the files hold only group ", groups.front(),
          "; a split by group needs at least two groups");
  const Index held_out =
      std::clamp<Index>(Index(std::llround(fraction * double(count))), 1, count - 1);
  // Partial Fisher–Yates: the first `held_out` positions become a uniform sample.
  for (Index k = 0; k < held_out; ++k) std::swap(groups[std::size_t(k)], groups[std::size_t(k + rng.index(count - k))]);
  groups.resize(std::size_t(held_out));
  return split_by_group(files, std::move(groups));
}

}  // namespace ccl::data
