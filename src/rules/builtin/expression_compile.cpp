// The `expression` rule's compiler: a type-checked tree to a block register machine
// program, with constant folding by the evaluator's own scalar semantics.
#include <algorithm>
#include <cmath>
#include <limits>

#include "tierkit/rules/builtin/expression/eval.hpp"
#include "tierkit/rules/builtin/expression/program.hpp"

namespace tierkit {
namespace expr {
namespace {

using detail::f_max;
using detail::f_min;
using detail::f_ne;
using detail::in_list;

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

}  // namespace

Program compile(const Tree& tree, std::vector<std::string>& columns, std::vector<std::string>& pct_columns,
                std::vector<std::string>& label_columns) {
    return Compiler(tree, columns, pct_columns, label_columns).run();
}

}  // namespace expr
}  // namespace tierkit
