#pragma once
/// @file expression/program.hpp
/// The `expression` rule's syntax tree and compiled program (see expression.hpp for
/// the language). Parsing and compiling a text are compiled functions of the library
/// (src/rules/builtin/expression_parse.cpp, expression_compile.cpp); running a
/// program is inline (expression/eval.hpp), part of the rule's assign kernel.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tierkit {
namespace expr {

/// Rows per evaluation block.
inline constexpr std::size_t kBlock = 1024;
/// Deepest nesting of parentheses, calls and operators a text may have.
inline constexpr std::size_t kMaxDepth = 100;

enum class Type : std::uint8_t { number, condition };

/// Node kinds of the syntax tree.
enum class Op : std::uint8_t {
    number,  ///< literal: Node::value
    column,  ///< score or column: Node::name
    pct,     ///< pct(Node::name)
    neg,
    log,
    abs,
    add,
    sub,
    mul,
    div,
    min,  ///< two or more args
    max,  ///< two or more args
    lt,
    le,
    gt,
    ge,
    eq,
    ne,
    between,  ///< args: x, lo, hi
    in,       ///< args: x; Node::set
    not_in,   ///< args: x; Node::set
    not_,
    and_,
    or_,
    label_in,      ///< labelled column Node::name has one of Node::labels (`==`, `in`)
    label_not_in,  ///< labelled column Node::name has a label, not one of Node::labels (`!=`, `not in`)
};

struct Node {
    Op op = Op::number;
    Type type = Type::number;
    std::uint32_t position = 0;       ///< byte offset of the node's first character in the text
    std::uint32_t op_position = 0;    ///< byte offset of its operator, keyword or function name
    double value = 0;                 ///< Op::number
    std::string name;                 ///< Op::column, Op::pct
    std::vector<std::uint32_t> args;  ///< child node indices (always lower than this node's)
    std::vector<double> set;          ///< Op::in, Op::not_in
    std::vector<std::string> labels;  ///< Op::label_in, Op::label_not_in
};

/// A parsed, type-checked expression. Children precede their parents in `nodes`.
struct Tree {
    std::string text;
    std::vector<Node> nodes;
    std::uint32_t root = 0;
    const Node& root_node() const { return nodes.at(root); }
};

/// Parse and type-check `text` (either type at the root).
/// @param path JSON path of the text, the prefix of error messages.
/// @throws PolicyError "<path>: <what was expected>, got <what was found> at
///   position <n>" followed by the text and a caret line.
Tree parse(std::string_view text, const std::string& path);

/// An instruction's input: a literal, a register of the program, or a column.
struct Operand {
    enum class Kind : std::uint8_t { constant, slot, column };
    Kind kind = Kind::constant;
    std::uint32_t index = 0;  ///< register or column index
    double value = 0;         ///< Kind::constant (a condition: 0 or 1)
};

/// Operations of the register machine. Number registers and condition registers
/// are separate files; `out` and the operands name registers of the file the
/// operation reads or writes.
enum class Code : std::uint8_t {
    neg,
    log,
    abs,  ///< number a -> number
    add,
    sub,
    mul,
    div,
    min,
    max,  ///< numbers a, b -> number
    pct,  ///< column a -> number (aux: curve)
    lt,
    le,
    gt,
    ge,
    eq,
    ne,       ///< numbers a, b -> condition
    between,  ///< numbers a, b, c -> condition
    in,
    not_in,  ///< number a -> condition (aux: set)
    not_,    ///< condition a -> condition
    and_,
    or_,  ///< conditions a, b -> condition
    label_in,
    label_not_in,  ///< labelled column a -> condition (aux: label set)
};

struct Instruction {
    Code code = Code::add;
    std::uint32_t out = 0;
    Operand a, b, c;
    std::uint32_t aux = 0;
};

/// A compiled condition. An instruction never writes a register it reads.
struct Program {
    std::vector<Instruction> code;
    std::vector<std::vector<double>> sets;             ///< `in` lists, sorted, without duplicates
    std::vector<std::vector<std::string>> label_sets;  ///< label lists, sorted, without duplicates
    Operand result;                                    ///< a condition register or a constant
    std::uint32_t number_slots = 0;
    std::uint32_t condition_slots = 0;
};

/// Compile a condition tree. Column operands index `columns` (numbers) or, for the
/// label instructions, `label_columns`; pct curves index `pct_columns`; names not yet
/// listed are appended.
Program compile(const Tree& tree, std::vector<std::string>& columns, std::vector<std::string>& pct_columns,
                std::vector<std::string>& label_columns);

/// Text safe in a message: valid UTF-8, control characters as spaces, invalid
/// bytes as '?'; one display column per glyph.
std::string printable(std::string_view s);

/// "<path>: <what> at position <n>\n  <text>\n  <caret>" for the byte `offset` of
/// `text`. Long texts show a window around the caret.
std::string located(const std::string& path, std::string_view text, std::size_t offset, const std::string& what);

/// "<path>.branches[k].when": the JSON path of branch k's condition.
inline std::string branch_path(const std::string& path, std::size_t k) {
    return path + ".branches[" + std::to_string(k) + "].when";
}

}  // namespace expr
}  // namespace tierkit
