// The one-customer Scorer (tierkit/scorer.hpp), behind Model.scorer() in Python.
#include "common.hpp"
#include "tierkit/model.hpp"
#include "tierkit/scorer.hpp"

using namespace tierkit;
using namespace tierkit::bindings;

void register_scorer(py::module_ m) {
    py::class_<Scorer>(m, "Scorer")
        // The Model is owned by its Python object: the Scorer shares it through a
        // non-owning pointer, and keep_alive keeps that object alive while the Scorer lives.
        .def(py::init([](const Model& model, std::vector<std::string> columns) {
                 return Scorer(std::shared_ptr<const Model>(&model, [](const Model*) {}), std::move(columns));
             }),
             py::arg("model"), py::arg("columns"), py::keep_alive<1, 2>())
        .def_property_readonly("columns", &Scorer::columns)
        .def_property_readonly("score_names", &Scorer::score_names)
        .def_property_readonly("tier_names", &Scorer::tier_names)
        .def_property_readonly("reasons", &Scorer::reasons)
        .def_property_readonly("allocation_free", &Scorer::allocation_free)
        .def(
            "assign_one",
            [](Scorer& scorer, const std::vector<double>& values) {
                const Scored& r = scorer.assign_one(values);
                py::tuple scores(r.scores.size());
                for (std::size_t s = 0; s < r.scores.size(); ++s) scores[s] = py::float_(r.scores[s]);
                return py::make_tuple(r.tier, r.reason, scores);
            },
            py::arg("values"))
        .def(
            "assign_many",
            [](Scorer& scorer, const py::array_t<double, py::array::c_style>& values) {
                if (values.ndim() != 2 || static_cast<std::size_t>(values.shape(1)) != scorer.columns().size())
                    throw InvalidInput("values: expected a 2-d array with " + std::to_string(scorer.columns().size()) +
                                       " columns (one per scorer column)");
                const auto rows = static_cast<std::size_t>(values.shape(0));
                const std::size_t width = scorer.columns().size(), s_count = scorer.score_names().size();
                py::array_t<std::int32_t> tier(static_cast<py::ssize_t>(rows)), reason(static_cast<py::ssize_t>(rows));
                py::array_t<double> scores({static_cast<py::ssize_t>(s_count), static_cast<py::ssize_t>(rows)});
                const double* in = values.data();
                std::int32_t* t = tier.mutable_data();
                std::int32_t* q = reason.mutable_data();
                double* out = scores.mutable_data();
                // The GIL stays held: it keeps two Python threads from sharing the Scorer's buffers.
                {
                    for (std::size_t i = 0; i < rows; ++i) {
                        const Scored& r = scorer.assign_one(std::span<const double>(in + i * width, width));
                        t[i] = r.tier;
                        q[i] = r.reason;
                        for (std::size_t s = 0; s < s_count; ++s) out[s * rows + i] = r.scores[s];
                    }
                }
                return py::make_tuple(tier, reason, scores);
            },
            py::arg("values"));
}
