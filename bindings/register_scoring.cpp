// Weighting methods on their own.
#include "common.hpp"
#include "tierkit/scoring/weights.hpp"

using namespace tierkit;
using namespace tierkit::bindings;

namespace {

std::vector<std::span<const double>> columns_of(const std::vector<py::array>& cols) {
    std::vector<std::span<const double>> out;
    for (std::size_t k = 0; k < cols.size(); ++k)
        out.push_back(view<double>(cols[k], ("columns[" + std::to_string(k) + "]").c_str()));
    return out;
}

std::vector<Direction> directions_of(const std::vector<std::string>& d) {
    std::vector<Direction> out;
    for (std::size_t k = 0; k < d.size(); ++k) {
        if (d[k] == "higher")
            out.push_back(Direction::higher);
        else if (d[k] == "lower")
            out.push_back(Direction::lower);
        else
            throw InvalidInput("directions[" + std::to_string(k) + "]: must be 'higher' or 'lower', got '" + d[k] +
                               "'");
    }
    return out;
}

}  // namespace

void register_scoring(py::module_ m) {
    m.def("ahp", [](const py::array& matrix, std::size_t n, const std::vector<double>& random_index, double max_cr) {
        auto r = weights::ahp(view<double>(matrix, "matrix"), n, random_index, max_cr);
        return py::make_tuple(to_numpy(std::move(r.weights)), r.lambda_max, r.consistency_index, r.consistency_ratio);
    });
    m.def("saaty_random_index", [] { return weights::saaty_random_index(); });
    m.def("entropy", [](const std::vector<py::array>& cols, const std::vector<std::string>& dirs, bool proportion) {
        auto c = columns_of(cols);
        auto d = directions_of(dirs);
        std::vector<double> w;
        {
            py::gil_scoped_release release;  // reads numpy buffers referenced by `cols`
            w = weights::entropy(c, d,
                                 proportion ? weights::EntropyVariant::proportion : weights::EntropyVariant::minmax);
        }
        return to_numpy(std::move(w));
    });
    m.def("critic", [](const std::vector<py::array>& cols, const std::vector<std::string>& dirs) {
        auto c = columns_of(cols);
        auto d = directions_of(dirs);
        std::vector<double> w;
        {
            py::gil_scoped_release release;  // reads numpy buffers referenced by `cols`
            w = weights::critic(c, d);
        }
        return to_numpy(std::move(w));
    });
    m.def("manual", [](const std::vector<double>& raw) { return weights::manual(raw); });
    m.def("combine",
          [](const std::vector<double>& s, const std::vector<double>& o, const std::string& mode, double alpha) {
              if (mode != "linear" && mode != "multiplicative")
                  throw InvalidInput("mode: must be 'linear' or 'multiplicative', got '" + mode + "'");
              return weights::combine(
                  s, o, mode == "linear" ? weights::CombineMode::linear : weights::CombineMode::multiplicative, alpha);
          });
}
