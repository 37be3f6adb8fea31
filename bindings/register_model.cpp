// Policy, fit, Model.assign and the tier summary.
#include <sstream>

#include "common.hpp"
#include "tierkit/io/model_io.hpp"
#include "tierkit/model.hpp"
#include "tierkit/rules/registry.hpp"

using namespace tierkit;
using namespace tierkit::bindings;

namespace {

py::dict assignment_to_dict(Assignment&& a) {
    py::dict out;
    out["score_names"] = a.score_names;
    py::list scores, contributions;
    for (auto& s : a.scores) scores.append(to_numpy(std::move(s)));
    for (auto& per_score : a.contributions) {
        py::list l;
        for (auto& c : per_score) l.append(to_numpy(std::move(c)));
        contributions.append(l);
    }
    out["scores"] = scores;
    out["contributions"] = contributions;
    out["contribution_names"] = a.contribution_names;
    out["tier"] = to_numpy(std::move(a.tier));
    out["reason"] = to_numpy(std::move(a.reason));
    out["tier_names"] = a.tier_names;
    out["tier_modes"] = a.tier_modes;
    out["tier_actions"] = a.tier_actions;
    out["reasons"] = a.reasons;
    out["rule_kind"] = a.rule_kind;
    out["pinned"] = to_numpy(std::move(a.pinned));
    out["rule_reason"] = to_numpy(std::move(a.rule_reason));
    out["overrides_unmatched"] = a.overrides_unmatched;
    out["overrides_expired"] = a.overrides_expired;
    py::list extras;
    for (auto& [name, values] : a.extras) extras.append(py::make_tuple(name, to_numpy(std::move(values))));
    out["extras"] = extras;
    out["below_count"] = to_numpy(std::move(a.below_count));
    out["has_stages"] = !a.stage.empty();
    out["stage"] = to_numpy(std::move(a.stage));
    out["stage_reason"] = to_numpy(std::move(a.stage_reason));
    out["stage_reasons"] = a.stage_reasons;
    out["next_action"] = to_numpy(std::move(a.next_action));
    out["next_actions"] = a.next_actions;
    out["new_to_book"] = a.new_to_book;
    out["previous_dropped"] = a.previous_dropped;
    out["missing_filled"] = a.missing_filled;
    return out;
}

py::dict fitted_to_dict(const Model& m) {
    py::list scores;
    for (const auto& s : m.scores()) {
        py::dict d;
        d["name"] = s.name;
        d["method"] = s.method == ScoreMethod::topsis ? "topsis" : "weighted_sum";
        d["weights"] = s.weights;
        d["ahp_lambda_max"] = s.ahp_lambda_max;
        d["ahp_consistency_ratio"] = s.ahp_consistency_ratio;
        py::list criteria;
        for (const auto& c : s.criteria) {
            py::dict cd;
            cd["column"] = c.spec.column;
            cd["direction"] = to_string(c.spec.direction);
            cd["transform"] = to_string(c.spec.transform);
            cd["normalizer"] = to_string(c.spec.normalizer);
            cd["min"] = c.min;
            cd["max"] = c.max;
            cd["mean"] = c.mean;
            cd["sd"] = c.sd;
            cd["median"] = c.median;
            cd["iqr"] = c.iqr;
            cd["clip_lower"] = c.lo;
            cd["clip_upper"] = c.hi;
            cd["missing_fill"] = c.missing_fill;
            cd["missing_count"] = c.missing_count;
            criteria.append(cd);
        }
        d["criteria"] = criteria;
        scores.append(d);
    }
    py::dict rule;
    rule["kind"] = m.rule().kind();
    py::dict params;
    for (const auto& [k, v] : m.rule().parameters()) params[py::str(k)] = v;
    rule["parameters"] = params;
    rule["reasons"] = m.rule().reasons();
    py::dict out;
    out["scores"] = scores;
    out["rule"] = rule;
    return out;
}

}  // namespace

void register_model(py::module_ m) {
    py::class_<Policy>(m, "Policy")
        .def_static("from_json", &Policy::from_json, py::arg("text"))
        .def_static("default_policy", &Policy::default_policy)
        .def("to_json", &Policy::to_json)
        .def_property_readonly("name", &Policy::name)
        .def_property_readonly("rule_kind", &Policy::rule_kind)
        .def_property_readonly("tier_names", [](const Policy& p) {
            std::vector<std::string> out;
            for (const auto& t : p.tiers()) out.push_back(t.name);
            return out;
        })
        .def_property_readonly("score_names", [](const Policy& p) {
            std::vector<std::string> out;
            for (const auto& s : p.scores()) out.push_back(s.name);
            return out;
        })
        .def("required_columns", &Policy::required_columns)
        .def_property_readonly("requires_stages", &Policy::requires_stages);

    py::class_<Model>(m, "Model")
        .def_property_readonly("policy", &Model::policy)
        .def("fitted", &fitted_to_dict)
        .def("to_bytes", [](const Model& model, const std::string& kind) {
            std::ostringstream out;
            save(model, out, parse_archive_kind(kind));
            return py::bytes(out.str());
        }, py::arg("kind") = "binary")
        .def_static("from_bytes", [](const py::bytes& data) {
            std::istringstream in{static_cast<std::string>(data)};
            py::gil_scoped_release release;  // parses C++-owned bytes only
            return load(in);
        })
        .def("assign", [](const Model& model, const py::array& ids, const std::vector<std::string>& names,
                          const std::vector<py::array>& columns, const Categories& categories, bool contributions,
                          const std::optional<std::vector<std::tuple<std::int64_t, std::int32_t, std::string, std::int64_t>>>& overrides,
                          std::int64_t as_of, const std::optional<std::tuple<py::array, py::array, py::array, py::array>>& previous) {
            FeatureTable t = table_of(ids, names, columns, categories);
            std::vector<ManualOverride> pins;
            if (overrides)
                for (const auto& [customer, tier, reason, expires] : *overrides) pins.push_back({customer, tier, reason, expires});
            // previous: (ids int64, tier int32 with -1 = not on the book, below_count int32, stage int8 with -1 = unknown).
            lifecycle::PreviousAssignment prev;
            if (previous) {
                const auto& [p_ids, p_tier, p_below, p_stage] = *previous;
                auto copy = [](auto span) { return std::vector<typename decltype(span)::value_type>(span.begin(), span.end()); };
                prev.ids = copy(view<std::int64_t>(p_ids, "previous ids"));
                prev.tier = copy(view<std::int32_t>(p_tier, "previous tier"));
                prev.below_count = copy(view<std::int32_t>(p_below, "previous below_count"));
                prev.stage = copy(view<std::int8_t>(p_stage, "previous stage"));
            }
            Assignment a;
            {
                // Safe: the table views numpy buffers referenced by the arguments; Model is immutable.
                // A Python rule re-acquires the GIL itself.
                py::gil_scoped_release release;
                // Without overrides (None) the plain assign leaves rule_reason and pinned empty.
                a = previous    ? model.assign(t, contributions, pins, as_of, prev)
                    : overrides ? model.assign(t, contributions, pins, as_of)
                                : model.assign(t, contributions);
            }
            return assignment_to_dict(std::move(a));
        }, py::arg("ids"), py::arg("names"), py::arg("columns"), py::arg("categories"), py::arg("contributions") = true,
           py::arg("overrides") = py::none(),
           py::arg("as_of") = 0, py::arg("previous") = py::none());

    m.def("fit", [](const Policy& policy, const py::array& ids, const std::vector<std::string>& names,
                    const std::vector<py::array>& columns, const Categories& categories, const py::object& progress) {
        FeatureTable t = table_of(ids, names, columns, categories);
        const Progress report = progress_of(progress);  // outlives the release below
        // Safe: the table views numpy buffers referenced by the arguments; the progress
        // callable takes the GIL for each report.
        py::gil_scoped_release release;
        return fit(policy, t, report ? &report : nullptr);
    }, py::arg("policy"), py::arg("ids"), py::arg("names"), py::arg("columns"), py::arg("categories"),
       py::arg("progress") = py::none());

    m.def("set_buffer_cache_limit", [](long long bytes) {
        if (bytes < 0) throw InvalidInput("set_buffer_cache_limit: bytes must be >= 0 (0 turns the cache off), got " + std::to_string(bytes));
        set_buffer_cache_limit(static_cast<std::size_t>(bytes));
    }, py::arg("bytes"));
    m.def("buffer_cache_limit", [] { return buffer_cache_limit(); });
    m.def("buffer_cache_held", [] { return buffer_cache_held(); });

    m.def("tier_summary", [](const py::array& tier, const std::vector<std::string>& tier_names, const py::array& score,
                             const py::array& revenue) {
        auto t = view<std::int32_t>(tier, "tier");
        Assignment a;
        a.tier.assign(t.begin(), t.end());
        a.tier_names = tier_names;
        for (auto k : a.tier)
            if (k < 0 || static_cast<std::size_t>(k) >= tier_names.size())
                throw InvalidInput("tier: index " + std::to_string(k) + " outside the " + std::to_string(tier_names.size()) + " tiers");
        auto s = view<double>(score, "score");
        a.scores.emplace_back(s.begin(), s.end());
        if (a.scores[0].size() != a.tier.size()) throw InvalidInput("score: expected one value per customer");
        auto r = summarize_tiers(a, view<double>(revenue, "revenue"));
        py::dict out;
        out["tier"] = r.tier;
        out["customers"] = r.customers;
        out["customer_share"] = r.customer_share;
        out["revenue"] = r.revenue;
        out["revenue_share"] = r.revenue_share;
        out["mean_score"] = r.mean_score;
        return out;
    });
    m.def("rule_kinds", &rule_kinds);
    m.attr("stage_names") = std::vector<std::string>(lifecycle::stage_names.begin(), lifecycle::stage_names.end());
}
