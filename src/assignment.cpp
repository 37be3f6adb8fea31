// Assignment's lookups by name (compiled, so the serving header stays light).
#include "tierkit/assignment.hpp"

#include "tierkit/core/error.hpp"

namespace tierkit {

namespace {

std::string listed(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? "none" : out;
}

}  // namespace

std::size_t Assignment::score_index(std::string_view name) const {
    for (std::size_t k = 0; k < score_names.size(); ++k)
        if (score_names[k] == name) return k;
    throw UnknownColumn("score '" + std::string(name) + "' is not in the assignment; scores: " + listed(score_names));
}

std::span<const double> Assignment::score(std::string_view name) const { return scores[score_index(name)]; }

std::span<const double> Assignment::contribution(std::string_view score_name, std::string_view criterion) const {
    const std::size_t k = score_index(score_name);
    const auto& names = contribution_names[k];
    for (std::size_t c = 0; c < names.size(); ++c) {
        if (names[c] != criterion) continue;
        if (contributions[k].size() != names.size())
            throw InvalidInput("contributions of score '" + std::string(score_name) +
                               "' were not computed: assign with with_contributions = true");
        return contributions[k][c];
    }
    throw UnknownColumn("score '" + std::string(score_name) + "' has no criterion '" + std::string(criterion) +
                        "'; criteria: " + listed(names));
}

std::span<const double> Assignment::extra(std::string_view name) const {
    std::vector<std::string> names;
    for (const auto& [n, values] : extras) {
        if (n == name) return values;
        names.push_back(n);
    }
    throw UnknownColumn("extra column '" + std::string(name) +
                        "' is not in the assignment; extra columns: " + listed(names));
}

}  // namespace tierkit
