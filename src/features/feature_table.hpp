#pragma once
// The feature table: each customer's features from its day cells (private to
// src/features/), for summarize() and Summarizer::finalize().
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "tierkit/features/summarize.hpp"

namespace tierkit::summarize_detail {

class Columns;

/// Computes the features of customers (in id order) from their day cells, writing
/// rows from `row` on; customers without features go to `rejects`.
class FeatureBuilder {
public:
    FeatureBuilder(const SummarizeOptions& options, std::int64_t as_of, Columns& out, std::size_t row,
                   std::vector<Reject>& rejects);

    std::size_t row() const noexcept { return row_; }

    /// One customer: `cells` in day order (empty when no row was used).
    /// @throws InvalidInput when a sum overflows (unless options.reject_invalid).
    void add(std::int64_t id, std::span<const Summarizer::Cell> cells, const Summarizer::Sum& margin,
             const Summarizer::Sum& quantity, std::int64_t after);

private:
    std::string feature_name(std::size_t k) const;

    const SummarizeOptions& o_;
    std::int64_t as_of_, as_of_period_;
    Columns& out_;
    std::size_t row_;
    std::vector<Reject>& rejects_;
    std::size_t nw_;
    std::vector<std::int64_t> limits_, orders_at_;
    std::vector<Summarizer::Sum> tail_at_;
    std::vector<std::size_t> by_limit_;  ///< threshold indices by increasing days
};

/// Adds customers [begin, end) through the builder; returns their refund rows.
using FeatureBody = std::function<std::int64_t(std::size_t begin, std::size_t end, FeatureBuilder& build)>;

/// The feature table of `customers` customers (in id order): body(begin, end, builder)
/// adds customers [begin, end) and returns their refund rows. Fixed contiguous
/// ranges run in parallel; the table and the rejects (appended to `rejects` in id
/// order) do not depend on the thread count. Returns the refunds counted.
std::int64_t build_features(const SummarizeOptions& o, std::int64_t as_of, bool has_margin, bool has_quantity,
                            std::size_t customers, Summary& result, const FeatureBody& body);

/// The report fields that do not come from the customers, and the as_of to use.
std::int64_t fill_report(SummarizeReport& report, const SummarizeOptions& options, std::int64_t max_day);

/// report.customers and report.rejected_customers from the table and the rejects.
void count_customers(Summary& s);

}  // namespace tierkit::summarize_detail
