// The kmeans rule's policy object: parsed and checked into a KMeansRule (kmeans.hpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "rules/builtin/kmeans_detail.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/rules/builtin/kmeans.hpp"

namespace tierkit {

using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw PolicyError(path + ": " + what); }

std::string show(const json& j) {
    std::string s = j.dump();
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

std::int64_t whole_at(const json& p, const char* key, const std::string& path, std::int64_t fallback, std::int64_t lo) {
    if (!p.contains(key)) return fallback;
    const json& j = p.at(key);
    constexpr std::int64_t hi = std::numeric_limits<std::int32_t>::max();
    const bool ok =
        j.is_number_integer() && (j.is_number_unsigned() ? j.get<std::uint64_t>() <= static_cast<std::uint64_t>(hi)
                                                         : j.get<std::int64_t>() >= lo);
    if (!ok || j.get<std::int64_t>() < lo)
        fail(path + "." + key,
             "must be a whole number in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + show(j));
    return j.get<std::int64_t>();
}

}  // namespace

std::unique_ptr<Rule> make_kmeans_rule(const json& p, const std::string& path, std::size_t tiers) {
    if (!p.is_object()) fail(path, "must be an object, got " + show(p));
    for (auto it = p.begin(); it != p.end(); ++it) {
        static const char* keys[] = {"kind", "score",  "k",    "k_range",           "select",    "seed", "max_iter",
                                     "tol",  "n_init", "init", "silhouette_sample", "tier_names"};
        if (std::find_if(std::begin(keys), std::end(keys), [&](const char* k) { return it.key() == k; }) ==
            std::end(keys))
            fail(path + "." + it.key(),
                 "unknown key; expected one of: kind, score, k, k_range, select, seed, max_iter, tol, n_init, init, "
                 "silhouette_sample");
    }
    KMeansOptions o;
    if (p.contains("score")) {
        const json& s = p.at("score");
        if (!s.is_string() || s.get<std::string>().empty())
            fail(path + ".score", "must be a score name, got " + show(s));
        o.score = s.get<std::string>();
    }
    o.k = tiers;
    const bool automatic = p.contains("k") && p.at("k").is_string();
    if (automatic) {
        if (p.at("k").get<std::string>() != "auto")
            fail(path + ".k", "must be a whole number or \"auto\", got " + show(p.at("k")));
        o.k = 0;
        o.k_min = std::max<std::size_t>(2, tiers);
        o.k_max = std::max<std::size_t>(8, o.k_min);
        if (p.contains("k_range")) {
            const json& r = p.at("k_range");
            if (!r.is_array() || r.size() != 2 || !r[0].is_number_integer() || !r[1].is_number_integer() ||
                r[0].get<std::int64_t>() < 2 || r[0].get<std::int64_t>() > r[1].get<std::int64_t>() ||
                r[1].get<std::int64_t>() > 1000)
                fail(path + ".k_range", "must be [lo, hi] with 2 <= lo <= hi <= 1000 (whole numbers), got " + show(r));
            o.k_min = r[0].get<std::size_t>();
            o.k_max = r[1].get<std::size_t>();
        }
        if (p.contains("select")) {
            const json& s = p.at("select");
            const std::string v = s.is_string() ? s.get<std::string>() : "";
            if (v == "silhouette")
                o.select = KSelect::silhouette;
            else if (v == "elbow")
                o.select = KSelect::elbow;
            else
                fail(path + ".select", "must be one of silhouette, elbow, got " + show(s));
        }
        o.silhouette_sample = static_cast<std::size_t>(whole_at(p, "silhouette_sample", path, 2000, 2));
    } else {
        for (const char* key : {"k_range", "select", "silhouette_sample"})
            if (p.contains(key)) fail(path + "." + key, "only applies with \"k\": \"auto\"");
        if (p.contains("k")) {
            const json& k = p.at("k");
            if (!k.is_number_integer() || k.get<std::int64_t>() < 1)
                fail(path + ".k", "must be a whole number >= 1 or \"auto\", got " + show(k));
            if (k.get<std::size_t>() != tiers)
                fail(path + ".k", "must equal the number of tiers (" + std::to_string(tiers) + "), got " + show(k) +
                                      "; use \"k\": \"auto\" with a k_range to merge more clusters into the tiers");
        }
    }
    if (p.contains("seed")) {
        const json& s = p.at("seed");
        if (!s.is_number_integer() || (!s.is_number_unsigned() && s.get<std::int64_t>() < 0))
            fail(path + ".seed", "must be a whole number >= 0, got " + show(s));
        o.seed = s.get<std::uint64_t>();
    }
    o.max_iter = static_cast<int>(whole_at(p, "max_iter", path, 300, 1));
    o.n_init = static_cast<int>(whole_at(p, "n_init", path, 1, 1));
    if (p.contains("tol")) {
        const json& t = p.at("tol");
        if (!t.is_number() || !(t.get<double>() >= 0) || !std::isfinite(t.get<double>()))
            fail(path + ".tol", "must be a number >= 0, got " + show(t));
        o.tol = t.get<double>();
    }
    if (p.contains("init")) {
        const json& init = p.at("init");
        if (automatic) fail(path + ".init", "needs a fixed k, not \"auto\"");
        if (!init.is_array() || init.size() != o.k)
            fail(path + ".init", "must be " + std::to_string(o.k) + " centroids (one per tier), got " + show(init));
        std::size_t width = 0;
        for (std::size_t j = 0; j < init.size(); ++j) {
            const std::string cp = path + ".init[" + std::to_string(j) + "]";
            const json& row = init[j];
            if (!row.is_array() || row.empty())
                fail(cp, "must be an array of numbers (one per criterion), got " + show(row));
            if (j == 0) width = row.size();
            if (row.size() != width)
                fail(cp,
                     "must have " + std::to_string(width) + " values like init[0], got " + std::to_string(row.size()));
            for (std::size_t f = 0; f < row.size(); ++f) {
                if (!row[f].is_number() || !std::isfinite(row[f].get<double>()))
                    fail(cp + "[" + std::to_string(f) + "]", "must be a finite number, got " + show(row[f]));
                o.init.push_back(row[f].get<double>());
            }
        }
        if (o.n_init != 1)
            fail(path + ".n_init", "must be 1 with explicit init centroids, got " + std::to_string(o.n_init));
    }
    try {
        return std::make_unique<KMeansRule>(std::move(o), tiers);
    } catch (const PolicyError& e) {
        std::string msg = e.what();
        if (msg.rfind("rule", 0) == 0) msg = path + msg.substr(4);
        throw PolicyError(msg);
    }
}

}  // namespace tierkit
