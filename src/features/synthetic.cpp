// Synthetic buy-till-you-die transactions. See include/tierkit/features/synthetic.hpp.
#include "tierkit/features/synthetic.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>

#include "tierkit/core/error.hpp"
#include "tierkit/core/parallel.hpp"
#include "tierkit/core/random.hpp"

namespace tierkit {
namespace {

/// The draws of one customer: the customer's own xoshiro256** stream of the seed.
class Rng {
public:
    Rng(std::uint64_t seed, std::uint64_t stream) noexcept : gen_(seed, stream) {}
    /// Uniform in (0, 1).
    double uniform() noexcept { return gen_.uniform_open(); }
    double exponential(double mean) noexcept { return -mean * std::log(uniform()); }
    double normal() noexcept { return std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform()); }
    /// Gamma(shape, scale) by Marsaglia & Tsang (2000); shape < 1 by the boost u^(1/shape).
    double gamma(double shape, double scale) noexcept {
        if (shape < 1) return gamma(shape + 1, scale) * std::pow(uniform(), 1.0 / shape);
        const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
        for (;;) {
            double x, v;
            do {
                x = normal();
                v = 1.0 + c * x;
            } while (v <= 0);
            v = v * v * v;
            const double u = uniform();
            if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale;
            if (std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v * scale;
        }
    }

private:
    Xoshiro256 gen_;
};

struct CustomerType {
    double share;
    double mean_gap_days;  ///< mean days between purchases while alive
    double dropout;        ///< mean dropout probability after a purchase
    double mean_spend;
    double margin_rate;
};

constexpr CustomerType types[] = {
    {0.40, 150.0, 0.45, 35.0, 0.20},  // occasional
    {0.40, 50.0, 0.15, 60.0, 0.25},   // regular
    {0.17, 21.0, 0.05, 110.0, 0.30},  // loyal
    {0.03, 10.0, 0.02, 380.0, 0.35},  // whale
};

struct Chunk {
    std::vector<std::int64_t> customer, day;
    std::vector<double> amount, margin, quantity;
    std::vector<std::int32_t> type;
    std::vector<std::uint8_t> alive;
};

void generate(const SyntheticOptions& o, std::int64_t begin, std::int64_t end, Chunk& out) {
    const double end_day = static_cast<double>(o.start_day + o.days);
    struct Row {
        std::int64_t day;
        double amount, margin, quantity;
    };
    std::vector<Row> rows;
    for (std::int64_t i = begin; i < end; ++i) {
        Rng rng(o.seed, static_cast<std::uint64_t>(i));
        const double pick = rng.uniform();
        std::int32_t t = 0;
        double acc = 0;
        for (std::int32_t k = 0; k < 4; ++k) {
            acc += types[k].share;
            if (pick < acc || k == 3) {
                t = k;
                break;
            }
        }
        const CustomerType& ct = types[t];
        const double gap = ct.mean_gap_days / rng.gamma(3.0, 1.0 / 3.0);
        const double dropout = std::clamp(ct.dropout * rng.gamma(4.0, 0.25), 0.001, 0.95);
        const double spend = rng.gamma(3.0, ct.mean_spend / 3.0);
        const double margin_rate = std::clamp(ct.margin_rate + 0.05 * rng.normal(), 0.02, 0.8);
        double when = static_cast<double>(o.start_day) + rng.uniform() * static_cast<double>(o.days);
        bool alive = true;
        rows.clear();
        while (when < end_day) {
            const double amount = std::round(rng.gamma(4.0, spend / 4.0) * 100.0) / 100.0 + 0.99;
            const auto day = static_cast<std::int64_t>(std::floor(when));
            const double quantity = 1.0 + std::floor(rng.exponential(1.5));
            rows.push_back(Row{day, amount, std::round(amount * margin_rate * 100.0) / 100.0, quantity});
            if (rng.uniform() < o.refund_rate) {
                const double back = std::round(amount * (0.2 + 0.8 * rng.uniform()) * 100.0) / 100.0;
                const auto refund_day = day + 1 + static_cast<std::int64_t>(rng.exponential(7.0));
                if (static_cast<double>(refund_day) < end_day)
                    rows.push_back(Row{refund_day, -back, -std::round(back * margin_rate * 100.0) / 100.0, -1.0});
            }
            if (rng.uniform() < dropout) {
                alive = false;
                break;
            }
            when += rng.exponential(gap);
        }
        std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.day < b.day; });
        for (const Row& r : rows) {
            out.customer.push_back(i + 1);
            out.day.push_back(r.day);
            out.amount.push_back(r.amount);
            out.margin.push_back(r.margin);
            out.quantity.push_back(r.quantity);
        }
        out.type.push_back(t);
        out.alive.push_back(alive ? 1 : 0);
    }
}

}  // namespace

SyntheticData synthetic(const SyntheticOptions& o) {
    if (o.customers < 0) throw InvalidInput("customers: must be >= 0, got " + std::to_string(o.customers));
    if (o.days <= 0) throw InvalidInput("days: must be > 0, got " + std::to_string(o.days));
    if (!(o.refund_rate >= 0 && o.refund_rate <= 1))
        throw InvalidInput("refund_rate: must be in [0, 1], got " + std::to_string(o.refund_rate));
    // Chunks of customers: each customer draws from its own stream, so the data do
    // not depend on the chunking or the thread count.
    const std::int64_t per = 65536;
    const std::int64_t n_chunks = (o.customers + per - 1) / per;
    std::vector<Chunk> chunks(static_cast<std::size_t>(n_chunks));
    fork_join(
        static_cast<unsigned>(n_chunks),
        [&](unsigned c) { generate(o, c * per, std::min(o.customers, (c + 1) * per), chunks[c]); },
        o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency()));

    SyntheticData d;
    std::size_t rows = 0;
    for (const auto& c : chunks) rows += c.customer.size();
    d.customer.reserve(rows);
    d.day.reserve(rows);
    d.amount.reserve(rows);
    d.margin.reserve(rows);
    d.quantity.reserve(rows);
    for (auto& c : chunks) {
        d.customer.insert(d.customer.end(), c.customer.begin(), c.customer.end());
        d.day.insert(d.day.end(), c.day.begin(), c.day.end());
        d.amount.insert(d.amount.end(), c.amount.begin(), c.amount.end());
        d.margin.insert(d.margin.end(), c.margin.begin(), c.margin.end());
        d.quantity.insert(d.quantity.end(), c.quantity.begin(), c.quantity.end());
        d.type.insert(d.type.end(), c.type.begin(), c.type.end());
        d.alive.insert(d.alive.end(), c.alive.begin(), c.alive.end());
        c = Chunk{};
    }
    d.ids.resize(static_cast<std::size_t>(o.customers));
    for (std::int64_t i = 0; i < o.customers; ++i) d.ids[static_cast<std::size_t>(i)] = i + 1;
    return d;
}

}  // namespace tierkit
