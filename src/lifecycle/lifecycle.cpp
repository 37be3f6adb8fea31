// Lifecycle stages, re-tiering with hysteresis and the next-action table.
#include "tierkit/lifecycle/lifecycle.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <utility>

#include "tierkit/core/error.hpp"
#include "tierkit/core/parallel.hpp"
#include "tierkit/core/random.hpp"
#include "tierkit/rules/cuts.hpp"

namespace tierkit::lifecycle {

const std::vector<StrategyEntry>& default_strategies() {
    // DOMAIN.md: lost and declining high-value customers first; key customers get
    // executive contact, high-value (cooperative) ones their account manager,
    // ordinary (transactional) ones campaigns; potential customers are nurtured.
    static const std::vector<StrategyEntry> table{
        {{}, {}, {"prospect"}, "nurture campaign"},
        {{}, {"strategic"}, {"lost"}, "executive win-back visit"},
        {{}, {"cooperative", "emotional"}, {"lost"}, "account manager win-back call"},
        {{}, {}, {"lost"}, "win-back campaign"},
        {{}, {}, {"won_back"}, "welcome-back offer"},
        {{}, {"strategic"}, {"at_risk", "declining"}, "executive retention call"},
        {{}, {"cooperative", "emotional"}, {"at_risk", "declining"}, "account manager retention review"},
        {{}, {}, {"at_risk"}, "reactivation offer"},
        {{}, {}, {"declining"}, "retention offer"},
        {{}, {"strategic"}, {"growing"}, "strategic partnership review"},
        {{}, {"cooperative", "emotional"}, {"growing"}, "upsell review"},
        {{}, {}, {"growing"}, "cross-sell offer"},
        {{}, {"strategic", "cooperative"}, {"first_time", "repeat"}, "onboarding by account manager"},
        {{}, {}, {"first_time"}, "second-purchase incentive"},
        {{}, {}, {"repeat"}, "welcome series"},
        {{}, {"strategic"}, {"loyal", "mature"}, "executive business review"},
        {{}, {"cooperative"}, {"loyal", "mature"}, "loyalty programme review"},
        {{}, {}, {"loyal"}, "loyalty appreciation"},
        {{}, {"emotional"}, {"mature"}, "loyalty appreciation"},
        {{}, {}, {}, "periodic promotions"},
    };
    return table;
}

std::vector<std::int64_t> match_previous(std::span<const std::int64_t> ids, const PreviousAssignment& previous,
                                         std::size_t tiers) {
    const std::size_t m = previous.ids.size();
    auto check_length = [&](std::size_t size, const char* column) {
        if (size != m && size != 0)
            throw InvalidInput(std::string("previous: column '") + column + "' has " + std::to_string(size) +
                               " rows, expected " + std::to_string(m) + " (one per id)");
    };
    if (previous.tier.size() != m)
        throw InvalidInput("previous: column 'tier' has " + std::to_string(previous.tier.size()) + " rows, expected " +
                           std::to_string(m) + " (one per id)");
    check_length(previous.below_count.size(), "below_count");
    check_length(previous.stage.size(), "stage");
    const auto t = static_cast<std::int32_t>(tiers);
    for (std::size_t j = 0; j < m; ++j) {
        if (previous.tier[j] < -1 || previous.tier[j] >= t)
            throw InvalidInput("previous: column 'tier', row " + std::to_string(j) + ": tier index must be in [-1, " +
                               std::to_string(t) + "), got " + std::to_string(previous.tier[j]));
        if (!previous.below_count.empty() && previous.below_count[j] < 0)
            throw InvalidInput("previous: column 'below_count', row " + std::to_string(j) + ": must be >= 0, got " +
                               std::to_string(previous.below_count[j]));
        if (!previous.stage.empty() &&
            (previous.stage[j] < -1 || previous.stage[j] >= static_cast<std::int8_t>(stage_count)))
            throw InvalidInput("previous: column 'stage', row " + std::to_string(j) + ": stage code must be in [-1, " +
                               std::to_string(stage_count) + "), got " + std::to_string(previous.stage[j]));
    }
    std::vector<std::int64_t> match(ids.size(), -1);
    // The common case: the same customers in the same order.
    if (m == ids.size() && std::equal(ids.begin(), ids.end(), previous.ids.begin())) {
        for (std::size_t i = 0; i < m; ++i) match[i] = static_cast<std::int64_t>(i);
        return match;
    }
    // Open addressing with linear probing on a power-of-two table at most 2/3 full;
    // each slot holds its key, so a probe touches one cache line.
    struct Slot {
        std::int64_t key;
        std::int64_t row;  // -1 = empty
    };
    std::size_t cap = 16;
    while (2 * cap < 3 * m) cap <<= 1;
    const std::size_t mask = cap - 1;
    std::vector<Slot> slots(cap, Slot{0, -1});
    auto hash = [](std::int64_t key) {
        return static_cast<std::size_t>(splitmix64_hash(static_cast<std::uint64_t>(key)));
    };
    // Keys are hashed and their slots prefetched a batch ahead: the table is far
    // larger than the cache, so each first probe is a memory access.
    constexpr std::size_t batch = 16;
    for (std::size_t j0 = 0; j0 < m; j0 += batch) {
        const std::size_t j1 = std::min(m, j0 + batch);
        std::size_t start[batch];
        for (std::size_t j = j0; j < j1; ++j) {
            start[j - j0] = hash(previous.ids[j]) & mask;
            __builtin_prefetch(&slots[start[j - j0]]);
        }
        for (std::size_t j = j0; j < j1; ++j) {
            const std::int64_t key = previous.ids[j];
            std::size_t h = start[j - j0];
            while (slots[h].row >= 0) {
                if (slots[h].key == key)
                    throw InvalidInput("previous: ids, row " + std::to_string(j) + ": customer " + std::to_string(key) +
                                       " appears more than once (first at row " + std::to_string(slots[h].row) + ")");
                h = (h + 1) & mask;
            }
            slots[h] = Slot{key, static_cast<std::int64_t>(j)};
        }
    }
    parallel_for(ids.size(), [&](std::size_t begin, std::size_t end) {
        for (std::size_t i0 = begin; i0 < end; i0 += batch) {
            const std::size_t i1 = std::min(end, i0 + batch);
            std::size_t start[batch];
            for (std::size_t i = i0; i < i1; ++i) {
                start[i - i0] = hash(ids[i]) & mask;
                __builtin_prefetch(&slots[start[i - i0]]);
            }
            for (std::size_t i = i0; i < i1; ++i)
                for (std::size_t h = start[i - i0]; slots[h].row >= 0; h = (h + 1) & mask)
                    if (slots[h].key == ids[i]) {
                        match[i] = slots[h].row;
                        break;
                    }
        }
    });
    return match;
}

void retier(const HysteresisSpec& spec, const ScoreCuts& cuts, std::span<const double> values,
            std::span<const std::int64_t> match, const PreviousAssignment& previous,
            const std::vector<std::string>& tier_names, std::span<std::int32_t> tier, std::span<std::int32_t> reason,
            std::vector<std::string>& reasons, std::span<std::int32_t> below_count) {
    const auto n_tiers = static_cast<std::int32_t>(tier_names.size());
    const bool has_cuts = !cuts.source.empty();
    // Reason texts, added on first use: per tier, a promotion short of up_margin
    // (kept_up), a demotion still waiting for k evaluations or within down_margin
    // (kept_down), a demotion cut short by max_demotion (soft).
    enum Kind { kept_up, kept_down, soft };
    std::vector<std::int32_t> codes(3 * tier_names.size(), -1);
    auto code = [&](Kind kind, std::int32_t t) {
        auto& c = codes[static_cast<std::size_t>(kind) * tier_names.size() + static_cast<std::size_t>(t)];
        if (c >= 0) return c;
        const std::string& name = tier_names[static_cast<std::size_t>(t)];
        c = static_cast<std::int32_t>(reasons.size());
        if (kind == kept_up)
            reasons.push_back("hysteresis: " + name + ": a better tier needs " + cuts.source + " >= its cut + " +
                              format_number(spec.up_margin));
        else if (kind == kept_down)
            reasons.push_back(has_cuts ? "hysteresis: kept " + name + ": demotion needs " + cuts.source +
                                             " < its cut - " + format_number(spec.down_margin) + " for " +
                                             std::to_string(spec.k) + " evaluations in a row"
                                       : "hysteresis: kept " + name + ": demotion needs " + std::to_string(spec.k) +
                                             " evaluations in a row below it");
        else
            reasons.push_back("hysteresis: down to " + name + " (at most " + std::to_string(spec.max_demotion) +
                              " tier(s) per evaluation)");
        return c;
    };
    const bool has_counter = !previous.below_count.empty();
    const std::size_t n = tier.size();
    for (std::size_t i = 0; i < n; ++i) {
        below_count[i] = 0;
        const std::int64_t j = match[i];
        if (j < 0) continue;
        const std::int32_t p = previous.tier[static_cast<std::size_t>(j)];
        if (p < 0) continue;
        const std::int32_t r = tier[i];
        const std::int32_t c = has_counter ? previous.below_count[static_cast<std::size_t>(j)] : 0;
        std::int32_t up = r, down = r;
        if (has_cuts) {
            up = std::min(tier_of(values[i] - spec.up_margin, cuts.cuts), n_tiers - 1);
            down = std::min(tier_of(values[i] + spec.down_margin, cuts.cuts), n_tiers - 1);
        }
        if (up < p) {  // promotion clears the margin (maybe not all the way to r)
            if (up != r) reason[i] = code(kept_up, up);
            tier[i] = up;
            continue;
        }
        if (down <= p) {  // at or above the held tier, or within the margins
            if (r != p) reason[i] = code(r < p ? kept_up : kept_down, p);
            tier[i] = p;
            continue;
        }
        const std::int32_t count = c == std::numeric_limits<std::int32_t>::max() ? c : c + 1;
        if (count < spec.k) {
            tier[i] = p;
            reason[i] = code(kept_down, p);
            below_count[i] = count;
            continue;
        }
        const std::int32_t step =
            static_cast<std::int32_t>(std::min<std::int64_t>(down, std::int64_t{p} + spec.max_demotion));
        tier[i] = step;
        if (step < down) {
            reason[i] = code(soft, step);
            below_count[i] = count;
        } else if (step != r) {
            reason[i] = code(soft, step);
        }
    }
}

namespace {
const char* const stage_columns[] = {"orders", "days_since_last", "first_purchase", "last_purchase", "trend"};
}

std::vector<std::string> stage_input_columns() { return {std::begin(stage_columns), std::end(stage_columns)}; }

bool has_stage_columns(const FeatureTable& table) {
    for (const char* c : stage_columns)
        if (!table.has(c)) return false;
    return true;
}

Stages compute_stages(const LifecycleSpec& spec, const FeatureTable& table,
                      std::span<const std::int8_t> previous_stage) {
    for (const char* c : stage_columns)
        if (!table.has(c)) throw UnknownColumn(std::string("lifecycle: ") + table.unknown_message(c));
    const std::size_t n = table.rows();
    if (!previous_stage.empty() && previous_stage.size() != n)
        throw InvalidInput("previous stage: expected " + std::to_string(n) + " values, got " +
                           std::to_string(previous_stage.size()));
    const auto orders = table.column("orders");
    const auto dsl = table.column("days_since_last");
    const auto first = table.column("first_purchase");
    const auto last = table.column("last_purchase");
    const auto trend = table.column("trend");
    const bool with_p = table.has("p_alive");
    const auto p_alive = with_p ? table.column("p_alive") : std::span<const double>{};
    // Purchases are counted in purchase periods when the table has them (same-day
    // orders are one purchase), else in orders.
    const bool with_periods = table.has("active_periods");
    const auto purchases = with_periods ? table.column("active_periods") : orders;
    Stages s;
    const auto num = [](double v) { return format_number(v); };
    enum : std::int32_t {
        r_prospect,
        r_lost_days,
        r_lost_p,
        r_won_back,
        r_at_risk_days,
        r_at_risk_p,
        r_first_time,
        r_repeat,
        r_declining_idle,
        r_declining_trend,
        r_growing,
        r_loyal,
        r_mature
    };
    const std::string stable = "trend between " + num(spec.declining_trend) + " and " + num(spec.growing_trend);
    s.reasons = {
        "prospect: no purchase yet (orders 0 or missing)",
        "lost: no purchase for more than " + num(spec.lost_days) + " days",
        "lost: p_alive < " + num(spec.lost_p_alive),
        "won_back: bought again after being lost in the previous evaluation",
        "at_risk: no purchase for more than " + num(spec.at_risk_days) + " days",
        "at_risk: p_alive < " + num(spec.at_risk_p_alive),
        "first_time: one purchase so far",
        "repeat: bought again, first purchase within " + num(spec.new_days) + " days",
        "declining: no purchase for more than " + num(spec.active_days) + " days",
        "declining: trend <= " + num(spec.declining_trend),
        "growing: trend >= " + num(spec.growing_trend),
        "loyal: " + num(spec.loyal_purchases) + "+ purchases over " + num(spec.loyal_days) + "+ days, " + stable,
        "mature: bought within " + num(spec.active_days) + " days, " + stable};
    s.stage.resize(n);
    s.reason.resize(n);
    auto check = [](std::span<const double> col, const char* name, std::size_t i) {
        if (!std::isfinite(col[i]))
            throw InvalidInput(std::string("lifecycle: column '") + name + "', row " + std::to_string(i) +
                               ": must be a finite number for a customer with orders > 0, got " +
                               std::to_string(col[i]));
    };
    // The stage of reason code r (the enum above, in the order the rules are tried).
    constexpr std::array<Stage, r_mature + 1> stage_of_reason{
        Stage::prospect, Stage::lost,       Stage::lost,   Stage::won_back,  Stage::at_risk,
        Stage::at_risk,  Stage::first_time, Stage::repeat, Stage::declining, Stage::declining,
        Stage::growing,  Stage::loyal,      Stage::mature};
    const auto lost = static_cast<std::int8_t>(Stage::lost);
    // Each row's reason is the first rule that holds, tried from the last one up with
    // selects instead of branches (the stages mix within any range of rows, so branches
    // would mispredict). A row with orders > 0 must have finite values (checked after);
    // a prospect's other values do not matter.
    auto range = [&](std::size_t begin, std::size_t end) {
        bool finite = true;
        for (std::size_t i = begin; i < end; ++i) {
            const double d = dsl[i], tr = trend[i], bought = purchases[i];
            const double tenure = last[i] + d - first[i];  // days since the first purchase
            const double p = with_p ? p_alive[i] : 1.0;
            std::int32_t r = r_mature;
            r = bought >= spec.loyal_purchases && tenure >= spec.loyal_days ? r_loyal : r;
            r = tr >= spec.growing_trend ? r_growing : r;
            // The trend is read only for active customers, whose latest trend window
            // holds a purchase (so it is defined).
            r = tr <= spec.declining_trend ? r_declining_trend : r;
            r = d > spec.active_days ? r_declining_idle : r;
            // The relationship ladder: one purchase, then a new repeat buyer.
            r = tenure <= spec.new_days ? r_repeat : r;
            r = bought <= 1 ? r_first_time : r;
            // Idleness first, by days and, with a p_alive column, by P(alive): a BG/NBD
            // P(alive) is 1 for every one-time buyer however long ago, so days count too.
            r = with_p && p < spec.at_risk_p_alive ? r_at_risk_p : r;
            r = d > spec.at_risk_days ? r_at_risk_days : r;
            r = !previous_stage.empty() && previous_stage[i] == lost ? r_won_back : r;
            r = with_p && p < spec.lost_p_alive ? r_lost_p : r;
            r = d > spec.lost_days ? r_lost_days : r;
            const bool active = orders[i] > 0;
            r = active ? r : r_prospect;
            // v - v is 0 exactly for finite v (NaN otherwise).
            const double periods = with_periods ? bought : 0.0;  // orders > 0 is checked by itself
            finite &=
                !active ||
                (d - d) + (first[i] - first[i]) + (last[i] - last[i]) + (tr - tr) + (p - p) + (periods - periods) == 0;
            s.reason[i] = r;
            s.stage[i] = static_cast<std::int8_t>(stage_of_reason[static_cast<std::size_t>(r)]);
        }
        return finite;
    };
    std::atomic<bool> bad{false};
    parallel_for(n, [&](std::size_t begin, std::size_t end) {
        if (!range(begin, end)) bad.store(true, std::memory_order_relaxed);
    });
    if (bad.load())  // name the first row with a value that is not finite, at any thread count
        for (std::size_t i = 0; i < n; ++i) {
            if (!(orders[i] > 0)) continue;
            check(dsl, "days_since_last", i);
            check(first, "first_purchase", i);
            check(last, "last_purchase", i);
            check(trend, "trend", i);
            if (with_p) check(p_alive, "p_alive", i);
            if (with_periods) check(purchases, "active_periods", i);
        }
    return s;
}

ActionTable action_table(const LifecycleSpec& spec, const std::vector<TierSpec>& tiers) {
    auto matches = [](const std::vector<std::string>& list, const std::string& value) {
        return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
    };
    ActionTable out;
    out.code.resize(tiers.size() * stage_count);
    for (std::size_t t = 0; t < tiers.size(); ++t) {
        const std::string mode = to_string(tiers[t].mode);
        for (std::size_t s = 0; s < stage_count; ++s) {
            const StrategyEntry* hit = nullptr;
            for (const auto* table : {&spec.strategies, &default_strategies()}) {
                for (const auto& e : *table)
                    if (matches(e.tiers, tiers[t].name) && matches(e.modes, mode) &&
                        matches(e.stages, stage_names[s])) {
                        hit = &e;
                        break;
                    }
                if (hit) break;
            }
            auto it = std::find(out.actions.begin(), out.actions.end(), hit->action);
            if (it == out.actions.end()) it = out.actions.insert(out.actions.end(), hit->action);
            out.code[t * stage_count + s] = static_cast<std::int32_t>(it - out.actions.begin());
        }
    }
    return out;
}

}  // namespace tierkit::lifecycle
