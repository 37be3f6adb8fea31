// The default rule states: none in refine mode, and the gathering state in sketch
// mode, which fits the rule on every row it reads. See include/tierkit/fit/rule_state.hpp.
#include "tierkit/fit/rule_state.hpp"

#include <algorithm>

namespace tierkit {

std::unique_ptr<RuleState> Rule::make_state(const FitOptions& options) const {
    // refine promises fit()'s model whatever the merge order; a rule fitted on gathered
    // rows depends on their order, so only the sketch mode gathers.
    if (options.mode != FitMode::sketch) return nullptr;
    return std::make_unique<GatheringRuleState>(*this);
}

GatheringRuleState::GatheringRuleState(const Rule& rule)
    : inputs_(rule.inputs()), every_column_(rule.reads_every_column()), criteria_(rule.needs_criteria()) {}

void GatheringRuleState::update(std::uint32_t /*pass*/, const RuleInput& input, const RuleFitContext& /*context*/,
                                const RefineBuckets& /*buckets*/, PartialState& out) const {
    // Scores first, then the normalized criteria, then the table's columns the rule reads.
    const FeatureTable& t = input.table;
    out.ids.assign(t.ids().begin(), t.ids().end());
    for (std::size_t k = 0; k < input.score_names.size(); ++k) {
        out.names.push_back(input.score_names[k]);
        out.columns.emplace_back(input.scores[k].begin(), input.scores[k].end());
    }
    if (criteria_ && input.criteria)
        for (const auto& block : *input.criteria)
            for (std::size_t j = 0; j < block.names.size(); ++j) {
                out.names.push_back(block.names[j]);
                out.columns.push_back(block.normalized[j]);
            }
    std::vector<std::string> wanted = inputs_;
    if (every_column_) {
        append_new(wanted, t.names());
        append_new(wanted, t.category_names());
    }
    for (const auto& name : wanted) {
        if (std::find(input.score_names.begin(), input.score_names.end(), name) != input.score_names.end()) continue;
        if (t.has(name)) {
            out.names.push_back(name);
            out.columns.emplace_back(t.column(name).begin(), t.column(name).end());
        }
        if (t.has_category(name)) {
            const auto [codes, labels] = t.category(name);
            out.category_names.push_back(name);
            out.category_codes.emplace_back(codes.begin(), codes.end());
            out.category_labels.push_back(*labels);
        }
        // A column the chunk lacks: Rule::fit names it when it reads it.
    }
}

bool GatheringRuleState::has_layout(std::uint32_t /*pass*/, const PartialState& total,
                                    const RefineBuckets& /*buckets*/) const {
    return total.rows_line_up();
}

std::uint32_t GatheringRuleState::advance(std::uint32_t /*pass*/, const PartialState& total,
                                          const RuleFitContext& context, RefineBuckets& /*buckets*/) {
    if (total.ids.empty()) throw InvalidInput("fit: the table has no rows");
    std::size_t lead = context.scores.size();
    if (criteria_)
        for (const auto& s : context.scores) lead += s.criteria.size();
    if (total.columns.size() < lead)
        throw InvalidInput("Fitter.advance: the gathered rows hold " + std::to_string(total.columns.size()) +
                           " columns, fewer than the " + std::to_string(lead) + " scores and criteria of the policy");
    rows_ = total;
    return no_more_passes;
}

void GatheringRuleState::finish(Rule& rule, const RuleFitContext& context) const {
    const auto& scores = context.scores;
    std::vector<std::string> names;
    std::vector<std::vector<double>> values;
    std::size_t at = 0;
    for (; at < scores.size(); ++at) {
        names.push_back(scores[at].name);
        values.push_back(rows_.columns.at(at));
    }
    std::vector<CriteriaBlock> blocks;
    if (criteria_)
        for (const auto& s : scores) {
            CriteriaBlock b;
            b.score = s.name;
            b.weights = s.weights;
            for (const auto& c : s.criteria) {
                b.names.push_back(c.spec.column);
                b.normalized.push_back(rows_.columns.at(at++));
            }
            blocks.push_back(std::move(b));
        }
    FeatureTable table(rows_.ids);
    for (; at < rows_.columns.size(); ++at) table.add_column(rows_.names[at], rows_.columns[at]);
    for (std::size_t j = 0; j < rows_.category_names.size(); ++j)
        table.add_category(rows_.category_names[j], rows_.category_codes[j], rows_.category_labels[j]);
    // Sketch mode fits single rows' values (privacy.min_group 1, fit_state.hpp).
    const RuleInput input{table, names, values, criteria_ ? &blocks : nullptr, 1, nullptr};
    rule.fit(input);
}

void GatheringRuleState::load(const RuleStateRecord& record, const RefineBuckets& buckets) {
    if (!has_layout(0, record.rows, buckets))
        throw FormatError("Fitter.from_bytes: the gathered rows of the rule's state do not line up");
    rows_ = record.rows;
}

}  // namespace tierkit
