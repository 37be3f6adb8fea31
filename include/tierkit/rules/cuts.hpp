#pragma once
/// @file cuts.hpp
/// The step shared by every rule that tiers by cut points on one score or column
/// (Rule::score_cuts): tier_of for one value, assign_by_cuts for a column, and the
/// Scorer's one-customer path (CutsRowAssigner).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tierkit/core/parallel.hpp"
#include "tierkit/rules/rule.hpp"

namespace tierkit {

/// The shared step of every cut-point rule: the first k with value >= cuts[k].
inline std::int32_t tier_of(double v, const std::vector<double>& cuts) noexcept {
    std::int32_t k = 0;
    for (double c : cuts) {
        if (v >= c) return k;
        ++k;
    }
    return k;
}

/// tier[i] = reason[i] = tier_of(values[i], cuts) for every row, in parallel.
/// With non-increasing cuts (every rule's), tier_of(v) is the number of cuts c with
/// !(v >= c) (NaN included: all of them), counted cut by cut over blocks of rows so
/// the loop vectorizes and has no branch to mispredict.
inline void assign_by_cuts(std::span<const double> values, const std::vector<double>& cuts,
                           std::span<std::int32_t> tier, std::span<std::int32_t> reason) {
    const bool monotone = std::is_sorted(cuts.rbegin(), cuts.rend()) &&
                          std::none_of(cuts.begin(), cuts.end(), [](double c) { return std::isnan(c); });
    parallel_for(values.size(), [&](std::size_t begin, std::size_t end) {
        if (!monotone) {
            for (std::size_t i = begin; i < end; ++i) tier[i] = reason[i] = tier_of(values[i], cuts);
            return;
        }
        constexpr std::size_t block = 2048;
        std::int32_t k[block];
        for (std::size_t b = begin; b < end; b += block) {
            const std::size_t m = std::min(block, end - b);
            const double* v = values.data() + b;
            std::fill(k, k + m, 0);
            for (const double c : cuts)
                for (std::size_t i = 0; i < m; ++i) k[i] += !(v[i] >= c);
            std::copy(k, k + m, tier.data() + b);
            std::copy(k, k + m, reason.data() + b);
        }
    });
}

/// One customer by cut points on a score or a column of the Scorer's layout.
class CutsRowAssigner : public RowAssigner {
public:
    /// @param owner the rule's kind, for the error message.
    /// @throws UnknownColumn when `source` is neither a score nor one of the layout's columns.
    CutsRowAssigner(const RowLayout& layout, const std::string& source, const std::vector<double>& cuts,
                    const std::string& owner)
        : cuts_(cuts), score_(layout.score_index(source)) {
        if (score_ < 0) column_ = layout.column_index(source, owner);
    }
    void assign_one(const RowInput& in, std::int32_t& tier, std::int32_t& reason) const override {
        const double v = score_ >= 0 ? in.scores[static_cast<std::size_t>(score_)] : in.values[column_];
        tier = reason = tier_of(v, cuts_);
    }

private:
    const std::vector<double>& cuts_;
    std::ptrdiff_t score_;
    std::size_t column_ = 0;
};

}  // namespace tierkit
