// The `expression` rule's parser: the lexer and the recursive-descent parser with
// type checking, and the located messages every part of the rule reports with.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>

#include "tierkit/core/error.hpp"
#include "tierkit/rules/builtin/expression/program.hpp"

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

}  // namespace

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

namespace {

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

}  // namespace

Tree parse(std::string_view text, const std::string& path) { return Parser(text, path).run(); }

}  // namespace expr
}  // namespace tierkit
