// The streaming Summarizer: customer slots, day cells, merge and finalize (see
// include/tierkit/features/summarize.hpp). Its bytes are in summarizer_bytes.cpp.
#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "features/feature_table.hpp"
#include "features/partition.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/features/summarize.hpp"

namespace tierkit {

using summarize_detail::build_features;
using summarize_detail::check_lengths;
using summarize_detail::check_presence;
using summarize_detail::count_customers;
using summarize_detail::customer_ids;
using summarize_detail::FeatureBuilder;
using summarize_detail::fill_report;
using summarize_detail::for_each_customer;
using summarize_detail::in_days;
using summarize_detail::partition_rows;
using summarize_detail::Partitioned;

Summarizer::Summarizer(SummarizeOptions options) : options_(std::move(options)) {
    if (!(options_.freq_multiplier > 0) || !std::isfinite(options_.freq_multiplier))
        throw InvalidInput("freq_multiplier: must be > 0, got " + std::to_string(options_.freq_multiplier));
    if (options_.trend_window_days <= 0)
        throw InvalidInput("trend_window: must be > 0 days, got " + std::to_string(options_.trend_window_days));
    for (std::size_t k = 0; k < options_.windows_days.size(); ++k)
        if (options_.windows_days[k] <= 0)
            throw InvalidInput("windows[" + std::to_string(k) + "]: must be > 0 days, got " +
                               std::to_string(options_.windows_days[k]));
}

void Summarizer::add_slot(std::int64_t id) {
    ids_.push_back(id);
    after_of_.push_back(0);
    if (has_margin_ == 1) margin_.emplace_back();
    if (has_quantity_ == 1) quantity_.emplace_back();
}

void Summarizer::index() const {
    if (by_id_.size() == ids_.size()) return;
    by_id_.resize(ids_.size());
    std::iota(by_id_.begin(), by_id_.end(), 0u);
    if (!std::is_sorted(ids_.begin(), ids_.end()))
        std::sort(by_id_.begin(), by_id_.end(), [&](std::uint32_t a, std::uint32_t b) { return ids_[a] < ids_[b]; });
    sorted_ids_.resize(ids_.size());
    for (std::size_t k = 0; k < by_id_.size(); ++k) sorted_ids_[k] = ids_[by_id_[k]];
}

std::vector<std::uint32_t> Summarizer::slots_for(std::span<const std::int64_t> ids) {
    index();
    const std::size_t n = sorted_ids_.size();
    constexpr auto none = std::numeric_limits<std::uint32_t>::max();
    std::vector<std::uint32_t> out(ids.size(), none);
    std::size_t pos = 0, added = 0;
    for (std::size_t k = 0; k < ids.size(); ++k) {
        // Gallop from the previous id's place: every sorted id before `lo` is smaller.
        std::size_t lo = pos, step = 1;
        while (lo + step < n && sorted_ids_[lo + step] < ids[k]) {
            lo += step;
            step *= 2;
        }
        const auto first = sorted_ids_.begin() + static_cast<std::ptrdiff_t>(lo);
        const auto last = sorted_ids_.begin() + static_cast<std::ptrdiff_t>(std::min(n, lo + step + 1));
        pos = static_cast<std::size_t>(std::lower_bound(first, last, ids[k]) - sorted_ids_.begin());
        if (pos < n && sorted_ids_[pos] == ids[k])
            out[k] = by_id_[pos];
        else
            ++added;
    }
    if (added == 0) return out;
    if (ids_.size() + added >= none) throw InvalidInput("customer: more than 2^32-1 distinct ids");
    // New slots in id order, merged into the sorted index.
    std::vector<std::int64_t> merged_ids;
    std::vector<std::uint32_t> merged_slots;
    merged_ids.reserve(n + added);
    merged_slots.reserve(n + added);
    std::size_t j = 0;
    for (std::size_t k = 0; k < ids.size(); ++k) {
        if (out[k] != none) continue;
        for (; j < n && sorted_ids_[j] < ids[k]; ++j) {
            merged_ids.push_back(sorted_ids_[j]);
            merged_slots.push_back(by_id_[j]);
        }
        out[k] = static_cast<std::uint32_t>(ids_.size());
        add_slot(ids[k]);
        merged_ids.push_back(ids[k]);
        merged_slots.push_back(out[k]);
    }
    merged_ids.insert(merged_ids.end(), sorted_ids_.begin() + static_cast<std::ptrdiff_t>(j), sorted_ids_.end());
    merged_slots.insert(merged_slots.end(), by_id_.begin() + static_cast<std::ptrdiff_t>(j), by_id_.end());
    sorted_ids_ = std::move(merged_ids);
    by_id_ = std::move(merged_slots);
    return out;
}

void Summarizer::update(const Transactions& input) {
    check_lengths(input);
    const std::size_t n = input.customer.size();
    if (n == 0) return;
    std::vector<std::int64_t> days;
    const Transactions tx = in_days(input, days);
    int margin_known = has_margin_, quantity_known = has_quantity_;
    check_presence(margin_known, !tx.margin.empty(), "margin");
    check_presence(quantity_known, !tx.quantity.empty(), "quantity");
    Partitioned g = partition_rows(tx, options_, rows_);  // throws before anything changes

    // Customer slots. A first chunk keeps its sorted order, so its cells come out
    // compact; later chunks look their ids up (once per customer, not per row).
    has_margin_ = margin_known;
    has_quantity_ = quantity_known;
    const std::size_t m = g.customers();
    const bool fresh = ids_.empty() && cells() == 0;
    std::vector<std::uint32_t> slot;
    if (fresh) {
        ids_.clear();
        ids_.reserve(m);
        sorted_ids_.clear();
        by_id_.clear();
        after_of_.assign(m, 0);
        margin_.assign(has_margin_ == 1 ? m : 0, Sum{});
        quantity_.assign(has_quantity_ == 1 ? m : 0, Sum{});
    } else {
        slot = slots_for(customer_ids(g, tx));
    }
    const std::size_t old_cells = cells();
    std::vector<Cell> scratch;
    std::int64_t refunds = 0;
    for_each_customer(g, tx, scratch, 0, m,
                      [&](std::size_t c, std::int64_t id, std::span<const Cell> cells, const Sum& margin,
                          const Sum& quantity, std::int64_t customer_refunds, std::int64_t after) {
                          std::uint32_t s;
                          if (fresh) {
                              s = static_cast<std::uint32_t>(c);
                              ids_.push_back(id);
                          } else {
                              s = slot[c];
                          }
                          after_of_[s] += after;
                          if (has_margin_ == 1) margin_[s].add(margin);
                          if (has_quantity_ == 1) quantity_[s].add(quantity);
                          refunds += customer_refunds;
                          for (Cell cell : cells) {
                              cell.slot = s;
                              add_cell(cell);
                          }
                      });

    rows_ += static_cast<std::int64_t>(n);
    used_ += g.used_rows;
    after_ += g.after_total;
    refunds_ += refunds;
    max_day_ = std::max(max_day_, g.max_day);
    for (auto& r : g.rejects) row_rejects_.push_back(std::move(r));
    if (fresh) {  // one chunk's cells: by slot, each slot's in day order, one per day
        cell_start_.assign(m + 1, 0);
        small_start_.assign(m + 1, 0);
        for (const auto& c : cells_) ++cell_start_[c.slot + 1];
        for (const auto& c : small_) ++small_start_[c.slot + 1];
        for (std::size_t k = 0; k < m; ++k) {
            cell_start_[k + 1] += cell_start_[k];
            small_start_[k + 1] += small_start_[k];
        }
        compact_ = true;
        compacted_size_ = cells();
    } else if (cells() != old_cells) {
        compact_ = false;
        if (cells() > 2 * compacted_size_ + (1u << 16)) compact();
    }
}

namespace {

/// Whether a cell is exactly a SmallCell (one purchase, no refund, a day in int32).
bool fits_small(const Summarizer::Cell& c) noexcept {
    constexpr auto bits = [](double v) { return std::bit_cast<std::uint64_t>(v); };
    return c.purchases == 1 && bits(c.gross.lo) == 0 && bits(c.refund.hi) == 0 && bits(c.refund.lo) == 0 &&
           c.day >= std::numeric_limits<std::int32_t>::min() && c.day <= std::numeric_limits<std::int32_t>::max();
}

}  // namespace

void Summarizer::add_cell(const Cell& c) const {
    if (fits_small(c))
        small_.push_back(SmallCell{c.slot, static_cast<std::int32_t>(c.day), c.gross.hi});
    else
        cells_.push_back(c);
}

std::span<const Summarizer::Cell> Summarizer::cells_of(std::size_t slot, std::vector<Cell>& scratch) const {
    const Cell* full = cells_.data() + cell_start_[slot];
    const std::size_t nf = cell_start_[slot + 1] - cell_start_[slot];
    const SmallCell* small = small_.data() + small_start_[slot];
    const std::size_t ns = small_start_[slot + 1] - small_start_[slot];
    if (ns == 0) return {full, nf};
    scratch.clear();
    std::size_t f = 0;
    for (std::size_t k = 0; k < ns; ++k) {
        for (; f < nf && full[f].day < small[k].day; ++f) scratch.push_back(full[f]);
        scratch.push_back(Cell{small[k].slot, small[k].day, Sum{small[k].amount, 0.0}, Sum{}, 1});
    }
    for (; f < nf; ++f) scratch.push_back(full[f]);
    return scratch;
}

std::size_t Summarizer::state_bytes() const noexcept {
    std::size_t bytes = sizeof(*this) + ids_.capacity() * sizeof(std::int64_t) +
                        sorted_ids_.capacity() * sizeof(std::int64_t) + by_id_.capacity() * sizeof(std::uint32_t) +
                        after_of_.capacity() * sizeof(std::int64_t) +
                        (margin_.capacity() + quantity_.capacity()) * sizeof(Sum) + cells_.capacity() * sizeof(Cell) +
                        cell_start_.capacity() * sizeof(std::size_t) + small_.capacity() * sizeof(SmallCell) +
                        small_start_.capacity() * sizeof(std::size_t) + row_rejects_.capacity() * sizeof(Reject);
    for (const auto& r : row_rejects_) bytes += r.reason.capacity() > 15 ? r.reason.capacity() + 1 : 0;
    return bytes;
}

void Summarizer::compact() const {
    const std::size_t slots = ids_.size();
    if (compact_) {  // slots added without cells (rows after as_of or rejected) have none
        cell_start_.resize(slots + 1, cell_start_.empty() ? 0 : cell_start_.back());
        small_start_.resize(slots + 1, small_start_.empty() ? 0 : small_start_.back());
        return;
    }
    // Counting sort of both lists by slot (stable: chunk order kept within a list).
    auto by_slot = [slots](auto& cells, std::vector<std::size_t>& start) {
        start.assign(slots + 1, 0);
        for (const auto& c : cells) ++start[c.slot + 1];
        for (std::size_t s = 0; s < slots; ++s) start[s + 1] += start[s];
        std::remove_reference_t<decltype(cells)> sorted(cells.size());
        std::vector<std::size_t> fill(start.begin(), start.end() - 1);
        for (const auto& c : cells) sorted[fill[c.slot]++] = c;
        cells = std::move(sorted);
    };
    std::vector<std::size_t> full_start, small_start;
    by_slot(cells_, full_start);
    by_slot(small_, small_start);
    // Per slot: its cells in day order (usually they are: chunks come in time order),
    // one per day. Small cells are rewritten in place (merging never adds one); merged
    // days become full cells.
    std::vector<Cell> full, day_cells;
    full.reserve(cells_.size());
    cell_start_.assign(slots + 1, 0);
    small_start_.assign(slots + 1, 0);
    std::size_t w_small = 0;
    auto by_day = [](const Cell& a, const Cell& b) { return a.day < b.day; };
    for (std::size_t s = 0; s < slots; ++s) {
        day_cells.assign(cells_.begin() + static_cast<std::ptrdiff_t>(full_start[s]),
                         cells_.begin() + static_cast<std::ptrdiff_t>(full_start[s + 1]));
        for (std::size_t k = small_start[s]; k < small_start[s + 1]; ++k) {
            const SmallCell& c = small_[k];
            day_cells.push_back(Cell{c.slot, c.day, Sum{c.amount, 0.0}, Sum{}, 1});
        }
        if (!std::is_sorted(day_cells.begin(), day_cells.end(), by_day))
            std::stable_sort(day_cells.begin(), day_cells.end(), by_day);
        for (std::size_t k = 0; k < day_cells.size();) {
            Cell c = day_cells[k++];
            for (; k < day_cells.size() && day_cells[k].day == c.day; ++k) {
                c.gross.add(day_cells[k].gross);
                c.refund.add(day_cells[k].refund);
                c.purchases += day_cells[k].purchases;
            }
            if (fits_small(c))
                small_[w_small++] = SmallCell{c.slot, static_cast<std::int32_t>(c.day), c.gross.hi};
            else
                full.push_back(c);
        }
        cell_start_[s + 1] = full.size();
        small_start_[s + 1] = w_small;
    }
    small_.resize(w_small);
    small_.shrink_to_fit();
    full.shrink_to_fit();
    cells_ = std::move(full);
    compact_ = true;
    compacted_size_ = cells();
}

namespace {

const char* differing_option(const SummarizeOptions& a, const SummarizeOptions& b) {
    if (a.as_of != b.as_of) return "as_of";
    if (a.period != b.period) return "freq";
    if (a.freq_multiplier != b.freq_multiplier) return "freq_multiplier";
    if (a.trend_window_days != b.trend_window_days) return "trend_window";
    if (a.trend_cap != b.trend_cap) return "trend_cap";
    if (a.windows_days != b.windows_days) return "windows";
    if (a.reject_invalid != b.reject_invalid) return "reject_invalid";
    return nullptr;
}

}  // namespace

Summarizer& Summarizer::merge(const Summarizer& other) {
    if (this == &other) {
        // NOLINTNEXTLINE(performance-unnecessary-copy-initialization): merging with itself reads what it writes
        const Summarizer copy = other;
        return merge(copy);
    }
    if (const char* what = differing_option(options_, other.options_))
        throw InvalidInput(std::string("merge: the summarizers differ in option '") + what + "'");
    int m = has_margin_, q = has_quantity_;
    if (other.has_margin_ >= 0) check_presence(m, other.has_margin_ == 1, "margin");
    if (other.has_quantity_ >= 0) check_presence(q, other.has_quantity_ == 1, "quantity");
    if (has_margin_ < 0 && m == 1) margin_.assign(ids_.size(), Sum{});
    if (has_quantity_ < 0 && q == 1) quantity_.assign(ids_.size(), Sum{});
    has_margin_ = m;
    has_quantity_ = q;

    other.index();
    const std::vector<std::uint32_t> by_id = slots_for(other.sorted_ids_);
    std::vector<std::uint32_t> slot(other.ids_.size());
    for (std::size_t k = 0; k < by_id.size(); ++k) slot[other.by_id_[k]] = by_id[k];
    for (std::size_t s = 0; s < other.ids_.size(); ++s) {
        after_of_[slot[s]] += other.after_of_[s];
        if (has_margin_ == 1) margin_[slot[s]].add(other.margin_[s]);
        if (has_quantity_ == 1) quantity_[slot[s]].add(other.quantity_[s]);
    }
    if (other.cells() != 0) {
        cells_.reserve(cells_.size() + other.cells_.size());
        for (Cell c : other.cells_) {
            c.slot = slot[c.slot];
            cells_.push_back(c);
        }
        small_.reserve(small_.size() + other.small_.size());
        for (SmallCell c : other.small_) {
            c.slot = slot[c.slot];
            small_.push_back(c);
        }
        compact_ = false;
    }
    for (const auto& r : other.row_rejects_) row_rejects_.push_back(Reject{r.row + rows_, r.customer, r.reason});
    rows_ += other.rows_;
    used_ += other.used_;
    after_ += other.after_;
    refunds_ += other.refunds_;
    max_day_ = std::max(max_day_, other.max_day_);
    if (!compact_ && cells() > 2 * compacted_size_ + (1u << 16)) compact();
    return *this;
}

void Summarizer::map_ids(std::span<const std::int64_t> to) {
    auto mapped = [&](std::int64_t id) {
        return id >= 0 && static_cast<std::uint64_t>(id) < to.size() ? to[static_cast<std::size_t>(id)] : id;
    };
    std::vector<std::int64_t> ids(ids_.size());
    std::unordered_map<std::int64_t, std::uint32_t> slot_of;
    slot_of.reserve(ids_.size() * 2);
    for (std::size_t s = 0; s < ids_.size(); ++s) {
        ids[s] = mapped(ids_[s]);
        if (ids[s] == missing_id || !slot_of.emplace(ids[s], static_cast<std::uint32_t>(s)).second)
            throw InvalidInput("map_ids: customer " + std::to_string(ids_[s]) + " would get the id " +
                               std::to_string(ids[s]) + ", which is missing or taken");
    }
    ids_ = std::move(ids);
    sorted_ids_.clear();
    by_id_.clear();
    for (auto& r : row_rejects_)
        if (r.customer != missing_id) r.customer = mapped(r.customer);
}

Summary Summarizer::finalize() const {
    compact();
    Summary result;
    SummarizeReport& report = result.report;
    report.transactions = rows_;
    report.used = used_;
    report.after_as_of = after_;
    report.refunds = refunds_;
    report.rejected_rows = static_cast<std::int64_t>(row_rejects_.size());
    result.rejects = row_rejects_;
    const std::int64_t as_of = fill_report(report, options_, max_day_);
    const std::size_t m = ids_.size();
    index();
    const std::vector<std::uint32_t>& by_id = by_id_;
    const Sum zero;
    build_features(options_, as_of, has_margin_ == 1, has_quantity_ == 1, m, result,
                   [&](std::size_t begin, std::size_t end, FeatureBuilder& build) {
                       std::vector<Cell> scratch;
                       for (std::size_t k = begin; k < end; ++k) {
                           const std::uint32_t s = by_id[k];
                           build.add(ids_[s], cells_of(s, scratch), has_margin_ == 1 ? margin_[s] : zero,
                                     has_quantity_ == 1 ? quantity_[s] : zero, after_of_[s]);
                       }
                       return std::int64_t{0};
                   });
    count_customers(result);
    return result;
}

}  // namespace tierkit
