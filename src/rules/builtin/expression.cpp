// The `expression` rule: lexer, recursive-descent parser with type checking,
// the compiler to a block register machine, the block evaluator and the factory.
#include "tierkit/rules/builtin/expression.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "tierkit/core/error.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/rules/register.hpp"

namespace tierkit {
namespace expr {
namespace {

// ---- messages ---------------------------------------------------------------------

/// Length of the valid UTF-8 sequence at s[i], or 0 when the byte does not start one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return 1;
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c == 0xE0)
        len = 3, lo = 0xA0;
    else if (c >= 0xE1 && c <= 0xEC)
        len = 3;
    else if (c == 0xED)
        len = 3, hi = 0x9F;
    else if (c >= 0xEE && c <= 0xEF)
        len = 3;
    else if (c == 0xF0)
        len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
        len = 4;
    else if (c == 0xF4)
        len = 4, hi = 0x8F;
    else
        return 0;
    if (i + len > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < len; ++k)
        if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
    return len;
}

/// One display column of the text: a code point or an invalid byte.
struct Glyph {
    std::size_t offset;
    std::size_t length;
    bool valid;
};

std::vector<Glyph> glyphs(std::string_view s) {
    std::vector<Glyph> out;
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t len = utf8_length(s, i);
        out.push_back({i, len ? len : 1, len != 0});
        i += len ? len : 1;
    }
    return out;
}

/// Text safe in a message: valid UTF-8, control characters as spaces, invalid
/// bytes as '?'; one display column per glyph.
std::string printable(std::string_view s) {
    std::string out;
    for (const Glyph& g : glyphs(s)) {
        if (!g.valid)
            out += '?';
        else if (g.length == 1 && (static_cast<unsigned char>(s[g.offset]) < 0x20 || s[g.offset] == 0x7f))
            out += ' ';
        else
            out.append(s.substr(g.offset, g.length));
    }
    return out;
}

/// "<path>: <what> at position <n>\n  <text>\n  <caret>". Long texts show a window
/// around the caret.
std::string located(const std::string& path, std::string_view text, std::size_t offset, const std::string& what) {
    const auto gs = glyphs(text);
    std::size_t column = 0;  // 0-based glyph index of the offset (gs.size() at the end)
    while (column < gs.size() && gs[column].offset + gs[column].length <= offset) ++column;
    constexpr std::size_t window = 80;
    std::size_t first = 0, last = gs.size();
    if (gs.size() > window) {
        first = column > window / 2 ? column - window / 2 : 0;
        last = std::min(gs.size(), first + window);
        if (last - first < window) first = last > window ? last - window : 0;
    }
    const std::size_t begin = first < gs.size() ? gs[first].offset : text.size();
    const std::size_t end = last < gs.size() ? gs[last].offset : text.size();
    std::string echo = printable(text.substr(begin, end - begin));
    std::size_t pad = column - first;
    if (first > 0) {
        echo = "..." + echo;
        pad += 3;
    }
    if (last < gs.size()) echo += "...";
    return path + ": " + what + " at position " + std::to_string(column + 1) + "\n  " + echo + "\n  " +
           std::string(pad, ' ') + "^";
}

const char* type_name(Type t) { return t == Type::number ? "a number" : "a condition"; }

// ---- lexer ------------------------------------------------------------------------

enum class Tok : std::uint8_t {
    end,
    number,
    name,
    quoted,
    label,
    lparen,
    rparen,
    lbracket,
    rbracket,
    comma,
    plus,
    minus,
    star,
    slash,
    lt,
    le,
    gt,
    ge,
    eq,
    ne,
    kw_and,
    kw_or,
    kw_not,
    kw_in,
};

struct Token {
    Tok kind = Tok::end;
    std::size_t begin = 0, end = 0;
    double value = 0;
    std::string name;
};

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Parser {
public:
    Parser(std::string_view text, const std::string& path) : text_(text), path_(path) {
        tree_.text = std::string(text);
        tok_ = lex(0);
    }

    Tree run() {
        const std::uint32_t root = parse_or();
        if (tok_.kind != Tok::end) fail(tok_.begin, "expected an operator or end of text, got " + describe(tok_));
        tree_.root = root;
        return std::move(tree_);
    }

private:
    [[noreturn]] void fail(std::size_t offset, const std::string& what) const {
        throw PolicyError(located(path_, text_, offset, what));
    }

    std::string describe(const Token& t) const {
        if (t.kind == Tok::end) return "end of text";
        std::string_view s = text_.substr(t.begin, t.end - t.begin);
        std::string shown = s.size() > 24 ? printable(s.substr(0, 21)) + "..." : printable(s);
        return "'" + shown + "'";
    }

    Token lex(std::size_t i) const {
        while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n' || text_[i] == '\r')) ++i;
        Token t;
        t.begin = i;
        if (i == text_.size()) {
            t.end = i;
            return t;
        }
        const char c = text_[i];
        const char next = i + 1 < text_.size() ? text_[i + 1] : '\0';
        auto one = [&](Tok k, std::size_t len = 1) {
            t.kind = k;
            t.end = i + len;
            return t;
        };
        if (is_digit(c) || (c == '.' && is_digit(next))) return lex_number(i);
        if (is_name_start(c)) {
            std::size_t j = i;
            while (j < text_.size() && is_name_char(text_[j])) ++j;
            t.end = j;
            t.name = std::string(text_.substr(i, j - i));
            t.kind = t.name == "and"   ? Tok::kw_and
                     : t.name == "or"  ? Tok::kw_or
                     : t.name == "not" ? Tok::kw_not
                     : t.name == "in"  ? Tok::kw_in
                                       : Tok::name;
            return t;
        }
        switch (c) {
            case '`': {
                const std::size_t close = text_.find('`', i + 1);
                if (close == std::string_view::npos)
                    fail(text_.size(), "expected '`' to close the name opened at position " +
                                           std::to_string(glyphs(text_.substr(0, i)).size() + 1) + ", got end of text");
                if (close == i + 1) fail(i, "expected a column name between the backquotes, got ``");
                t.kind = Tok::quoted;
                t.end = close + 1;
                t.name = std::string(text_.substr(i + 1, close - i - 1));
                return t;
            }
            case '\'':
            case '"': {
                const std::size_t close = text_.find(c, i + 1);
                if (close == std::string_view::npos)
                    fail(text_.size(), std::string("expected ") + c + " to close the label opened at position " +
                                           std::to_string(glyphs(text_.substr(0, i)).size() + 1) + ", got end of text");
                if (close == i + 1) fail(i, std::string("expected a label between the quotes, got ") + c + c);
                t.kind = Tok::label;
                t.end = close + 1;
                t.name = std::string(text_.substr(i + 1, close - i - 1));
                return t;
            }
            case '(':
                return one(Tok::lparen);
            case ')':
                return one(Tok::rparen);
            case '[':
                return one(Tok::lbracket);
            case ']':
                return one(Tok::rbracket);
            case ',':
                return one(Tok::comma);
            case '+':
                return one(Tok::plus);
            case '-':
                return one(Tok::minus);
            case '*':
                return one(Tok::star);
            case '/':
                return one(Tok::slash);
            case '<':
                return next == '=' ? one(Tok::le, 2) : one(Tok::lt);
            case '>':
                return next == '=' ? one(Tok::ge, 2) : one(Tok::gt);
            case '=':
                if (next == '=') return one(Tok::eq, 2);
                fail(i, "'=' is not an operator; use '==' to compare");
            case '!':
                if (next == '=') return one(Tok::ne, 2);
                fail(i, "'!' is not an operator; use 'not'");
            case '&':
                fail(i, std::string(next == '&' ? "'&&'" : "'&'") + " is not an operator; use 'and'");
            case '|':
                fail(i, std::string(next == '|' ? "'||'" : "'|'") + " is not an operator; use 'or'");
            default:
                break;
        }
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) fail(i, std::string("unexpected character '") + c + "'");
        const std::size_t len = utf8_length(text_, i);
        if (len > 1)
            fail(i, "unexpected character '" + std::string(text_.substr(i, len)) +
                        "'; put column names with such characters in backquotes");
        static const char* hex = "0123456789abcdef";
        fail(i, std::string("unexpected byte 0x") + hex[u >> 4] + hex[u & 15]);
    }

    Token lex_number(std::size_t i) const {
        std::size_t j = i;
        while (j < text_.size() && is_digit(text_[j])) ++j;
        if (j < text_.size() && text_[j] == '.') {
            ++j;
            while (j < text_.size() && is_digit(text_[j])) ++j;
        }
        if (j < text_.size() && (text_[j] == 'e' || text_[j] == 'E')) {
            std::size_t k = j + 1;
            if (k < text_.size() && (text_[k] == '+' || text_[k] == '-')) ++k;
            if (k < text_.size() && is_digit(text_[k])) {
                while (k < text_.size() && is_digit(text_[k])) ++k;
                j = k;
            }
        }
        Token t;
        t.kind = Tok::number;
        t.begin = i;
        t.end = j;
        if (j < text_.size() && (is_name_char(text_[j]) || text_[j] == '.')) {
            while (t.end < text_.size() && (is_name_char(text_[t.end]) || text_[t.end] == '.')) ++t.end;
            fail(i, "malformed number, got " + describe(t));
        }
        const auto r = std::from_chars(text_.data() + i, text_.data() + j, t.value);
        if (r.ec != std::errc() || r.ptr != text_.data() + j || !std::isfinite(t.value))
            fail(i, "number out of range, got " + describe(t));
        return t;
    }

    void advance() { tok_ = lex(tok_.end); }

    /// Add a node; its height (and so the compiler's recursion) is bounded.
    std::uint32_t add(Node n) {
        std::size_t h = 1;
        for (auto a : n.args) h = std::max(h, heights_[a] + 1);
        if (h > kMaxDepth)
            fail(n.op_position, "expression too deep: more than " + std::to_string(kMaxDepth) + " nested operations");
        heights_.push_back(h);
        tree_.nodes.push_back(std::move(n));
        return static_cast<std::uint32_t>(tree_.nodes.size() - 1);
    }

    struct Depth {
        Parser& p;
        Depth(Parser& parser, std::size_t offset) : p(parser) {
            if (++p.depth_ > kMaxDepth)
                p.fail(offset, "expression too deep: more than " + std::to_string(kMaxDepth) + " nested operations");
        }
        ~Depth() { --p.depth_; }
        Depth(const Depth&) = delete;
        Depth& operator=(const Depth&) = delete;
    };

    const Node& node(std::uint32_t k) const { return tree_.nodes[k]; }

    void expect_type(std::uint32_t k, Type want, const std::string& who) const {
        if (node(k).type != want)
            fail(node(k).position, who + " needs " + type_name(want) + ", got " + type_name(node(k).type));
    }

    std::uint32_t binary(Op op, Type result, Type operands, const std::string& who, std::size_t op_pos,
                         std::uint32_t left, std::uint32_t right) {
        expect_type(left, operands, who);
        expect_type(right, operands, who);
        Node n;
        n.op = op;
        n.type = result;
        n.position = node(left).position;
        n.op_position = static_cast<std::uint32_t>(op_pos);
        n.args = {left, right};
        return add(std::move(n));
    }

    std::uint32_t parse_or() {
        Depth guard(*this, tok_.begin);
        std::uint32_t left = parse_and();
        while (tok_.kind == Tok::kw_or) {
            const std::size_t pos = tok_.begin;
            advance();
            const std::uint32_t right = parse_and();
            left = binary(Op::or_, Type::condition, Type::condition, "'or'", pos, left, right);
        }
        return left;
    }

    std::uint32_t parse_and() {
        std::uint32_t left = parse_not();
        while (tok_.kind == Tok::kw_and) {
            const std::size_t pos = tok_.begin;
            advance();
            const std::uint32_t right = parse_not();
            left = binary(Op::and_, Type::condition, Type::condition, "'and'", pos, left, right);
        }
        return left;
    }

    std::uint32_t parse_not() {
        if (tok_.kind != Tok::kw_not) return parse_comparison();
        const std::size_t pos = tok_.begin;
        Depth guard(*this, pos);
        advance();
        const std::uint32_t operand = parse_not();
        expect_type(operand, Type::condition, "'not'");
        Node n;
        n.op = Op::not_;
        n.type = Type::condition;
        n.position = n.op_position = static_cast<std::uint32_t>(pos);
        n.args = {operand};
        return add(std::move(n));
    }

    static bool is_comparison(Tok k) {
        return k == Tok::lt || k == Tok::le || k == Tok::gt || k == Tok::ge || k == Tok::eq || k == Tok::ne;
    }

    bool at_not_in() const { return tok_.kind == Tok::kw_not && lex(tok_.end).kind == Tok::kw_in; }

    /// Turn `left`, the column node just parsed, into a label comparison (`==`, `!=`,
    /// `in`, `not in` with labels on the right).
    std::uint32_t label_condition(std::uint32_t left, bool negated, std::size_t op_pos, std::vector<std::string> labels,
                                  const char* who) {
        if (node(left).op != Op::column || left + 1 != tree_.nodes.size())
            fail(node(left).position,
                 std::string(who) + " with labels needs a column name on the left, got " + type_name(node(left).type));
        Node& n = tree_.nodes[left];
        n.op = negated ? Op::label_not_in : Op::label_in;
        n.type = Type::condition;
        n.op_position = static_cast<std::uint32_t>(op_pos);
        n.labels = std::move(labels);
        return left;
    }

    std::uint32_t parse_comparison() {
        const std::uint32_t left = parse_additive();
        std::uint32_t result = left;
        if ((tok_.kind == Tok::eq || tok_.kind == Tok::ne) && lex(tok_.end).kind == Tok::label) {
            const bool negated = tok_.kind == Tok::ne;
            const std::size_t pos = tok_.begin;
            advance();
            std::string label = tok_.name;
            advance();
            result = label_condition(left, negated, pos, {std::move(label)}, negated ? "'!='" : "'=='");
        } else if (is_comparison(tok_.kind)) {
            static const std::map<Tok, std::pair<Op, const char*>> ops = {
                {Tok::lt, {Op::lt, "'<'"}},  {Tok::le, {Op::le, "'<='"}}, {Tok::gt, {Op::gt, "'>'"}},
                {Tok::ge, {Op::ge, "'>='"}}, {Tok::eq, {Op::eq, "'=='"}}, {Tok::ne, {Op::ne, "'!='"}}};
            const auto [op, name] = ops.at(tok_.kind);
            const std::size_t pos = tok_.begin;
            advance();
            const std::uint32_t right = parse_additive();
            result = binary(op, Type::condition, Type::number, name, pos, left, right);
        } else if (tok_.kind == Tok::kw_in || at_not_in()) {
            const bool negated = tok_.kind == Tok::kw_not;
            const std::size_t pos = tok_.begin;
            if (negated) advance();
            advance();
            if (tok_.kind == Tok::lbracket && lex(tok_.end).kind == Tok::label) {
                result = label_condition(left, negated, pos, parse_labels(), negated ? "'not in'" : "'in'");
            } else {
                expect_type(left, Type::number, negated ? "'not in'" : "'in'");
                Node n;
                n.op = negated ? Op::not_in : Op::in;
                n.type = Type::condition;
                n.position = node(left).position;
                n.op_position = static_cast<std::uint32_t>(pos);
                n.args = {left};
                n.set = parse_list();
                result = add(std::move(n));
            }
        } else {
            return left;
        }
        if (is_comparison(tok_.kind) || tok_.kind == Tok::kw_in || at_not_in())
            fail(tok_.begin,
                 "comparisons do not chain; join them with 'and' (or use between(x, lo, hi)), got " + describe(tok_));
        return result;
    }

    /// '[' item (',' item)* ']', each item read by `item` (at the item's first token).
    template <class T, class Item>
    std::vector<T> parse_items(Item item) {
        if (tok_.kind != Tok::lbracket) fail(tok_.begin, "expected '[' to start the list, got " + describe(tok_));
        advance();
        std::vector<T> out;
        while (true) {
            out.push_back(item());
            if (tok_.kind == Tok::rbracket) break;
            if (tok_.kind != Tok::comma) fail(tok_.begin, "expected ',' or ']', got " + describe(tok_));
            advance();
        }
        advance();
        return out;
    }

    std::vector<double> parse_list() {
        return parse_items<double>([&] {
            const bool negative = tok_.kind == Tok::minus;
            if (negative) advance();
            if (tok_.kind != Tok::number) fail(tok_.begin, "expected a number, got " + describe(tok_));
            const double v = negative ? -tok_.value : tok_.value;
            advance();
            return v;
        });
    }

    /// A list of labels: '[' label (',' label)* ']'.
    std::vector<std::string> parse_labels() {
        return parse_items<std::string>([&] {
            if (tok_.kind != Tok::label) fail(tok_.begin, "expected a label in quotes, got " + describe(tok_));
            std::string label = tok_.name;
            advance();
            return label;
        });
    }

    std::uint32_t parse_additive() {
        std::uint32_t left = parse_multiplicative();
        while (tok_.kind == Tok::plus || tok_.kind == Tok::minus) {
            const bool plus = tok_.kind == Tok::plus;
            const std::size_t pos = tok_.begin;
            advance();
            const std::uint32_t right = parse_multiplicative();
            left = binary(plus ? Op::add : Op::sub, Type::number, Type::number, plus ? "'+'" : "'-'", pos, left, right);
        }
        return left;
    }

    std::uint32_t parse_multiplicative() {
        std::uint32_t left = parse_unary();
        while (tok_.kind == Tok::star || tok_.kind == Tok::slash) {
            const bool mul = tok_.kind == Tok::star;
            const std::size_t pos = tok_.begin;
            advance();
            const std::uint32_t right = parse_unary();
            left = binary(mul ? Op::mul : Op::div, Type::number, Type::number, mul ? "'*'" : "'/'", pos, left, right);
        }
        return left;
    }

    std::uint32_t parse_unary() {
        if (tok_.kind != Tok::minus) return parse_primary();
        const std::size_t pos = tok_.begin;
        Depth guard(*this, pos);
        advance();
        const std::uint32_t operand = parse_unary();
        expect_type(operand, Type::number, "'-'");
        Node n;
        n.op = Op::neg;
        n.type = Type::number;
        n.position = n.op_position = static_cast<std::uint32_t>(pos);
        n.args = {operand};
        return add(std::move(n));
    }

    std::uint32_t parse_primary() {
        const Token t = tok_;
        Node n;
        n.position = n.op_position = static_cast<std::uint32_t>(t.begin);
        switch (t.kind) {
            case Tok::number:
                advance();
                n.op = Op::number;
                n.value = t.value;
                return add(std::move(n));
            case Tok::name:
                if (lex(t.end).kind == Tok::lparen) return parse_call();
                [[fallthrough]];
            case Tok::quoted:
                advance();
                n.op = Op::column;
                n.name = t.name;
                return add(std::move(n));
            case Tok::lparen: {
                advance();
                const std::uint32_t inner = parse_or();
                if (tok_.kind != Tok::rparen) fail(tok_.begin, "expected ')', got " + describe(tok_));
                advance();
                // The parenthesized expression starts at '(' for messages about it.
                tree_.nodes[inner].position = static_cast<std::uint32_t>(t.begin);
                return inner;
            }
            case Tok::label:
                fail(t.begin,
                     "a label is compared with a labelled column: column == 'label' or column in ['a', 'b'], got " +
                         describe(t));
            default:
                fail(t.begin, "expected a number, column or '(', got " + describe(t));
        }
    }

    std::uint32_t parse_call() {
        const Token fn = tok_;
        const std::string& name = fn.name;
        static const std::map<std::string, Op> functions = {{"abs", Op::abs}, {"between", Op::between},
                                                            {"log", Op::log}, {"max", Op::max},
                                                            {"min", Op::min}, {"pct", Op::pct}};
        const auto it = functions.find(name);
        if (it == functions.end())
            fail(fn.begin, "unknown function '" + name + "'; functions: abs, between, log, max, min, pct");
        Depth guard(*this, fn.begin);
        advance();  // name
        advance();  // (
        Node n;
        n.op = it->second;
        n.position = n.op_position = static_cast<std::uint32_t>(fn.begin);
        if (n.op == Op::pct) {
            if (tok_.kind != Tok::name && tok_.kind != Tok::quoted)
                fail(tok_.begin, "pct() takes a column name, got " + describe(tok_));
            n.name = tok_.name;
            n.type = Type::number;
            advance();
            if (tok_.kind != Tok::rparen)
                fail(tok_.begin, "pct() takes a single column name; expected ')', got " + describe(tok_));
            advance();
            return add(std::move(n));
        }
        if (tok_.kind != Tok::rparen) {
            while (true) {
                n.args.push_back(parse_or());
                if (tok_.kind == Tok::rparen) break;
                if (tok_.kind != Tok::comma) fail(tok_.begin, "expected ',' or ')', got " + describe(tok_));
                advance();
            }
        }
        advance();  // )
        const std::size_t count = n.args.size();
        const std::string got = ", got " + std::to_string(count);
        switch (n.op) {
            case Op::log:
            case Op::abs:
                if (count != 1) fail(fn.begin, name + "() takes 1 argument" + got);
                break;
            case Op::min:
            case Op::max:
                if (count < 2) fail(fn.begin, name + "() takes 2 or more arguments" + got);
                break;
            default:
                if (count != 3) fail(fn.begin, "between() takes 3 arguments (x, lo, hi)" + got);
                break;
        }
        for (auto a : n.args) expect_type(a, Type::number, name + "()");
        n.type = n.op == Op::between ? Type::condition : Type::number;
        return add(std::move(n));
    }

    std::string_view text_;
    const std::string& path_;
    Tree tree_;
    Token tok_;
    std::vector<std::size_t> heights_;
    std::size_t depth_ = 0;
};

// ---- scalar semantics (shared by constant folding and the block kernels) ----------

// NaN propagates; on ties (-0 and +0) the first argument is the result.
inline double f_min(double a, double b) { return (a <= b || a != a) ? a : b; }
inline double f_max(double a, double b) { return (a >= b || a != a) ? a : b; }
inline std::uint8_t f_ne(double a, double b) { return (a < b) | (a > b); }  // false for NaN

/// Membership in a sorted list; false for NaN (binary_search alone would say true).
bool in_sorted(const std::vector<double>& set, double x) {
    return x == x && std::binary_search(set.begin(), set.end(), x);
}
/// `x in set` / `x not in set`: both false for NaN.
bool in_list(const std::vector<double>& set, double x, bool negated) {
    return x == x && (in_sorted(set, x) != negated);
}

// ---- compiler ---------------------------------------------------------------------

class Compiler {
public:
    Compiler(const Tree& tree, std::vector<std::string>& columns, std::vector<std::string>& pct_columns,
             std::vector<std::string>& label_columns)
        : tree_(tree), columns_(columns), pct_columns_(pct_columns), label_columns_(label_columns) {}

    Program run() {
        program_.result = emit(tree_.root);
        program_.number_slots = static_cast<std::uint32_t>(number_busy_.size());
        program_.condition_slots = static_cast<std::uint32_t>(condition_busy_.size());
        return std::move(program_);
    }

private:
    static std::uint32_t index_of(std::vector<std::string>& names, const std::string& name) {
        const auto it = std::find(names.begin(), names.end(), name);
        if (it != names.end()) return static_cast<std::uint32_t>(it - names.begin());
        names.push_back(name);
        return static_cast<std::uint32_t>(names.size() - 1);
    }

    static Operand constant(double v) { return Operand{Operand::Kind::constant, 0, v}; }

    static std::uint32_t alloc(std::vector<bool>& busy) {
        for (std::size_t k = 0; k < busy.size(); ++k)
            if (!busy[k]) {
                busy[k] = true;
                return static_cast<std::uint32_t>(k);
            }
        busy.push_back(true);
        return static_cast<std::uint32_t>(busy.size() - 1);
    }

    /// Release an operand's register; `condition` says which file it is in.
    void release(const Operand& o, bool condition) {
        if (o.kind == Operand::Kind::slot) (condition ? condition_busy_ : number_busy_)[o.index] = false;
    }

    /// Emit `code` reading a, b, c (of the given files) into a new register. The
    /// output register is taken before the inputs are released, so an
    /// instruction never writes what it reads.
    Operand instruction(Code code, bool condition_out, Operand a, bool a_cond, Operand b = {}, bool b_cond = false,
                        Operand c = {}, std::uint32_t aux = 0) {
        Instruction in;
        in.code = code;
        in.out = alloc(condition_out ? condition_busy_ : number_busy_);
        in.a = a;
        in.b = b;
        in.c = c;
        in.aux = aux;
        release(a, a_cond);
        release(b, b_cond);
        release(c, false);
        program_.code.push_back(in);
        return Operand{Operand::Kind::slot, in.out, 0};
    }

    static bool is_const(const Operand& o) { return o.kind == Operand::Kind::constant; }

    static double fold_number(Op op, double a, double b) {
        switch (op) {
            case Op::add:
                return a + b;
            case Op::sub:
                return a - b;
            case Op::mul:
                return a * b;
            case Op::div:
                return a / b;
            case Op::min:
                return f_min(a, b);
            case Op::max:
                return f_max(a, b);
            default:
                return a;
        }
    }
    static Code code_of(Op op) {
        switch (op) {
            case Op::add:
                return Code::add;
            case Op::sub:
                return Code::sub;
            case Op::mul:
                return Code::mul;
            case Op::div:
                return Code::div;
            case Op::min:
                return Code::min;
            case Op::max:
                return Code::max;
            case Op::lt:
                return Code::lt;
            case Op::le:
                return Code::le;
            case Op::gt:
                return Code::gt;
            case Op::ge:
                return Code::ge;
            case Op::eq:
                return Code::eq;
            default:
                return Code::ne;
        }
    }
    static double fold_compare(Op op, double a, double b) {
        switch (op) {
            case Op::lt:
                return a < b;
            case Op::le:
                return a <= b;
            case Op::gt:
                return a > b;
            case Op::ge:
                return a >= b;
            case Op::eq:
                return a == b;
            default:
                return f_ne(a, b);
        }
    }

    Operand emit(std::uint32_t id) {
        const Node& n = tree_.nodes[id];
        switch (n.op) {
            case Op::number:
                return constant(n.value);
            case Op::column:
                return Operand{Operand::Kind::column, index_of(columns_, n.name), 0};
            case Op::pct: {
                const Operand col{Operand::Kind::column, index_of(columns_, n.name), 0};
                return instruction(Code::pct, false, col, false, {}, false, {}, index_of(pct_columns_, n.name));
            }
            case Op::neg:
            case Op::log:
            case Op::abs: {
                const Operand a = emit(n.args[0]);
                if (is_const(a))
                    return constant(n.op == Op::neg   ? -a.value
                                    : n.op == Op::log ? std::log(a.value)
                                                      : std::fabs(a.value));
                return instruction(n.op == Op::neg   ? Code::neg
                                   : n.op == Op::log ? Code::log
                                                     : Code::abs,
                                   false, a, false);
            }
            case Op::add:
            case Op::sub:
            case Op::mul:
            case Op::div:
            case Op::min:
            case Op::max: {
                // min/max of several arguments fold pairwise from the left.
                Operand acc = emit(n.args[0]);
                for (std::size_t k = 1; k < n.args.size(); ++k) {
                    const Operand b = emit(n.args[k]);
                    acc = is_const(acc) && is_const(b) ? constant(fold_number(n.op, acc.value, b.value))
                                                       : instruction(code_of(n.op), false, acc, false, b, false);
                }
                return acc;
            }
            case Op::lt:
            case Op::le:
            case Op::gt:
            case Op::ge:
            case Op::eq:
            case Op::ne: {
                const Operand a = emit(n.args[0]);
                const Operand b = emit(n.args[1]);
                if (is_const(a) && is_const(b)) return constant(fold_compare(n.op, a.value, b.value));
                return instruction(code_of(n.op), true, a, false, b, false);
            }
            case Op::between: {
                const Operand x = emit(n.args[0]);
                const Operand lo = emit(n.args[1]);
                const Operand hi = emit(n.args[2]);
                if (is_const(x) && is_const(lo) && is_const(hi))
                    return constant(lo.value <= x.value && x.value <= hi.value);
                return instruction(Code::between, true, x, false, lo, false, hi);
            }
            case Op::in:
            case Op::not_in: {
                const bool negated = n.op == Op::not_in;
                const Operand x = emit(n.args[0]);
                std::vector<double> set = n.set;
                std::sort(set.begin(), set.end());
                set.erase(std::unique(set.begin(), set.end()), set.end());
                if (is_const(x)) return constant(in_list(set, x.value, negated));
                program_.sets.push_back(std::move(set));
                return instruction(negated ? Code::not_in : Code::in, true, x, false, {}, false, {},
                                   static_cast<std::uint32_t>(program_.sets.size() - 1));
            }
            case Op::label_in:
            case Op::label_not_in: {
                std::vector<std::string> labels = n.labels;
                std::sort(labels.begin(), labels.end());
                labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
                program_.label_sets.push_back(std::move(labels));
                const Operand col{Operand::Kind::column, index_of(label_columns_, n.name), 0};
                return instruction(n.op == Op::label_in ? Code::label_in : Code::label_not_in, true, col, false, {},
                                   false, {}, static_cast<std::uint32_t>(program_.label_sets.size() - 1));
            }
            case Op::not_: {
                const Operand a = emit(n.args[0]);
                if (is_const(a)) return constant(a.value == 0 ? 1 : 0);
                return instruction(Code::not_, true, a, true);
            }
            case Op::and_:
            case Op::or_: {
                // A constant side decides (false and x = false) or drops out (true and x = x);
                // code emitted for a side that is dropped is removed again.
                const bool is_and = n.op == Op::and_;
                const std::size_t start = program_.code.size();
                const Operand a = emit(n.args[0]);
                if (is_const(a) && (a.value != 0) != is_and) return constant(a.value);  // decided by a
                const Operand b = emit(n.args[1]);
                if (is_const(a)) return b;  // a is the neutral element
                if (is_const(b)) {
                    if ((b.value != 0) != is_and) {
                        release(a, true);
                        program_.code.resize(start);
                        return constant(b.value);
                    }
                    return a;
                }
                return instruction(is_and ? Code::and_ : Code::or_, true, a, true, b, true);
            }
        }
        return constant(0);
    }

    const Tree& tree_;
    std::vector<std::string>& columns_;
    std::vector<std::string>& pct_columns_;
    std::vector<std::string>& label_columns_;
    Program program_;
    std::vector<bool> number_busy_, condition_busy_;
};

// ---- block evaluator --------------------------------------------------------------

/// A number input of a kernel: a block of values or one value for every row.
struct Num {
    const double* p;
    double v;
};
struct Cond {
    const std::uint8_t* p;
    std::uint8_t v;
};

template <bool Scalar, class T>
struct View {
    const T* p;
    T v;
    T operator[](std::size_t i) const {
        if constexpr (Scalar)
            return v;
        else
            return p[i];
    }
};

/// Call k with a View specialized on whether the input is a scalar, so each
/// kernel loop is compiled (and vectorized) for every mix of blocks and scalars.
template <class K>
void view(const Num& s, K&& k) {
    if (s.p)
        k(View<false, double>{s.p, 0});
    else
        k(View<true, double>{nullptr, s.v});
}
template <class K>
void view(const Cond& s, K&& k) {
    if (s.p)
        k(View<false, std::uint8_t>{s.p, 0});
    else
        k(View<true, std::uint8_t>{nullptr, s.v});
}

template <class Out, class In, class F>
void map1(const In& a, Out* out, std::size_t n, F f) {
    view(a, [&](auto A) {
        for (std::size_t i = 0; i < n; ++i) out[i] = f(A[i]);
    });
}
template <class Out, class In, class F>
void map2(const In& a, const In& b, Out* out, std::size_t n, F f) {
    view(a, [&](auto A) {
        view(b, [&](auto B) {
            for (std::size_t i = 0; i < n; ++i) out[i] = f(A[i], B[i]);
        });
    });
}

struct Machine {
    const std::vector<FittedCriterion>* curves;
    std::vector<double> numbers;
    std::vector<std::uint8_t> conditions;

    /// Run `p` on rows [start, start + n); the result is a condition block or scalar.
    /// `labels` holds the codes of the labelled columns and `member`, per label set of
    /// `p`, which codes of its column are in the set.
    Cond run(const Program& p, const std::vector<std::span<const double>>& cols,
             const std::vector<std::span<const std::int32_t>>& labels,
             const std::vector<std::vector<std::uint8_t>>& member, std::size_t start, std::size_t n) {
        auto num = [&](const Operand& o) -> Num {
            switch (o.kind) {
                case Operand::Kind::constant:
                    return {nullptr, o.value};
                case Operand::Kind::slot:
                    return {numbers.data() + o.index * kBlock, 0};
                case Operand::Kind::column:
                    return {cols[o.index].data() + start, 0};
            }
            return {nullptr, 0};
        };
        auto cond = [&](const Operand& o) -> Cond {
            if (o.kind == Operand::Kind::slot) return {conditions.data() + o.index * kBlock, 0};
            return {nullptr, static_cast<std::uint8_t>(o.value != 0)};
        };
        for (const Instruction& in : p.code) {
            // Only the output's own register file is indexed: the other may be empty.
            const bool number_out = in.code <= Code::pct;
            double* nout = number_out ? numbers.data() + in.out * kBlock : nullptr;
            std::uint8_t* cond_out = number_out ? nullptr : conditions.data() + in.out * kBlock;
            switch (in.code) {
                case Code::neg:
                    map1(num(in.a), nout, n, [](double x) { return -x; });
                    break;
                case Code::log:
                    map1(num(in.a), nout, n, [](double x) { return std::log(x); });
                    break;
                case Code::abs:
                    map1(num(in.a), nout, n, [](double x) { return std::fabs(x); });
                    break;
                case Code::add:
                    map2(num(in.a), num(in.b), nout, n, [](double x, double y) { return x + y; });
                    break;
                case Code::sub:
                    map2(num(in.a), num(in.b), nout, n, [](double x, double y) { return x - y; });
                    break;
                case Code::mul:
                    map2(num(in.a), num(in.b), nout, n, [](double x, double y) { return x * y; });
                    break;
                case Code::div:
                    map2(num(in.a), num(in.b), nout, n, [](double x, double y) { return x / y; });
                    break;
                case Code::min:
                    map2(num(in.a), num(in.b), nout, n, f_min);
                    break;
                case Code::max:
                    map2(num(in.a), num(in.b), nout, n, f_max);
                    break;
                case Code::pct: {
                    const FittedCriterion& curve = (*curves)[in.aux];
                    map1(num(in.a), nout, n, [&](double x) {
                        return std::isnan(x) ? std::numeric_limits<double>::quiet_NaN() : curve.normalize(x);
                    });
                    break;
                }
                case Code::lt:
                    map2(num(in.a), num(in.b), cond_out, n, [](double x, double y) -> std::uint8_t { return x < y; });
                    break;
                case Code::le:
                    map2(num(in.a), num(in.b), cond_out, n, [](double x, double y) -> std::uint8_t { return x <= y; });
                    break;
                case Code::gt:
                    map2(num(in.a), num(in.b), cond_out, n, [](double x, double y) -> std::uint8_t { return x > y; });
                    break;
                case Code::ge:
                    map2(num(in.a), num(in.b), cond_out, n, [](double x, double y) -> std::uint8_t { return x >= y; });
                    break;
                case Code::eq:
                    map2(num(in.a), num(in.b), cond_out, n, [](double x, double y) -> std::uint8_t { return x == y; });
                    break;
                case Code::ne:
                    map2(num(in.a), num(in.b), cond_out, n, f_ne);
                    break;
                case Code::between:
                    view(num(in.a), [&](auto X) {
                        view(num(in.b), [&](auto L) {
                            view(num(in.c), [&](auto H) {
                                for (std::size_t i = 0; i < n; ++i)
                                    cond_out[i] = static_cast<std::uint8_t>((L[i] <= X[i]) & (X[i] <= H[i]));
                            });
                        });
                    });
                    break;
                case Code::in:
                case Code::not_in: {
                    const std::vector<double>& set = p.sets[in.aux];
                    const bool negated = in.code == Code::not_in;
                    view(num(in.a), [&](auto X) {
                        if (set.size() <= 16) {
                            std::fill(cond_out, cond_out + n, std::uint8_t{0});
                            for (double v : set)
                                for (std::size_t i = 0; i < n; ++i) cond_out[i] |= static_cast<std::uint8_t>(X[i] == v);
                            if (negated)
                                for (std::size_t i = 0; i < n; ++i)
                                    cond_out[i] = static_cast<std::uint8_t>((cond_out[i] ^ 1) & (X[i] == X[i]));
                        } else {
                            for (std::size_t i = 0; i < n; ++i) cond_out[i] = in_list(set, X[i], negated);
                        }
                    });
                    break;
                }
                case Code::not_:
                    map1(cond(in.a), cond_out, n, [](std::uint8_t x) -> std::uint8_t { return x ^ 1; });
                    break;
                case Code::and_:
                    map2(cond(in.a), cond(in.b), cond_out, n,
                         [](std::uint8_t x, std::uint8_t y) -> std::uint8_t { return x & y; });
                    break;
                case Code::or_:
                    map2(cond(in.a), cond(in.b), cond_out, n,
                         [](std::uint8_t x, std::uint8_t y) -> std::uint8_t { return x | y; });
                    break;
                case Code::label_in:
                case Code::label_not_in: {
                    // A missing label (code -1) is in no set and in no complement.
                    const std::int32_t* code = labels[in.a.index].data() + start;
                    const std::uint8_t* in_set = member[in.aux].data();
                    const std::uint8_t flip = in.code == Code::label_not_in;
                    for (std::size_t i = 0; i < n; ++i)
                        cond_out[i] = code[i] < 0 ? 0 : static_cast<std::uint8_t>(in_set[code[i]] ^ flip);
                    break;
                }
            }
        }
        return cond(p.result);
    }
};

}  // namespace

Tree parse(std::string_view text, const std::string& path) { return Parser(text, path).run(); }

Program compile(const Tree& tree, std::vector<std::string>& columns, std::vector<std::string>& pct_columns,
                std::vector<std::string>& label_columns) {
    return Compiler(tree, columns, pct_columns, label_columns).run();
}

}  // namespace expr

// ---- the rule ---------------------------------------------------------------------

namespace {

std::string branch_path(const std::string& path, std::size_t k) {
    return path + ".branches[" + std::to_string(k) + "].when";
}

/// A condition as a reason: tabs and line breaks as spaces, without surrounding blanks.
std::string reason_text(const std::string& s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    std::string out = s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
    std::replace_if(
        out.begin(), out.end(), [](char c) { return c == '\t' || c == '\r' || c == '\n'; }, ' ');
    return expr::printable(out);
}

}  // namespace

ExpressionRule::ExpressionRule(std::vector<Branch> branches, std::int32_t else_tier, std::size_t tiers,
                               std::string path)
    : path_(std::move(path)), tiers_(tiers), branches_(std::move(branches)), else_tier_(else_tier) {
    const auto check_tier = [&](std::int32_t t, const std::string& where) {
        if (t < 0 || static_cast<std::size_t>(t) >= tiers_)
            throw PolicyError(where + ": must be a tier index 0.." +
                              std::to_string(static_cast<long long>(tiers_) - 1) + ", got " + std::to_string(t));
    };
    if (branches_.size() >= 65535)
        throw PolicyError(path_ + ".branches: at most 65535 branches, got " + std::to_string(branches_.size() + 1));
    for (std::size_t k = 0; k < branches_.size(); ++k)
        check_tier(branches_[k].tier, path_ + ".branches[" + std::to_string(k) + "].tier");
    check_tier(else_tier_, path_ + ".branches[" + std::to_string(branches_.size()) + "].else");
    build(false);
}

void ExpressionRule::build(bool loaded) {
    trees_.clear();
    programs_.clear();
    columns_.clear();
    pct_columns_.clear();
    label_columns_.clear();
    first_use_.clear();
    for (std::size_t k = 0; k < branches_.size(); ++k) {
        const std::string where = branch_path(path_, k);
        expr::Tree tree = expr::parse(branches_[k].when, where);
        const expr::Node& root = tree.root_node();
        if (root.type != expr::Type::condition)
            throw PolicyError(
                expr::located(where, tree.text, root.position, "must be a condition (true or false), got a number"));
        // Every column the text names is listed (so checked at fit and assign, and
        // pct() fitted) even where constant folding drops its code: "1 > 2 and
        // typo > 0" still reports the typo. The compiler then finds them listed.
        for (const auto& n : tree.nodes) {
            const bool labels = n.op == expr::Op::label_in || n.op == expr::Op::label_not_in;
            if (n.op != expr::Op::column && n.op != expr::Op::pct && !labels) continue;
            auto& names = labels ? label_columns_ : columns_;
            if (std::find(names.begin(), names.end(), n.name) == names.end()) {
                names.push_back(n.name);
                if (std::none_of(first_use_.begin(), first_use_.end(),
                                 [&](const auto& u) { return std::get<0>(u) == n.name; }))
                    first_use_.emplace_back(n.name, k, n.position);  // for messages at fit and assign
            }
            if (labels) continue;
            if (n.op == expr::Op::pct &&
                std::find(pct_columns_.begin(), pct_columns_.end(), n.name) == pct_columns_.end())
                pct_columns_.push_back(n.name);
        }
        programs_.push_back(expr::compile(tree, columns_, pct_columns_, label_columns_));
        trees_.push_back(std::move(tree));
    }
    if (loaded && fitted_) {
        bool match = curves_.size() == pct_columns_.size();
        for (std::size_t k = 0; match && k < curves_.size(); ++k) match = curves_[k].spec.column == pct_columns_[k];
        if (!match) throw FormatError("expression rule: the saved pct() curves do not match the conditions");
    }
}

std::vector<std::string> ExpressionRule::inputs() const {
    std::vector<std::string> out = columns_;
    for (const auto& name : label_columns_)
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    return out;
}

void ExpressionRule::column_error(const RuleInput& input, const std::string& name, bool as_labels) const {
    const auto use =
        std::find_if(first_use_.begin(), first_use_.end(), [&](const auto& u) { return std::get<0>(u) == name; });
    const std::size_t branch = std::get<1>(*use);
    const std::uint32_t at = std::get<2>(*use);
    const std::string shown = "'" + expr::printable(name) + "'";
    const auto located = [&](const std::string& what) {
        return expr::located(branch_path(path_, branch), branches_[branch].when, at, what);
    };
    const bool is_score =
        std::find(input.score_names.begin(), input.score_names.end(), name) != input.score_names.end();
    if (!as_labels && input.table.has_category(name) && !is_score)
        throw InvalidInput(located("column " + shown +
                                   " holds labels; compare it with labels: " + expr::printable(name) +
                                   " == 'label' or " + expr::printable(name) + " in ['a', 'b']"));
    if (as_labels && (is_score || input.table.has(name)))
        throw InvalidInput(
            located((is_score ? "score " : "column ") + shown + " holds numbers, not labels; compare it with numbers"));
    std::string what = (as_labels ? "unknown labelled column " : "unknown score or column ") + shown;
    std::string list;
    if (as_labels) {
        list = "; labelled columns: ";
        const auto cats = input.table.category_names();
        for (std::size_t k = 0; k < cats.size(); ++k) list += (k ? ", " : "") + cats[k];
        if (cats.empty()) list += "(none; pass labels as a categorical or string column)";
    } else {
        list = "; scores: ";
        for (std::size_t k = 0; k < input.score_names.size(); ++k) list += (k ? ", " : "") + input.score_names[k];
        if (input.score_names.empty()) list += "(none)";
        list += "; columns: ";
        const auto cols = input.table.names();
        for (std::size_t k = 0; k < cols.size(); ++k) list += (k ? ", " : "") + cols[k];
        if (cols.empty()) list += "(none)";
    }
    std::string msg = located(what);
    // Keep the caret lines last: insert the listing after the position.
    msg.insert(msg.find('\n'), list);
    throw UnknownColumn(msg);
}

std::vector<std::span<const double>> ExpressionRule::resolve(const RuleInput& input) const {
    std::vector<std::span<const double>> out;
    for (const std::string& name : columns_) {
        bool found = false;
        for (std::size_t k = 0; k < input.score_names.size() && !found; ++k) found = input.score_names[k] == name;
        if (!found && !input.table.has(name)) column_error(input, name, false);
        out.push_back(input.values(name));
    }
    return out;
}

std::vector<std::pair<std::span<const std::int32_t>, const std::vector<std::string>*>> ExpressionRule::resolve_labels(
    const RuleInput& input) const {
    std::vector<std::pair<std::span<const std::int32_t>, const std::vector<std::string>*>> out;
    for (const std::string& name : label_columns_) {
        if (!input.table.has_category(name)) column_error(input, name, true);
        const auto [codes, labels] = input.table.category(name);
        out.emplace_back(codes, labels);
    }
    return out;
}

void ExpressionRule::fit(const RuleInput& input) {
    const auto cols = resolve(input);
    const auto label_cols = resolve_labels(input);
    // Labels a comparison names that its column does not have: worth a warning (a
    // typo matches nobody), not an error (a later table may have them).
    std::vector<std::string> unseen;
    for (std::size_t k = 0; k < trees_.size(); ++k)
        for (const auto& n : trees_[k].nodes) {
            if (n.op != expr::Op::label_in && n.op != expr::Op::label_not_in) continue;
            const auto c = static_cast<std::size_t>(std::find(label_columns_.begin(), label_columns_.end(), n.name) -
                                                    label_columns_.begin());
            const std::vector<std::string>& have = *label_cols[c].second;
            for (const auto& label : n.labels)
                if (std::find(have.begin(), have.end(), label) == have.end()) {
                    std::string list;
                    for (std::size_t j = 0; j < have.size(); ++j) list += (j ? ", " : "") + expr::printable(have[j]);
                    unseen.push_back(branch_path(path_, k) + ": column '" + expr::printable(n.name) +
                                     "' has no label '" + expr::printable(label) +
                                     "' in the fit data (labels: " + list + ")");
                }
        }
    std::vector<FittedCriterion> curves;
    for (const std::string& name : pct_columns_) {
        const auto it = std::find(columns_.begin(), columns_.end(), name);
        const auto values = cols[static_cast<std::size_t>(it - columns_.begin())];
        std::vector<double> present;
        present.reserve(values.size());
        for (std::size_t i = 0; i < values.size(); ++i) {
            const double v = values[i];
            if (std::isnan(v)) continue;
            if (std::isinf(v))
                throw InvalidInput("column '" + expr::printable(name) + "', row " + std::to_string(i) +
                                   ": pct() needs finite values to fit on, got " + (v > 0 ? "inf" : "-inf"));
            present.push_back(v);
        }
        if (present.empty())
            throw InvalidInput("column '" + expr::printable(name) +
                               "': pct() needs at least one value that is not NaN to fit on");
        CriterionSpec spec;
        spec.column = name;
        spec.normalizer = Normalizer::percentile;
        curves.push_back(fit_criterion(spec, present, input.min_group));
    }
    curves_ = std::move(curves);
    unseen_labels_ = std::move(unseen);
    fitted_ = true;
}

void ExpressionRule::assign(const RuleInput& input, std::span<std::int32_t> tier,
                            std::span<std::int32_t> reason) const {
    if (!pct_columns_.empty() && !fitted_) {
        std::size_t k = 0;
        while (k < trees_.size() && std::none_of(trees_[k].nodes.begin(), trees_[k].nodes.end(),
                                                 [](const expr::Node& n) { return n.op == expr::Op::pct; }))
            ++k;
        std::uint32_t at = 0;
        for (const auto& n : trees_[k].nodes)
            if (n.op == expr::Op::pct) {
                at = n.position;
                break;
            }
        throw PolicyError(expr::located(branch_path(path_, k), branches_[k].when, at,
                                        "pct() needs the rule to be fitted first (call fit before assign)"));
    }
    const std::size_t rows = tier.size();
    if (reason.size() != rows)
        throw InvalidInput("expression: tier and reason outputs differ in length (" + std::to_string(rows) + " and " +
                           std::to_string(reason.size()) + ")");
    const auto cols = resolve(input);
    for (std::size_t c = 0; c < cols.size(); ++c)
        if (cols[c].size() != rows)
            throw InvalidInput("column '" + expr::printable(columns_[c]) + "': expected " + std::to_string(rows) +
                               " rows, got " + std::to_string(cols[c].size()));
    // Labelled columns: their codes, and per program, per label set, which of the
    // table's labels are in the set (the table's labels, so labels unseen at fit match).
    const auto label_cols = resolve_labels(input);
    std::vector<std::span<const std::int32_t>> codes;
    for (std::size_t c = 0; c < label_cols.size(); ++c) {
        const auto column = label_cols[c].first;
        if (column.size() != rows)
            throw InvalidInput("column '" + expr::printable(label_columns_[c]) + "': expected " + std::to_string(rows) +
                               " rows, got " + std::to_string(column.size()));
        codes.push_back(column);  // codes are -1 or index labels (checked by FeatureTable)
    }
    std::vector<std::vector<std::vector<std::uint8_t>>> member(programs_.size());
    for (std::size_t k = 0; k < programs_.size(); ++k) {
        member[k].resize(programs_[k].label_sets.size());
        for (const auto& in : programs_[k].code) {
            if (in.code != expr::Code::label_in && in.code != expr::Code::label_not_in) continue;
            const std::vector<std::string>& have = *label_cols[in.a.index].second;
            const std::vector<std::string>& set = programs_[k].label_sets[in.aux];
            auto& m = member[k][in.aux];
            m.resize(have.size());
            for (std::size_t j = 0; j < have.size(); ++j) m[j] = std::binary_search(set.begin(), set.end(), have[j]);
        }
    }

    expr::Machine machine{&curves_, {}, {}};
    std::uint32_t number_slots = 0, condition_slots = 0;
    for (const auto& p : programs_) {
        number_slots = std::max(number_slots, p.number_slots);
        condition_slots = std::max(condition_slots, p.condition_slots);
    }
    machine.numbers.resize(std::size_t{number_slots} * expr::kBlock);
    machine.conditions.resize(std::size_t{condition_slots} * expr::kBlock);

    // Per block: `open` marks rows without a branch yet and `chosen` holds the
    // branch that took each row; both are narrow so the loops vectorize. Tiers and
    // reasons are written once per block at the end.
    const auto else_branch = static_cast<std::uint16_t>(branches_.size());
    std::vector<std::int32_t> tier_of_branch;
    for (const auto& b : branches_) tier_of_branch.push_back(b.tier);
    tier_of_branch.push_back(else_tier_);
    std::vector<std::uint8_t> open(expr::kBlock);
    std::vector<std::uint16_t> chosen(expr::kBlock);
    for (std::size_t start = 0; start < rows; start += expr::kBlock) {
        const std::size_t n = std::min(expr::kBlock, rows - start);
        std::fill(open.begin(), open.begin() + static_cast<std::ptrdiff_t>(n), std::uint8_t{1});
        std::fill(chosen.begin(), chosen.begin() + static_cast<std::ptrdiff_t>(n), else_branch);
        std::uint8_t any_open = 1;
        for (std::size_t k = 0; k < programs_.size() && any_open; ++k) {
            const expr::Cond c = machine.run(programs_[k], cols, codes, member[k], start, n);
            const auto branch = static_cast<std::uint16_t>(k);
            if (!c.p) {
                if (!c.v) continue;
                for (std::size_t i = 0; i < n; ++i) chosen[i] = open[i] ? branch : chosen[i];
                any_open = 0;
                continue;
            }
            std::uint8_t still = 0;
            std::uint8_t* o = open.data();
            std::uint16_t* ch = chosen.data();
            for (std::size_t i = 0; i < n; ++i) {
                const std::uint8_t take = o[i] & c.p[i];
                ch[i] = take ? branch : ch[i];
                o[i] = static_cast<std::uint8_t>(o[i] & ~take);
                still |= o[i];
            }
            any_open = still;
        }
        std::int32_t* t = tier.data() + start;
        std::int32_t* r = reason.data() + start;
        for (std::size_t i = 0; i < n; ++i) {
            r[i] = chosen[i];
            t[i] = tier_of_branch[chosen[i]];
        }
    }
}

std::vector<std::string> ExpressionRule::reasons() const {
    std::vector<std::string> out;
    for (const auto& b : branches_) out.push_back("expression: " + reason_text(b.when));
    out.push_back("expression: else");
    return out;
}

std::vector<std::pair<std::string, std::vector<double>>> ExpressionRule::parameters() const {
    std::vector<double> tiers;
    for (const auto& b : branches_) tiers.push_back(b.tier);
    tiers.push_back(else_tier_);
    std::vector<std::pair<std::string, std::vector<double>>> out{{"branch_tiers", tiers}};
    for (std::size_t k = 0; k < curves_.size(); ++k)
        out.emplace_back("pct(" + pct_columns_[k] + ").knots", curves_[k].knots);
    return out;
}

// ---- factory ----------------------------------------------------------------------

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw PolicyError(path + ": " + what); }

std::string show(const json& j) {
    std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

std::int32_t tier_index(const json& j, const std::string& path, const std::vector<std::string>& names) {
    if (j.is_string()) {
        const auto name = j.get<std::string>();
        const auto it = std::find(names.begin(), names.end(), name);
        if (it != names.end()) return static_cast<std::int32_t>(it - names.begin());
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        fail(path, "unknown tier '" + expr::printable(name) + "'; tiers: " + list);
    }
    if (j.is_number_integer()) {
        const auto v = j.get<long long>();
        if (v >= 0 && static_cast<std::size_t>(v) < names.size()) return static_cast<std::int32_t>(v);
    }
    fail(path, "must be a tier name or a tier index 0.." + std::to_string(names.size() - 1) + ", got " + show(j));
}

}  // namespace

std::unique_ptr<Rule> make_expression_rule(const json& params, const std::string& path, std::size_t tiers) {
    if (!params.is_object()) fail(path, "must be an object, got " + show(params));
    for (auto it = params.begin(); it != params.end(); ++it) {
        const std::string& key = it.key();
        if (key != "kind" && key != "branches" && key != "tier_names" && key != "score")
            fail(path + "." + key, "unknown key; expected one of: kind, branches");
    }
    // The policy fills in "tier_names"; a host calling the factory directly must too.
    const std::string names_path = path + ".tier_names";
    if (!params.contains("tier_names")) fail(names_path, "required: the policy's tier names, best first");
    const json& tn = params.at("tier_names");
    if (!tn.is_array() || tn.size() != tiers || tiers == 0)
        fail(names_path, "must be an array of the " + std::to_string(tiers) + " tier names, got " + show(tn));
    std::vector<std::string> names;
    for (std::size_t k = 0; k < tn.size(); ++k) {
        if (!tn[k].is_string())
            fail(names_path + "[" + std::to_string(k) + "]", "must be a string, got " + show(tn[k]));
        names.push_back(tn[k].get<std::string>());
    }

    const std::string bp = path + ".branches";
    if (!params.contains("branches"))
        fail(bp, "required: an ordered list of {\"when\": condition, \"tier\": tier} ending with {\"else\": tier}");
    const json& bs = params.at("branches");
    if (!bs.is_array() || bs.empty()) fail(bp, "must be a non-empty array, got " + show(bs));
    std::vector<ExpressionRule::Branch> branches;
    std::int32_t else_tier = -1;
    for (std::size_t k = 0; k < bs.size(); ++k) {
        const std::string p = bp + "[" + std::to_string(k) + "]";
        const json& b = bs[k];
        if (!b.is_object()) fail(p, "must be an object, got " + show(b));
        if (b.contains("else")) {
            for (auto it = b.begin(); it != b.end(); ++it)
                if (it.key() != "else") fail(p + "." + it.key(), "unknown key; an else branch has only \"else\"");
            if (k + 1 != bs.size()) {
                const std::size_t more = bs.size() - k - 1;
                fail(p + ".else", "must be the last branch, but " + std::to_string(more) +
                                      (more == 1 ? " branch follows" : " branches follow"));
            }
            else_tier = tier_index(b.at("else"), p + ".else", names);
            continue;
        }
        for (auto it = b.begin(); it != b.end(); ++it)
            if (it.key() != "when" && it.key() != "tier")
                fail(p + "." + it.key(), "unknown key; expected one of: when, tier (or else, in the last branch)");
        if (!b.contains("when")) fail(p + ".when", "required: the condition of this branch");
        if (!b.contains("tier")) fail(p + ".tier", "required: the tier of customers matching \"when\"");
        const json& w = b.at("when");
        if (!w.is_string()) fail(p + ".when", "must be a string, got " + show(w));
        branches.push_back({w.get<std::string>(), tier_index(b.at("tier"), p + ".tier", names)});
    }
    if (else_tier < 0)
        fail(bp, "must end with {\"else\": tier} so that every customer gets a tier, got " + show(bs.back()) + " last");
    return std::make_unique<ExpressionRule>(std::move(branches), else_tier, tiers, path);
}

}  // namespace tierkit

TIERKIT_REGISTER_RULE(tierkit::ExpressionRule, "expression", tierkit::make_expression_rule)
