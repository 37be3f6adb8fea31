// Python callables as tiering rules: {"kind": "python", "name": "<key>"} in a
// policy refers to a callable that the Python package handed over with
// register_python_rule(key, call, reasons) when the policy was built (or a pickled
// model was read). The rule only translates: it hands the table and score to that
// py::function and takes tier indices back (validation lives in the function). It serializes its key, score and tier
// count only, for pickling (tierkit.model.Model.__reduce__ carries the callable
// beside the bytes); tk.save refuses such a model.
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/rules/builtin/rfm_segments.hpp"
#include "tierkit/rules/registry.hpp"

using namespace tierkit;
using namespace tierkit::bindings;

namespace tierkit::bindings {

namespace {
/// key -> (call, reasons) of every Python rule handed over. Never freed: rules may be
/// destroyed after the interpreter finalized, and the dict must not be released then.
/// Read and written with the GIL held.
py::dict& python_rules() {
    static auto* rules = new py::dict();
    return *rules;
}

py::tuple python_rule(const std::string& key) {
    py::object entry = python_rules().attr("get")(key);
    if (entry.is_none())
        throw InvalidInput("python rule '" + key + "': the callable is not registered in this process");
    return entry.cast<py::tuple>();
}
}  // namespace

class PythonRule : public Rule {
public:
    PythonRule() = default;  // for loading
    PythonRule(std::string name, std::string score, std::size_t tiers)
        : name_(std::move(name)), score_(std::move(score)), tiers_(tiers) {}
    std::string kind() const override { return "python"; }
    std::size_t tiers() const override { return tiers_; }
    bool defaults_to_main_score() const override { return true; }
    bool reads_every_column() const override { return true; }  // the callable is handed the whole table
    void fit(const RuleInput&) override {}
    void assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const override {
        py::gil_scoped_acquire gil;  // assign may run with the GIL released
        const auto& t = input.table;
        std::vector<std::int64_t> ids(t.ids().begin(), t.ids().end());
        py::dict columns;
        for (std::size_t j = 0; j < t.cols(); ++j) {
            auto c = t.column(j);
            // Copies: the callable may keep what it is given beyond this call.
            columns[py::str(t.name(j))] = to_numpy(std::vector<double>(c.begin(), c.end()));
        }
        auto score = input.values(score_);
        const py::function call = python_rule(name_)[0];
        py::object result =
            call(to_numpy(std::move(ids)), columns, to_numpy(std::vector<double>(score.begin(), score.end())));
        auto out = view<std::int32_t>(result, "rule result");
        if (out.size() != tier.size()) throw InvalidInput("python rule: returned the wrong number of tiers");
        for (std::size_t i = 0; i < out.size(); ++i) tier[i] = reason[i] = out[i];
    }
    std::vector<std::string> reasons() const override {
        py::gil_scoped_acquire gil;
        return python_rule(name_)[1].cast<std::vector<std::string>>();
    }
    std::vector<std::pair<std::string, std::vector<double>>> parameters() const override { return {}; }
    std::unique_ptr<Rule> clone() const override { return std::make_unique<PythonRule>(*this); }

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& boost::serialization::make_nvp("rule", boost::serialization::base_object<Rule>(*this));
        ar& boost::serialization::make_nvp("name", name_);
        ar& boost::serialization::make_nvp("score", score_);
        ar& boost::serialization::make_nvp("tiers", tiers_);
    }

private:
    std::string name_, score_;
    std::size_t tiers_ = 0;
};

}  // namespace tierkit::bindings

BOOST_CLASS_EXPORT_GUID(tierkit::bindings::PythonRule, "tierkit.rule.python")
BOOST_CLASS_VERSION(tierkit::bindings::PythonRule, 0)

void register_rules(py::module_ m) {
    register_rule(
        "python",
        [](const nlohmann::json& p, const std::string& path, std::size_t tiers) -> std::unique_ptr<Rule> {
            if (!p.contains("name") || !p.at("name").is_string())
                throw PolicyError(path + ".name: required: the key of a callable registered from Python");
            if (!p.contains("score") || !p.at("score").is_string())
                throw PolicyError(path + ".score: must be a score name");
            const std::string score = p.at("score").get<std::string>();
            return std::make_unique<PythonRule>(p.at("name").get<std::string>(), score, tiers);
        },
        PythonRule{});
    m.def("rule_kinds", &rule_kinds);
    m.def(
        "register_python_rule",
        [](const std::string& key, py::function call, std::vector<std::string> reasons) {
            python_rules()[py::str(key)] = py::make_tuple(std::move(call), std::move(reasons));
        },
        py::arg("key"), py::arg("call"), py::arg("reasons"),
        "Hand over the callable of the policy rule {\"kind\": \"python\", \"name\": key}: "
        "call(ids, columns, score) returns one tier index per row.");
    // The rfm_segments rule's default table, spelled as a policy's "segments" entries
    // ({"name", "r": [lo, hi], "fm": [lo, hi]} or "f"/"m"); unconstrained scores left out.
    m.def("default_rfm_segments", [] {
        py::list out;
        for (const SegmentRange& s : default_segment_table()) {
            py::dict d;
            d["name"] = s.name;
            auto put = [&d](const char* key, const ScoreRange& r) {
                if (!r.any()) d[key] = py::make_tuple(r.lo, r.hi);
            };
            put("r", s.r);
            if (s.uses_fm) {
                d["fm"] = py::make_tuple(s.fm.lo, s.fm.hi);
            } else {
                put("f", s.f);
                put("m", s.m);
            }
            out.append(d);
        }
        return out;
    });
}
