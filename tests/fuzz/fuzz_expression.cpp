// libFuzzer target for the `expression` rule's language.
//
// Each input is the text of one condition. It is parsed; a text that parses as a
// number is wrapped as "(text) >= 0". The rule is built, fitted on a small fixed
// table and assigned on a larger one (NaN, +-inf, -0, ties with the fitted
// values, more than one block). Then:
// - only tierkit errors may escape (anything else reaches libFuzzer and crashes);
// - every error message is valid UTF-8, and a located message ends with the
//   text and a caret line whose caret lies within the echoed text (+1 for end);
// - every row's tier and reason equal those of a plain per-row tree walk of the
//   parsed tree, written here from the documented semantics (an oracle for the
//   compiler, constant folding and the block kernels).
//
// Build (clang; the library is instrumented for coverage with fuzzer-no-link):
//   cmake -S . -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
//     -DTIERKIT_BUILD_TESTS=OFF -DTIERKIT_BUILD_BENCHMARKS=OFF -DTIERKIT_SANITIZE=ON \
//     -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link
//   cmake --build build/fuzz --target tierkit
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
//     -Iinclude -I/usr/include/eigen3 tests/fuzz/fuzz_expression.cpp build/fuzz/libtierkit.a \
//     -lboost_serialization -o build/fuzz/fuzz_expression
// Run (the corpus directory given first collects new inputs; the seeds are read only):
//   mkdir -p build/fuzz/corpus && build/fuzz/fuzz_expression -max_total_time=20 -max_len=512 \
//     -dict=tests/fuzz/expression.dict build/fuzz/corpus tests/fuzz/corpus/expression
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "tierkit/core/error.hpp"
#include "tierkit/rules/builtin/expression.hpp"

namespace {

using namespace tierkit;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

[[noreturn]] void crash(const char* what, const std::string& detail) {
    std::fprintf(stderr, "fuzz_expression: %s\n%s\n", what, detail.c_str());
    std::abort();
}

bool valid_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > s.size()) return false;
        std::uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
        for (std::size_t k = 1; k < len; ++k) {
            const auto d = static_cast<unsigned char>(s[i + k]);
            if ((d >> 6) != 2) return false;
            cp = (cp << 6) | (d & 0x3F);
        }
        const std::uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

std::size_t code_points(const std::string& s) {
    std::size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) >> 6) != 2;
    return n;
}

void check_message(const Error& e) {
    const std::string m = e.what();
    if (!valid_utf8(m)) crash("error message is not valid UTF-8", m);
    const auto nl = m.find('\n');
    if (nl == std::string::npos) return;  // not a located message
    // Column names and quoted tokens are arbitrary text, so look for any " at
    // position <n>" with n >= 1 on the first line rather than parse the line.
    const auto first_line = m.substr(0, nl);
    bool positioned = false;
    for (auto at = first_line.find(" at position "); at != std::string::npos && !positioned;
         at = first_line.find(" at position ", at + 1))
        positioned = std::strtol(first_line.c_str() + at + 13, nullptr, 10) >= 1;
    if (!positioned) crash("located message without a position", m);
    const auto nl2 = m.find('\n', nl + 1);
    if (nl2 == std::string::npos || m.find('\n', nl2 + 1) != std::string::npos) crash("expected exactly 3 lines", m);
    const std::string echo = m.substr(nl + 1, nl2 - nl - 1);
    const std::string caret = m.substr(nl2 + 1);
    if (echo.rfind("  ", 0) != 0 || caret.rfind("  ", 0) != 0 || caret.back() != '^' ||
        caret.find_first_not_of(' ') != caret.size() - 1)
        crash("malformed echo or caret line", m);
    if (caret.size() - 2 > code_points(echo) - 2 + 1) crash("caret beyond the text", m);
}

/// The fit table (finite, with ties) and the assign table.
struct Tables {
    FeatureTable fit_table, assign_table;
    std::vector<std::string> score_names{"s", "c"};  // the score "c" shadows the column "c"
    std::vector<std::vector<double>> fit_scores, assign_scores;
    std::vector<std::string> columns{"a", "b", "c", "x y"};

    Tables() {
        const std::vector<std::vector<double>> fit_cols = {{1, 2, 2, 3, 5, 8, 13, 0},          // a
                                                           {-1, 0, 0, 0, 1, 1, 2, 100},        // b
                                                           {7, 7, 7, 7, 7, 7, 7, 7},           // c (constant)
                                                           {0.5, 0.25, 1e6, -3, 4, 4, 4, 9}};  // x y
        fit_table = FeatureTable(std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
        for (std::size_t k = 0; k < columns.size(); ++k) fit_table.add_column(columns[k], fit_cols[k]);
        fit_scores = {{10, 20, 30, 40, 50, 60, 70, 80}, {3, 1, 4, 1, 5, 9, 2, 6}};

        const std::vector<double> specials = {0,    -0.0,  1,      -1,     2,    2.5,  3,     7, 13, 100, 1e6, -3,
                                              0.25, 1e308, -1e308, 5e-324, kNaN, kInf, -kInf, 4, 8,  0.5, 9,   50};
        const std::size_t n = 1030;  // one full block and a few rows more
        std::vector<std::int64_t> ids(n);
        std::vector<std::vector<double>> cols(columns.size(), std::vector<double>(n));
        assign_scores.assign(2, std::vector<double>(n));
        for (std::size_t i = 0; i < n; ++i) {
            ids[i] = static_cast<std::int64_t>(i);
            for (std::size_t k = 0; k < cols.size(); ++k)
                cols[k][i] = specials[(i * (k + 3) + k * 7) % specials.size()];
            assign_scores[0][i] = specials[(i * 5 + 1) % specials.size()];
            assign_scores[1][i] = specials[(i * 11 + 2) % specials.size()];
        }
        assign_table = FeatureTable(ids);
        for (std::size_t k = 0; k < columns.size(); ++k) assign_table.add_column(columns[k], cols[k]);
    }
};

const Tables& tables() {
    static const Tables t;
    return t;
}

/// The documented semantics, one row at a time.
struct Oracle {
    const expr::Tree& tree;
    const ExpressionRule& rule;
    const Tables& t;
    std::size_t row;

    double column(const std::string& name) const {
        for (std::size_t k = 0; k < t.score_names.size(); ++k)
            if (t.score_names[k] == name) return t.assign_scores[k][row];
        return t.assign_table.column(name)[row];
    }

    double eval(std::uint32_t id) const {
        const expr::Node& n = tree.nodes[id];
        auto arg = [&](std::size_t k) { return eval(n.args[k]); };
        auto truth = [](bool b) { return b ? 1.0 : 0.0; };
        switch (n.op) {
            case expr::Op::number:
                return n.value;
            case expr::Op::column:
                return column(n.name);
            case expr::Op::pct: {
                const double x = column(n.name);
                if (std::isnan(x)) return kNaN;
                for (std::size_t k = 0; k < rule.pct_columns().size(); ++k)
                    if (rule.pct_columns()[k] == n.name) return rule.pct_curves()[k].normalize(x);
                crash("pct column without a curve", n.name);
            }
            case expr::Op::neg:
                return -arg(0);
            case expr::Op::log:
                return std::log(arg(0));
            case expr::Op::abs:
                return std::fabs(arg(0));
            case expr::Op::add:
                return arg(0) + arg(1);
            case expr::Op::sub:
                return arg(0) - arg(1);
            case expr::Op::mul:
                return arg(0) * arg(1);
            case expr::Op::div:
                return arg(0) / arg(1);
            case expr::Op::min:
            case expr::Op::max: {
                double acc = arg(0);
                for (std::size_t k = 1; k < n.args.size(); ++k) {
                    const double v = arg(k);
                    if (std::isnan(acc) || std::isnan(v))
                        acc = kNaN;
                    else
                        acc = n.op == expr::Op::min ? std::min(acc, v) : std::max(acc, v);
                }
                return acc;
            }
            case expr::Op::lt:
                return truth(arg(0) < arg(1));
            case expr::Op::le:
                return truth(arg(0) <= arg(1));
            case expr::Op::gt:
                return truth(arg(0) > arg(1));
            case expr::Op::ge:
                return truth(arg(0) >= arg(1));
            case expr::Op::eq:
                return truth(arg(0) == arg(1));
            case expr::Op::ne: {
                const double a = arg(0), b = arg(1);
                return truth(!std::isnan(a) && !std::isnan(b) && a != b);
            }
            case expr::Op::between: {
                const double x = arg(0), lo = arg(1), hi = arg(2);
                return truth(lo <= x && x <= hi);
            }
            case expr::Op::in:
            case expr::Op::not_in: {
                const double x = arg(0);
                if (std::isnan(x)) return 0.0;
                bool found = false;
                for (double v : n.set) found = found || x == v;
                return truth(found != (n.op == expr::Op::not_in));
            }
            case expr::Op::label_in:
            case expr::Op::label_not_in:
                crash("a label comparison fitted without a labelled column", n.name);
            case expr::Op::not_:
                return truth(arg(0) == 0);
            case expr::Op::and_: {
                const bool a = arg(0) != 0;
                const bool b = arg(1) != 0;
                return truth(a && b);
            }
            case expr::Op::or_: {
                const bool a = arg(0) != 0;
                const bool b = arg(1) != 0;
                return truth(a || b);
            }
        }
        crash("unknown node", tree.text);
    }
};

void run(const std::string& text) {
    const Tables& t = tables();
    expr::Tree parsed;
    try {
        parsed = expr::parse(text, "when");
    } catch (const PolicyError& e) {
        check_message(e);
        return;
    }
    const std::string condition = parsed.root_node().type == expr::Type::condition ? text : "(" + text + ") >= 0";
    std::unique_ptr<ExpressionRule> rule;
    try {
        rule = std::make_unique<ExpressionRule>(
            std::vector<ExpressionRule::Branch>{{condition, 0}, {"a > 2 and not `x y` in [4]", 1}}, 2, 3, "rule");
        rule->fit(RuleInput{t.fit_table, t.score_names, t.fit_scores});
    } catch (const Error& e) {
        check_message(e);
        return;
    }
    const std::size_t n = t.assign_table.rows();
    std::vector<std::int32_t> tier(n, -1), reason(n, -1);
    try {
        rule->assign(RuleInput{t.assign_table, t.score_names, t.assign_scores}, tier, reason);
    } catch (const Error& e) {
        crash("assign failed after a successful fit", e.what());
    }
    for (std::size_t i = 0; i < n; ++i) {
        std::int32_t want_reason = 2;
        for (std::size_t k = 0; k < rule->trees().size(); ++k) {
            const Oracle oracle{rule->trees()[k], *rule, t, i};
            if (oracle.eval(rule->trees()[k].root) != 0) {
                want_reason = static_cast<std::int32_t>(k);
                break;
            }
        }
        const std::int32_t want_tier = want_reason;  // branch k has tier k, else 2
        if (tier[i] != want_tier || reason[i] != want_reason)
            crash("block evaluation differs from the per-row oracle",
                  condition + "\nrow " + std::to_string(i) + ": tier " + std::to_string(tier[i]) + " reason " +
                      std::to_string(reason[i]) + ", expected " + std::to_string(want_tier));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    run(std::string(reinterpret_cast<const char*>(data), size));
    return 0;
}
