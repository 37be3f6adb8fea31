#pragma once
// Test helpers shared by the C++ tests of fitting by chunks: a table cut into
// consecutive chunks, and a model's binary bytes.
#include <sstream>
#include <string>
#include <vector>

#include "tierkit/core/table.hpp"
#include "tierkit/io/model_io.hpp"
#include "tierkit/model.hpp"

namespace tierkit::test_data {

/// `t` cut into `parts` chunks of consecutive rows, in table order.
inline std::vector<FeatureTable> split(const FeatureTable& t, std::size_t parts) {
    std::vector<FeatureTable> out;
    for (std::size_t p = 0; p < parts; ++p) {
        std::vector<std::size_t> rows;
        for (std::size_t i = t.rows() * p / parts; i < t.rows() * (p + 1) / parts; ++i) rows.push_back(i);
        out.push_back(t.subset(rows));
    }
    return out;
}

/// The model's bytes as save() writes them (binary archive).
inline std::string bytes_of(const Model& m) {
    std::ostringstream out;
    save(m, out);
    return out.str();
}

}  // namespace tierkit::test_data
