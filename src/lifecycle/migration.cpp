// Migration matrix, Markov projection, events, revenue at risk and win-back list
// (see include/tierkit/lifecycle/migration.hpp).
#include "tierkit/lifecycle/migration.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "tierkit/core/error.hpp"
#include "tierkit/core/parallel.hpp"

namespace tierkit::lifecycle {
namespace {

// Rows per block of the order-fixed sums: partial results depend on blocks only,
// never on the thread count.
constexpr std::size_t block_rows = std::size_t{1} << 16;

std::size_t blocks(std::size_t n) { return (n + block_rows - 1) / block_rows; }

// Runs fn(block, begin, end) for every block, blocks spread over threads.
template <class Fn>
void for_blocks(std::size_t n, Fn&& fn) {
    parallel_for(
        blocks(n),
        [&](std::size_t b0, std::size_t b1) {
            for (std::size_t b = b0; b < b1; ++b) fn(b, b * block_rows, std::min(n, (b + 1) * block_rows));
        },
        1);
}

std::string row_text(const char* column, std::size_t row) {
    return std::string(column) + ": row " + std::to_string(row);
}

void check_length(std::size_t size, std::size_t n, const char* column) {
    if (size != n)
        throw InvalidInput(std::string(column) + ": expected " + std::to_string(n) + " rows (as tier_after), got " +
                           std::to_string(size));
}

void check_values(std::span<const double> values, std::size_t n) {
    check_length(values.size(), n, "values");
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(values[i]))
            throw InvalidInput(row_text("values", i) + ": must be finite, got " + std::to_string(values[i]));
}

void require_previous(const Transitions& t) {
    if (!t.has_previous()) throw InvalidInput("tier_before: required (the previous assignment), got none");
}

bool is_downgrade(const Transitions& t, std::size_t i) {
    return !t.tier_before.empty() && t.tier_before[i] != absent && t.tier_after[i] != absent &&
           t.tier_after[i] > t.tier_before[i];
}

}  // namespace

void Transitions::validate() const {
    const std::size_t n = rows();
    if (tiers == 0) throw InvalidInput("tiers: must be >= 1, got 0");
    check_length(customers.size(), n, "customers");
    if (!tier_before.empty()) check_length(tier_before.size(), n, "tier_before");
    if (!stage_before.empty()) check_length(stage_before.size(), n, "stage_before");
    if (!stage_after.empty()) check_length(stage_after.size(), n, "stage_after");
    const auto k = static_cast<std::int32_t>(tiers);
    auto check_tier = [&](std::span<const std::int32_t> col, const char* name) {
        for (std::size_t i = 0; i < col.size(); ++i)
            if (col[i] != absent && (col[i] < 0 || col[i] >= k))
                throw InvalidInput(row_text(name, i) + ": must be in [0, " + std::to_string(k) +
                                   ") or absent (-1), got " + std::to_string(col[i]));
    };
    check_tier(tier_before, "tier_before");
    check_tier(tier_after, "tier_after");
    if (!tier_before.empty())
        for (std::size_t i = 0; i < n; ++i)
            if (tier_before[i] == absent && tier_after[i] == absent)
                throw InvalidInput(row_text("tier_after", i) + ": customer " + std::to_string(customers[i]) +
                                   " is absent from both assignments");
    if (tier_before.empty())
        for (std::size_t i = 0; i < n; ++i)
            if (tier_after[i] == absent)
                throw InvalidInput(row_text("tier_after", i) + ": absent without a previous assignment");
    auto check_stage = [&](std::span<const std::int32_t> col, const char* name) {
        for (std::size_t i = 0; i < col.size(); ++i)
            if (col[i] != absent && (col[i] < 0 || col[i] >= static_cast<std::int32_t>(stage_count)))
                throw InvalidInput(row_text(name, i) + ": must be a stage code in [0, " + std::to_string(stage_count) +
                                   ") or absent (-1), got " + std::to_string(col[i]));
    };
    check_stage(stage_before, "stage_before");
    check_stage(stage_after, "stage_after");
}

std::vector<std::int64_t> MigrationMatrix::before_sizes() const {
    std::vector<std::int64_t> out(size(), 0);
    for (std::size_t i = 0; i < size(); ++i)
        for (std::size_t j = 0; j < size(); ++j) out[i] += count(i, j);
    return out;
}

std::vector<std::int64_t> MigrationMatrix::after_sizes() const {
    std::vector<std::int64_t> out(size(), 0);
    for (std::size_t i = 0; i < size(); ++i)
        for (std::size_t j = 0; j < size(); ++j) out[j] += count(i, j);
    return out;
}

CrossTable crosstab(const Codes& a, const Codes& b, std::span<const double> values) {
    const std::size_t n = a.codes.size();
    if (b.codes.size() != n)
        throw InvalidInput(std::string(b.name) + ": expected " + std::to_string(n) + " rows (as " +
                           std::string(a.name) + "), got " + std::to_string(b.codes.size()));
    auto check_codes = [](const Codes& c) {
        const auto k = static_cast<std::int32_t>(c.categories);
        for (std::size_t i = 0; i < c.codes.size(); ++i)
            if (c.codes[i] != absent && (c.codes[i] < 0 || c.codes[i] >= k))
                throw InvalidInput(std::string(c.name) + ": row " + std::to_string(i) + ": must be in [0, " +
                                   std::to_string(k) + ") or absent (-1), got " + std::to_string(c.codes[i]));
    };
    check_codes(a);
    check_codes(b);
    for (std::size_t i = 0; i < n; ++i)
        if (a.codes[i] == absent && b.codes[i] == absent)
            throw InvalidInput(std::string(b.name) + ": row " + std::to_string(i) + ": absent from both " +
                               std::string(a.name) + " and " + std::string(b.name));
    const bool with_values = !values.empty();
    if (with_values) {
        if (values.size() != n)
            throw InvalidInput("values: expected " + std::to_string(n) + " rows (as " + std::string(a.name) +
                               "), got " + std::to_string(values.size()));
        for (std::size_t i = 0; i < n; ++i)
            if (!std::isfinite(values[i]))
                throw InvalidInput(row_text("values", i) + ": must be finite, got " + std::to_string(values[i]));
    }
    CrossTable x;
    x.rows = a.categories;
    x.cols = b.categories;
    const std::size_t w = x.cols + 1, cells = (x.rows + 1) * w;
    const auto cell = [&](std::size_t i) {
        const auto from = a.codes[i] == absent ? x.rows : static_cast<std::size_t>(a.codes[i]);
        const auto to = b.codes[i] == absent ? x.cols : static_cast<std::size_t>(b.codes[i]);
        return from * w + to;
    };
    const std::size_t nb = blocks(n);
    std::vector<std::int64_t> counts(nb * cells, 0);
    std::vector<double> sums(with_values ? nb * cells : 0, 0.0);
    for_blocks(n, [&](std::size_t blk, std::size_t begin, std::size_t end) {
        std::int64_t* c = counts.data() + blk * cells;
        double* v = with_values ? sums.data() + blk * cells : nullptr;
        for (std::size_t i = begin; i < end; ++i) {
            const std::size_t k = cell(i);
            ++c[k];
            if (v) v[k] += values[i];
        }
    });
    x.counts.assign(cells, 0);
    if (with_values) x.sums.assign(cells, 0.0);
    for (std::size_t blk = 0; blk < nb; ++blk)
        for (std::size_t k = 0; k < cells; ++k) {
            x.counts[k] += counts[blk * cells + k];
            if (with_values) x.sums[k] += sums[blk * cells + k];
        }
    return x;
}

MigrationMatrix migration(const Transitions& t, std::span<const double> values) {
    t.validate();
    require_previous(t);
    if (!values.empty()) check_values(values, t.rows());
    CrossTable x =
        crosstab(Codes{t.tier_before, t.tiers, "tier_before"}, Codes{t.tier_after, t.tiers, "tier_after"}, values);
    MigrationMatrix m;
    m.tiers = t.tiers;
    m.counts = std::move(x.counts);
    m.revenue_moved = std::move(x.sums);
    const std::size_t s = m.size();
    m.row_shares.assign(s * s, 0.0);
    for (std::size_t i = 0; i < s; ++i) {
        std::int64_t total = 0;
        for (std::size_t j = 0; j < s; ++j) total += m.count(i, j);
        if (total > 0)
            for (std::size_t j = 0; j < s; ++j)
                m.row_shares[i * s + j] = static_cast<double>(m.count(i, j)) / static_cast<double>(total);
    }
    return m;
}

TransitionModel transition_model(const MigrationMatrix& m, const ProjectionOptions& options) {
    if (m.tiers == 0 || m.counts.size() != m.size() * m.size())
        throw InvalidInput("migration: expected a matrix of at least one tier");
    const std::size_t k = m.tiers, w = k + 1;
    TransitionModel model;
    model.tiers = k;
    model.matrix.assign(k * w, 0.0);
    model.entries.assign(k, 0.0);
    for (std::size_t i = 0; i < k; ++i) {
        std::int64_t total = 0;
        for (std::size_t j = 0; j < (options.exits ? w : k); ++j) total += m.count(i, j);
        if (total == 0) {
            model.matrix[i * w + i] = 1.0;  // no evidence: the tier keeps its customers
            continue;
        }
        for (std::size_t j = 0; j < (options.exits ? w : k); ++j)
            model.matrix[i * w + j] = static_cast<double>(m.count(i, j)) / static_cast<double>(total);
    }
    if (options.entries)
        for (std::size_t j = 0; j < k; ++j) model.entries[j] = static_cast<double>(m.count(k, j));
    return model;
}

Projection project(const MigrationMatrix& m, std::size_t periods, std::span<const double> value_per_customer,
                   const ProjectionOptions& options) {
    const TransitionModel model = transition_model(m, options);
    const std::size_t k = m.tiers, w = k + 1;
    if (!value_per_customer.empty()) {
        if (value_per_customer.size() != k)
            throw InvalidInput("value_per_customer: expected " + std::to_string(k) + " values (one per tier), got " +
                               std::to_string(value_per_customer.size()));
        for (std::size_t j = 0; j < k; ++j)
            if (!std::isfinite(value_per_customer[j]))
                throw InvalidInput("value_per_customer[" + std::to_string(j) + "]: must be finite, got " +
                                   std::to_string(value_per_customer[j]));
    }
    Projection p;
    p.tiers = k;
    p.periods = periods;
    p.sizes.assign((periods + 1) * k, 0.0);
    p.entered.assign(periods + 1, 0.0);
    p.exited.assign(periods + 1, 0.0);
    const auto after = m.after_sizes();
    for (std::size_t j = 0; j < k; ++j) p.sizes[j] = static_cast<double>(after[j]);
    const double inflow = std::accumulate(model.entries.begin(), model.entries.end(), 0.0);
    for (std::size_t t = 1; t <= periods; ++t) {
        const double* prev = p.sizes.data() + (t - 1) * k;
        double* next = p.sizes.data() + t * k;
        double out = 0.0;
        for (std::size_t j = 0; j < k; ++j) next[j] = model.entries[j];
        for (std::size_t i = 0; i < k; ++i) {
            for (std::size_t j = 0; j < k; ++j) next[j] += prev[i] * model.matrix[i * w + j];
            out += prev[i] * model.matrix[i * w + k];
        }
        p.entered[t] = inflow;
        p.exited[t] = out;
    }
    if (!value_per_customer.empty()) {
        p.value.resize(p.sizes.size());
        for (std::size_t r = 0; r < p.sizes.size(); ++r) p.value[r] = p.sizes[r] * value_per_customer[r % k];
    }
    return p;
}

std::vector<double> steady_state(const TransitionModel& model, double total) {
    const std::size_t k = model.tiers, w = k + 1;
    Eigen::MatrixXd p(k, k);
    bool closed = true;
    for (std::size_t i = 0; i < k; ++i) {
        for (std::size_t j = 0; j < k; ++j)
            p(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = model.matrix[i * w + j];
        if (model.matrix[i * w + k] > 0 || model.entries[i] > 0) closed = false;
    }
    const auto kk = static_cast<Eigen::Index>(k);
    Eigen::MatrixXd a;
    Eigen::VectorXd b;
    if (closed) {
        // x (P - I) = 0 with sum(x) = total.
        a.resize(kk + 1, kk);
        a.topRows(kk) = p.transpose() - Eigen::MatrixXd::Identity(kk, kk);
        a.row(kk).setOnes();
        b = Eigen::VectorXd::Zero(kk + 1);
        b(kk) = total;
    } else {
        // x (I - P) = entries.
        a = Eigen::MatrixXd::Identity(kk, kk) - p.transpose();
        b = Eigen::Map<const Eigen::VectorXd>(model.entries.data(), kk);
    }
    Eigen::FullPivLU<Eigen::MatrixXd> lu(a);
    lu.setThreshold(1e-12);
    if (lu.rank() < kk)
        throw NumericError(closed
                               ? "steady_state: the chain is not irreducible, its stationary distribution is not unique"
                               : "steady_state: some tiers are entered but never left, sizes grow without a limit");
    const Eigen::VectorXd x = a.colPivHouseholderQr().solve(b);
    return {x.data(), x.data() + kk};
}

std::string_view to_string(EventKind kind) {
    switch (kind) {
        case EventKind::upgrade:
            return "upgrade";
        case EventKind::downgrade:
            return "downgrade";
        case EventKind::new_customer:
            return "new";
        case EventKind::lost:
            return "lost";
        case EventKind::won_back:
            return "won_back";
        case EventKind::stage_change:
            return "stage_change";
    }
    return "unknown";
}

std::int8_t event_kind(const Transitions& t, std::size_t i) {
    const std::int32_t from = t.tier_before[i], to = t.tier_after[i];
    if (from == absent) return static_cast<std::int8_t>(EventKind::new_customer);
    if (to == absent) return static_cast<std::int8_t>(EventKind::lost);
    const bool stages = t.has_stages();
    const std::int32_t s0 = stages ? t.stage_before[i] : absent, s1 = stages ? t.stage_after[i] : absent;
    if (stages && s1 == stage_code(Stage::lost) && s0 != stage_code(Stage::lost))
        return static_cast<std::int8_t>(EventKind::lost);
    if (stages && s1 == stage_code(Stage::won_back) && s0 != stage_code(Stage::won_back))
        return static_cast<std::int8_t>(EventKind::won_back);
    if (to < from) return static_cast<std::int8_t>(EventKind::upgrade);
    if (to > from) return static_cast<std::int8_t>(EventKind::downgrade);
    if (stages && s0 != s1) return static_cast<std::int8_t>(EventKind::stage_change);
    return no_event;
}

Events events(const Transitions& t) {
    t.validate();
    require_previous(t);
    const std::size_t n = t.rows(), nb = blocks(n);
    // Two passes over fixed blocks: classify and count, then copy each block's
    // events into its slice of the output.
    std::vector<std::int8_t> kind(n);
    std::vector<std::size_t> offset(nb + 1, 0);
    for_blocks(n, [&](std::size_t b, std::size_t begin, std::size_t end) {
        std::size_t c = 0;
        for (std::size_t i = begin; i < end; ++i) {
            kind[i] = event_kind(t, i);
            c += kind[i] != no_event;
        }
        offset[b + 1] = c;
    });
    std::partial_sum(offset.begin(), offset.end(), offset.begin());
    Events out;
    out.rows.resize(offset[nb]);
    out.kinds.resize(offset[nb]);
    for_blocks(n, [&](std::size_t b, std::size_t begin, std::size_t end) {
        std::size_t at = offset[b];
        for (std::size_t i = begin; i < end; ++i) {
            if (kind[i] == no_event) continue;
            out.rows[at] = static_cast<std::int64_t>(i);
            out.kinds[at] = kind[i];
            ++at;
        }
    });
    return out;
}

std::string_view to_string(RiskKind kind) {
    switch (kind) {
        case RiskKind::lost:
            return "lost";
        case RiskKind::downgraded:
            return "downgraded";
        case RiskKind::declining:
            return "declining";
    }
    return "unknown";
}

namespace {
/// Stages whose value is slipping away: gone quiet (at_risk) or spending less (declining).
bool fading(std::int32_t stage) { return stage == stage_code(Stage::at_risk) || stage == stage_code(Stage::declining); }
}  // namespace

std::int8_t risk_kind(const Transitions& t, std::size_t i) {
    const bool stages = !t.stage_after.empty();
    if (!t.tier_before.empty() && t.tier_before[i] != absent && t.tier_after[i] == absent)
        return static_cast<std::int8_t>(RiskKind::lost);
    if (stages && t.stage_after[i] == stage_code(Stage::lost)) return static_cast<std::int8_t>(RiskKind::lost);
    if (is_downgrade(t, i)) return static_cast<std::int8_t>(RiskKind::downgraded);
    if (stages && fading(t.stage_after[i])) return static_cast<std::int8_t>(RiskKind::declining);
    return no_risk;
}

std::vector<std::int8_t> risks(const Transitions& t) {
    t.validate();
    std::vector<std::int8_t> out(t.rows());
    parallel_for(out.size(), [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) out[i] = risk_kind(t, i);
    });
    return out;
}

namespace {
void check_risk_input(const Transitions& t, std::span<const double> values) {
    t.validate();
    if (t.tier_before.empty() && t.stage_after.empty())
        throw InvalidInput(
            "tier_before, stage_after: revenue at risk needs a previous assignment or stages, got neither");
    check_values(values, t.rows());
}
}  // namespace

RevenueAtRisk revenue_at_risk(const Transitions& t, std::span<const double> values) {
    check_risk_input(t, values);
    const std::size_t n = t.rows(), k = t.tiers, nb = blocks(n);
    constexpr std::size_t stride = 2 + 2 * risk_kinds;  // per tier: count, value, 3 risk counts, 3 risk values
    std::vector<double> partial(nb * k * stride, 0.0);
    for_blocks(n, [&](std::size_t b, std::size_t begin, std::size_t end) {
        double* acc = partial.data() + b * k * stride;
        for (std::size_t i = begin; i < end; ++i) {
            double* tier = acc + static_cast<std::size_t>(reporting_tier(t, i)) * stride;
            tier[0] += 1;
            tier[1] += values[i];
            const std::int8_t r = risk_kind(t, i);
            if (r == no_risk) continue;
            tier[2 + static_cast<std::size_t>(r)] += 1;
            tier[2 + risk_kinds + static_cast<std::size_t>(r)] += values[i];
        }
    });
    std::vector<double> total(k * stride, 0.0);
    for (std::size_t b = 0; b < nb; ++b)
        for (std::size_t c = 0; c < k * stride; ++c) total[c] += partial[b * k * stride + c];
    RevenueAtRisk out;
    out.tiers = k;
    out.customers.resize(k * risk_kinds);
    out.value.resize(k * risk_kinds);
    out.tier_customers.resize(k);
    out.tier_value.resize(k);
    for (std::size_t j = 0; j < k; ++j) {
        const double* tier = total.data() + j * stride;
        out.tier_customers[j] = static_cast<std::int64_t>(tier[0]);
        out.tier_value[j] = tier[1];
        for (std::size_t r = 0; r < risk_kinds; ++r) {
            out.customers[j * risk_kinds + r] = static_cast<std::int64_t>(tier[2 + r]);
            out.value[j * risk_kinds + r] = tier[2 + risk_kinds + r];
        }
    }
    return out;
}

std::vector<std::int64_t> win_back(const Transitions& t, std::span<const double> values, std::size_t n) {
    check_risk_input(t, values);
    const bool stages = !t.stage_after.empty();
    std::vector<std::int64_t> rows;
    for (std::size_t i = 0; i < t.rows(); ++i) {
        // Lost, or at_risk/declining by stage (a downgraded customer in those stages too);
        // without stages a downgrade is the decline that can be seen.
        const std::int8_t r = risk_kind(t, i);
        if (r == static_cast<std::int8_t>(RiskKind::lost) || (stages && fading(t.stage_after[i])) ||
            (!stages && r == static_cast<std::int8_t>(RiskKind::downgraded)))
            rows.push_back(static_cast<std::int64_t>(i));
    }
    const auto before = [&](std::int64_t a, std::int64_t b) {
        const auto ua = static_cast<std::size_t>(a), ub = static_cast<std::size_t>(b);
        if (values[ua] != values[ub]) return values[ua] > values[ub];
        return t.customers[ua] < t.customers[ub];
    };
    const std::size_t keep = std::min(n, rows.size());
    std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(keep), rows.end(), before);
    rows.resize(keep);
    return rows;
}

}  // namespace tierkit::lifecycle
