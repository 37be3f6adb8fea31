#pragma once
/// @file expression/eval.hpp
/// The `expression` rule's evaluator: runs a compiled Program (expression/program.hpp)
/// on a block of rows. Inline: it is the rule's assign kernel, compiled into the
/// caller's code. The scalar semantics here are shared with the compiler's constant
/// folding, so folded and evaluated results agree bit for bit.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "tierkit/rules/builtin/expression/program.hpp"
#include "tierkit/scoring/criterion.hpp"

namespace tierkit::expr::detail {

// ---- scalar semantics (shared by constant folding and the block kernels) ----------

// NaN propagates; on ties (-0 and +0) the first argument is the result.
inline double f_min(double a, double b) { return (a <= b || a != a) ? a : b; }
inline double f_max(double a, double b) { return (a >= b || a != a) ? a : b; }
inline std::uint8_t f_ne(double a, double b) { return (a < b) | (a > b); }  // false for NaN

/// Membership in a sorted list; false for NaN (binary_search alone would say true).
inline bool in_sorted(const std::vector<double>& set, double x) {
    return x == x && std::binary_search(set.begin(), set.end(), x);
}
/// `x in set` / `x not in set`: both false for NaN.
inline bool in_list(const std::vector<double>& set, double x, bool negated) {
    return x == x && (in_sorted(set, x) != negated);
}

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
                            // X[i] == X[i] is false only for NaN (branch-free, so the loop vectorizes).
                            // NOLINTBEGIN(misc-redundant-expression)
                            if (negated)
                                for (std::size_t i = 0; i < n; ++i)
                                    cond_out[i] = static_cast<std::uint8_t>((cond_out[i] ^ 1) & (X[i] == X[i]));
                            // NOLINTEND(misc-redundant-expression)
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

}  // namespace tierkit::expr::detail
