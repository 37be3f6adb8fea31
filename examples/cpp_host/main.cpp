// A C++ host of tierkit: load a model file (saved from Python with tk.save or from
// C++ with tierkit::save), read customers from a CSV file or stdin, write one
// assignment per customer as CSV to stdout.
//
//   tierkit_host MODEL [CSV | -] [--one]
//
// Input: a header line, then one row per customer. The first column is the customer
// id (any text, copied to the output); every other column is a numeric feature named
// by the header (the policy's criteria columns and whatever its rule reads).
// Output: customer, one column per score (%.17g), tier (name), reason.
//
// By default the whole file is assigned at once (Model::assign). With --one every row
// is scored as it is read by tierkit::Scorer::assign_one, the real-time path (no
// allocation in steady state for cut-point rules and kmeans: see tierkit/scorer.hpp).
// Errors name the row (1 = the first customer after the header) and column; the exit
// status is 1 for bad input or a bad model file, 2 for bad arguments.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tierkit/serve.hpp>  // load, assign, Scorer: no Boost header (tierkit.hpp has fit and the rest)
#include <vector>

namespace {

struct BadInput : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Split one CSV line: commas, optional double quotes ("" inside quotes is a quote).
std::vector<std::string> split_csv(const std::string& line, std::size_t row) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
                out.back() += '"', ++i;
            else if (c == '"')
                quoted = false;
            else
                out.back() += c;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            out.emplace_back();
        } else if (c != '\r') {
            out.back() += c;
        }
    }
    if (quoted) throw BadInput("row " + std::to_string(row) + ": unterminated quoted field");
    return out;
}

double parse_number(const std::string& cell, std::size_t row, const std::string& column) {
    const char* begin = cell.c_str();
    char* end = nullptr;
    const double v = std::strtod(begin, &end);
    while (end && (*end == ' ' || *end == '\t')) ++end;
    if (cell.empty() || end == begin || *end != '\0')
        throw BadInput("row " + std::to_string(row) + ", column '" + column + "': expected a number, got '" + cell +
                       "'");
    return v;
}

std::string g17(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

void write_row(std::ostream& out, const std::string& id, const std::vector<double>& scores, const std::string& tier,
               const std::string& reason) {
    std::string line = csv_field(id);
    for (double s : scores) line += "," + g17(s);
    line += "," + csv_field(tier) + "," + csv_field(reason) + "\n";
    out << line;
}

int run(const std::string& model_path, std::istream& in, bool one) {
    std::ifstream file(model_path, std::ios::binary);
    if (!file) throw BadInput("cannot open the model file '" + model_path + "'");
    const std::shared_ptr<const tierkit::Model> model = tierkit::load_shared(file);
    const std::vector<std::string> score_names = tierkit::score_names(*model);

    std::string line;
    if (!std::getline(in, line)) throw BadInput("the input is empty: expected a header line");
    const std::vector<std::string> header = split_csv(line, 0);
    if (header.size() < 2) throw BadInput("header: expected a customer id column and at least one feature column");
    const std::vector<std::string> columns(header.begin() + 1, header.end());

    std::cout << csv_field(header[0]);
    for (const auto& s : score_names) std::cout << "," << csv_field(s);
    std::cout << ",tier,reason\n";

    std::vector<std::string> ids;
    std::vector<std::vector<double>> values(columns.size());
    std::vector<double> row_values(columns.size());
    std::optional<tierkit::Scorer> scorer;
    if (one) scorer.emplace(model, columns);
    std::vector<double> scores(score_names.size());
    for (std::size_t row = 1; std::getline(in, line); ++row) {
        if (line.empty() || line == "\r") continue;
        const std::vector<std::string> cells = split_csv(line, row);
        if (cells.size() != header.size())
            throw BadInput("row " + std::to_string(row) + ": expected " + std::to_string(header.size()) +
                           " fields, got " + std::to_string(cells.size()));
        for (std::size_t j = 0; j < columns.size(); ++j) row_values[j] = parse_number(cells[j + 1], row, columns[j]);
        if (one) {
            try {
                const tierkit::Scored& r = scorer->assign_one(row_values);
                scores.assign(r.scores.begin(), r.scores.end());
                write_row(std::cout, cells[0], scores, scorer->tier_names()[static_cast<std::size_t>(r.tier)],
                          scorer->reasons()[static_cast<std::size_t>(r.reason)]);
            } catch (const tierkit::Error& e) {
                throw BadInput("row " + std::to_string(row) + ": " + e.what());
            }
            continue;
        }
        ids.push_back(cells[0]);
        for (std::size_t j = 0; j < columns.size(); ++j) values[j].push_back(row_values[j]);
    }
    if (one) return 0;

    std::vector<std::int64_t> rows(ids.size());
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::int64_t>(i + 1);
    tierkit::FeatureTable table(rows);
    for (std::size_t j = 0; j < columns.size(); ++j) table.add_column(columns[j], std::move(values[j]));
    const tierkit::Assignment a = tierkit::assign(*model, table, {.with_contributions = false});
    for (std::size_t i = 0; i < ids.size(); ++i) {
        for (std::size_t s = 0; s < scores.size(); ++s) scores[s] = a.scores[s][i];
        write_row(std::cout, ids[i], scores, a.tier_names[static_cast<std::size_t>(a.tier[i])],
                  a.reasons[static_cast<std::size_t>(a.reason[i])]);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args;
    bool one = false;
    for (int k = 1; k < argc; ++k) {
        if (std::string(argv[k]) == "--one")
            one = true;
        else
            args.emplace_back(argv[k]);
    }
    if (args.empty() || args.size() > 2) {
        std::fprintf(stderr, "usage: tierkit_host MODEL [CSV | -] [--one]\n");
        return 2;
    }
    try {
        if (args.size() == 1 || args[1] == "-") return run(args[0], std::cin, one);
        std::ifstream in(args[1]);
        if (!in) throw BadInput("cannot open the input file '" + args[1] + "'");
        return run(args[0], in, one);
    } catch (const std::exception& e) {
        // tierkit errors (a bad model file, missing columns, NaN values) and input errors.
        std::fprintf(stderr, "tierkit_host: %s\n", e.what());
        return 1;
    }
}
