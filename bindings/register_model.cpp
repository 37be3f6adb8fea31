// Policy, fit, Model.assign and the tier summary.
#include <sstream>

#include "common.hpp"
#include "tierkit/io/model_io.hpp"
#include "tierkit/model.hpp"
#include "tierkit/rules/registry.hpp"

using namespace tierkit;
using namespace tierkit::bindings;

namespace {

/// A numpy array over a column of the Assignment that `owner` (its Python object)
/// holds: no copy; the array keeps `owner` alive.
template <class T, class A>
py::array_t<T> column_of(const std::vector<T, A>& v, const py::object& owner) {
    return py::array_t<T>({static_cast<py::ssize_t>(v.size())}, {static_cast<py::ssize_t>(sizeof(T))}, v.data(), owner);
}

/// The same over a span into the Assignment's memory.
template <class T>
py::array_t<T> span_of(std::span<const T> v, const py::object& owner) {
    return py::array_t<T>({static_cast<py::ssize_t>(v.size())}, {static_cast<py::ssize_t>(sizeof(T))}, v.data(), owner);
}

const Assignment& assignment_of(const py::object& self) { return self.cast<const Assignment&>(); }

void register_assignment(py::module_& m) {
    py::class_<Assignment>(m, "Assignment",
                           "The result of Model.assign. Column attributes are numpy arrays over the core's memory "
                           "(no copy), valid while any of them or the Assignment lives.")
        .def_property_readonly("rows", [](const Assignment& a) { return a.tier.size(); })
        .def_property_readonly("ids", [](const py::object& self) { return column_of(assignment_of(self).ids, self); })
        .def_readonly("score_names", &Assignment::score_names)
        .def_property_readonly("scores",
                               [](const py::object& self) {
                                   py::list out;
                                   for (const auto& s : assignment_of(self).scores) out.append(column_of(s, self));
                                   return out;
                               })
        .def_property_readonly("contributions",
                               [](const py::object& self) {
                                   py::list out;
                                   for (const auto& per_score : assignment_of(self).contributions) {
                                       py::list l;
                                       for (const auto& c : per_score) l.append(column_of(c, self));
                                       out.append(l);
                                   }
                                   return out;
                               })
        .def_readonly("contribution_names", &Assignment::contribution_names)
        .def(
            "score",
            [](const py::object& self, const std::string& name) {
                return span_of(assignment_of(self).score(name), self);
            },
            py::arg("name"))
        .def(
            "contribution",
            [](const py::object& self, const std::string& score, const std::string& criterion) {
                return span_of(assignment_of(self).contribution(score, criterion), self);
            },
            py::arg("score"), py::arg("criterion"))
        .def(
            "extra",
            [](const py::object& self, const std::string& name) {
                return span_of(assignment_of(self).extra(name), self);
            },
            py::arg("name"))
        .def_property_readonly("top_criteria",
                               [](const py::object& self) { return column_of(assignment_of(self).top_criteria, self); })
        .def_readonly("top_criteria_names", &Assignment::top_criteria_names)
        .def_property_readonly("tier", [](const py::object& self) { return column_of(assignment_of(self).tier, self); })
        .def_property_readonly("reason",
                               [](const py::object& self) { return column_of(assignment_of(self).reason, self); })
        .def_readonly("tier_names", &Assignment::tier_names)
        .def_readonly("tier_modes", &Assignment::tier_modes)
        .def_readonly("tier_actions", &Assignment::tier_actions)
        .def_readonly("reasons", &Assignment::reasons)
        .def_readonly("rule_kind", &Assignment::rule_kind)
        .def_property_readonly("rule_reason",
                               [](const py::object& self) { return column_of(assignment_of(self).rule_reason, self); })
        .def_property_readonly("pinned",
                               [](const py::object& self) { return column_of(assignment_of(self).pinned, self); })
        .def_readonly("overrides_unmatched", &Assignment::overrides_unmatched)
        .def_readonly("overrides_expired", &Assignment::overrides_expired)
        .def_property_readonly("extras",
                               [](const py::object& self) {
                                   py::list out;
                                   for (const auto& [name, values] : assignment_of(self).extras)
                                       out.append(py::make_tuple(name, column_of(values, self)));
                                   return out;
                               })
        .def_property_readonly("below_count",
                               [](const py::object& self) { return column_of(assignment_of(self).below_count, self); })
        .def_property_readonly("has_stages", [](const Assignment& a) { return !a.stage.empty(); })
        .def_property_readonly("stage",
                               [](const py::object& self) { return column_of(assignment_of(self).stage, self); })
        .def_property_readonly("stage_reason",
                               [](const py::object& self) { return column_of(assignment_of(self).stage_reason, self); })
        .def_readonly("stage_reasons", &Assignment::stage_reasons)
        .def_property_readonly("next_action",
                               [](const py::object& self) { return column_of(assignment_of(self).next_action, self); })
        .def_readonly("next_actions", &Assignment::next_actions)
        .def_readonly("new_to_book", &Assignment::new_to_book)
        .def_readonly("previous_dropped", &Assignment::previous_dropped)
        .def_readonly("missing_filled", &Assignment::missing_filled);
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
    py::dict privacy;
    privacy["min_group"] = m.policy().min_group().value_or(1);  // fit() and load() store the one the fit used
    out["privacy"] = privacy;
    return out;
}

py::dict tier_sizes_to_dict(const TierSizes& s) {
    py::dict out;
    out["tier"] = s.tier;
    out["customers"] = s.customers;
    out["target_share"] = s.target_share;
    out["empty"] = s.empty;
    out["starved"] = s.starved;
    out["total"] = s.total;
    out["messages"] = s.messages();
    return out;
}

}  // namespace

void register_model(py::module_ m) {
    register_assignment(m);
    py::class_<Policy>(m, "Policy")
        .def_static("from_json", &Policy::from_json, py::arg("text"))
        .def_static("default_policy", &Policy::default_policy)
        .def("to_json", &Policy::to_json)
        .def_property_readonly("name", &Policy::name)
        .def_property_readonly("rule_kind", &Policy::rule_kind)
        .def_property_readonly("tier_names",
                               [](const Policy& p) {
                                   std::vector<std::string> out;
                                   for (const auto& t : p.tiers()) out.push_back(t.name);
                                   return out;
                               })
        .def_property_readonly("score_names",
                               [](const Policy& p) {
                                   std::vector<std::string> out;
                                   for (const auto& s : p.scores()) out.push_back(s.name);
                                   return out;
                               })
        .def("required_columns", &Policy::required_columns)
        .def_property_readonly("requires_stages", &Policy::requires_stages)
        .def_property_readonly("empty_tiers", [](const Policy& p) { return std::string(to_string(p.empty_tiers())); })
        .def("rule_warnings", [](const Policy& p) { return p.make_rule()->warnings(); })
        .def("rule_inputs", [](const Policy& p) { return p.make_rule()->inputs(); })
        .def("rule_group_columns", [](const Policy& p) { return p.make_rule()->group_columns(); })
        .def("input_columns", py::overload_cast<>(&Policy::input_columns, py::const_))
        .def("reads_every_column", [](const Policy& p) { return p.make_rule()->reads_every_column(); });

    py::class_<Model>(m, "Model")
        .def_property_readonly("policy", &Model::policy)
        .def("fitted", &fitted_to_dict)
        .def("fit_report",
             [](const Model& model) {
                 py::dict out;
                 out["tiers"] = tier_sizes_to_dict(model.fit_report().tiers);
                 out["warnings"] = model.fit_report().warnings;
                 return out;
             })
        .def(
            "tier_sizes",
            [](const Model& model, const py::array& tier) {
                std::vector<std::string> names;
                for (const auto& t : model.policy().tiers()) names.push_back(t.name);
                return tier_sizes_to_dict(
                    count_tiers(view<std::int32_t>(tier, "tier"), names, model.rule().target_shares()));
            },
            py::arg("tier"))
        .def(
            "to_bytes",
            [](const Model& model, const std::string& kind) {
                std::ostringstream out;
                save(model, out, parse_archive_kind(kind));
                return py::bytes(out.str());
            },
            py::arg("kind") = "binary")
        .def_static("from_bytes",
                    [](const py::bytes& data) {
                        std::istringstream in{static_cast<std::string>(data)};
                        py::gil_scoped_release release;  // parses C++-owned bytes only
                        return load(in);
                    })
        .def("input_columns", &Model::input_columns)
        .def("reads_every_column", &Model::reads_every_column)
        .def(
            "assign",
            [](const Model& model, const py::array& ids, const std::vector<std::string>& names,
               const std::vector<py::array>& columns, const Categories& categories, bool contributions,
               const std::optional<std::vector<std::tuple<std::int64_t, std::int32_t, std::string, std::int64_t>>>&
                   overrides,
               std::int64_t as_of,
               const std::optional<std::tuple<py::array, py::array, py::array, py::array>>& previous,
               const DateColumns& dates) {
                FeatureTable t = table_of(ids, names, columns, categories, dates);
                std::vector<ManualOverride> pins;
                if (overrides)
                    for (const auto& [customer, tier, reason, expires] : *overrides)
                        pins.push_back({customer, tier, reason, expires});
                // previous: (ids int64, tier int32 with -1 = not on the book, below_count int32, stage int8 with -1 =
                // unknown).
                lifecycle::PreviousAssignment prev;
                if (previous) {
                    const auto& [p_ids, p_tier, p_below, p_stage] = *previous;
                    auto copy = [](auto span) {
                        return std::vector<typename decltype(span)::value_type>(span.begin(), span.end());
                    };
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
                    AssignOptions options{.with_contributions = contributions, .as_of = as_of};
                    if (overrides) options.overrides = std::span<const ManualOverride>(pins);
                    if (previous) options.previous = &prev;
                    a = model.assign(t, options);
                }
                return a;
            },
            py::arg("ids"), py::arg("names"), py::arg("columns"), py::arg("categories"),
            py::arg("contributions") = true, py::arg("overrides") = py::none(), py::arg("as_of") = 0,
            py::arg("previous") = py::none(), py::arg("dates") = DateColumns{});

    m.def(
        "fit",
        [](const Policy& policy, const py::array& ids, const std::vector<std::string>& names,
           const std::vector<py::array>& columns, const Categories& categories, const py::object& progress,
           const DateColumns& dates) {
            FeatureTable t = table_of(ids, names, columns, categories, dates);
            const Progress report = progress_of(progress);  // outlives the release below
            // Safe: the table views numpy buffers referenced by the arguments; the progress
            // callable takes the GIL for each report.
            py::gil_scoped_release release;
            return fit(policy, t, report ? &report : nullptr);
        },
        py::arg("policy"), py::arg("ids"), py::arg("names"), py::arg("columns"), py::arg("categories"),
        py::arg("progress") = py::none(), py::arg("dates") = DateColumns{});

    m.def(
        "set_buffer_cache_limit",
        [](long long bytes) {
            if (bytes < 0)
                throw InvalidInput("set_buffer_cache_limit: bytes must be >= 0 (0 turns the cache off), got " +
                                   std::to_string(bytes));
            set_buffer_cache_limit(static_cast<std::size_t>(bytes));
        },
        py::arg("bytes"));
    m.def("buffer_cache_limit", [] { return buffer_cache_limit(); });
    // Python frees result columns between calls (with their DataFrames), so the next
    // assign reuses their mapped memory: the cache is on for Python (off in C++ hosts).
    enable_buffer_cache();
    m.def("buffer_cache_held", [] { return buffer_cache_held(); });

    m.def("tier_summary", [](const py::array& tier, const std::vector<std::string>& tier_names, const py::array& score,
                             const py::array& revenue) {
        auto t = view<std::int32_t>(tier, "tier");
        Assignment a;
        a.tier.assign(t.begin(), t.end());
        a.tier_names = tier_names;
        for (auto k : a.tier)
            if (k < 0 || static_cast<std::size_t>(k) >= tier_names.size())
                throw InvalidInput("tier: index " + std::to_string(k) + " outside the " +
                                   std::to_string(tier_names.size()) + " tiers");
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
    // The feature columns the lifecycle stages read (computed when a table has them all).
    m.attr("stage_columns") = lifecycle::stage_input_columns();
    m.attr("stage_names") = std::vector<std::string>(lifecycle::stage_names.begin(), lifecycle::stage_names.end());
}
