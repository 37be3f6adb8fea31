#pragma once
/// @file table.hpp
/// FeatureTable: one row per customer, named float64 columns stored column-major.
///
/// Design notes: a column is a std::span over contiguous doubles plus an opaque
/// owner that keeps the memory alive. Columns built by tierkit own a std::vector;
/// columns handed in by a host (numpy arrays, Arrow buffers) are borrowed without a
/// copy, the host's object being the owner. A FeatureTable is cheap to copy (spans
/// and shared owners) and is never mutated once built, so it may be read from many
/// threads at once.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tierkit/core/error.hpp"

namespace tierkit {

class FeatureTable {
public:
    FeatureTable() = default;

    /// A table whose rows are the given customer ids (owned copy).
    explicit FeatureTable(std::vector<std::int64_t> ids) {
        auto owned = std::make_shared<std::vector<std::int64_t>>(std::move(ids));
        ids_ = std::span<const std::int64_t>(owned->data(), owned->size());
        ids_owner_ = std::move(owned);
    }

    /// A table over borrowed ids; `owner` keeps them alive.
    FeatureTable(std::span<const std::int64_t> ids, std::shared_ptr<const void> owner)
        : ids_(ids), ids_owner_(std::move(owner)) {}

    std::size_t rows() const noexcept { return ids_.size(); }
    std::size_t cols() const noexcept { return columns_.size(); }
    std::span<const std::int64_t> ids() const noexcept { return ids_; }

    /// Add a column that the table owns.
    /// @throws InvalidInput when the length differs from rows() or the name is taken.
    void add_column(const std::string& name, std::vector<double> values) {
        auto owned = std::make_shared<std::vector<double>>(std::move(values));
        std::span<const double> view(owned->data(), owned->size());
        add_column_view(name, view, std::move(owned));
    }

    /// Add a borrowed column; `owner` keeps the memory alive.
    /// @throws InvalidInput when the length differs from rows() or the name is taken.
    void add_column_view(const std::string& name, std::span<const double> values, std::shared_ptr<const void> owner) {
        if (values.size() != rows())
            throw InvalidInput("column '" + name + "': expected " + std::to_string(rows()) + " rows, got " +
                               std::to_string(values.size()));
        if (index_.count(name)) throw InvalidInput("column '" + name + "': appears twice");
        index_.emplace(name, columns_.size());
        columns_.push_back(Column{name, values, std::move(owner)});
    }

    bool has(const std::string& name) const { return index_.count(name) != 0; }

    /// The column called `name`.
    /// @throws UnknownColumn naming the column and listing the available ones.
    std::span<const double> column(const std::string& name) const {
        auto it = index_.find(name);
        if (it == index_.end()) throw UnknownColumn(unknown_message(name));
        return columns_[it->second].values;
    }

    std::span<const double> column(std::size_t j) const { return columns_.at(j).values; }
    const std::string& name(std::size_t j) const { return columns_.at(j).name; }
    /// The object that keeps column j's memory alive (null for a borrowed column
    /// whose lifetime the caller manages).
    const std::shared_ptr<const void>& owner(std::size_t j) const { return columns_.at(j).owner; }

    /// Add a categorical column: one code per row into `labels` (-1 = missing).
    /// Rules group by these (e.g. region). The codes are borrowed; `owner` keeps them alive.
    /// @throws InvalidInput when the length differs, a code is out of range, or the name is taken.
    void add_category_view(const std::string& name, std::span<const std::int32_t> codes,
                           std::vector<std::string> labels, std::shared_ptr<const void> owner) {
        if (codes.size() != rows())
            throw InvalidInput("column '" + name + "': expected " + std::to_string(rows()) + " rows, got " +
                               std::to_string(codes.size()));
        if (index_.count(name) || category_index_.count(name))
            throw InvalidInput("column '" + name + "': appears twice");
        for (std::size_t i = 0; i < codes.size(); ++i)
            if (codes[i] < -1 || codes[i] >= static_cast<std::int32_t>(labels.size()))
                throw InvalidInput("column '" + name + "', row " + std::to_string(i) + ": category code " +
                                   std::to_string(codes[i]) + " outside 0.." + std::to_string(labels.size()) + " - 1");
        category_index_.emplace(name, categories_.size());
        categories_.push_back(Category{name, codes, std::move(labels), std::move(owner)});
    }
    void add_category(const std::string& name, std::vector<std::int32_t> codes, std::vector<std::string> labels) {
        auto owned = std::make_shared<std::vector<std::int32_t>>(std::move(codes));
        std::span<const std::int32_t> view(owned->data(), owned->size());
        add_category_view(name, view, std::move(labels), std::move(owned));
    }
    bool has_category(const std::string& name) const { return category_index_.count(name) != 0; }
    /// Codes and labels of a categorical column.
    /// @throws UnknownColumn listing the categorical columns.
    std::pair<std::span<const std::int32_t>, const std::vector<std::string>*> category(const std::string& name) const {
        auto it = category_index_.find(name);
        if (it == category_index_.end()) {
            std::string msg = "unknown categorical column '" + name + "'; available: ";
            for (std::size_t j = 0; j < categories_.size(); ++j) msg += (j ? ", " : "") + categories_[j].name;
            if (categories_.empty()) msg += "(none)";
            throw UnknownColumn(msg);
        }
        const auto& c = categories_[it->second];
        return {c.codes, &c.labels};
    }
    std::vector<std::string> category_names() const {
        std::vector<std::string> out;
        for (const auto& c : categories_) out.push_back(c.name);
        return out;
    }

    /// A new table holding the given rows (owned copies), numeric and categorical columns alike.
    FeatureTable subset(std::span<const std::size_t> rows_wanted) const {
        std::vector<std::int64_t> ids(rows_wanted.size());
        for (std::size_t k = 0; k < rows_wanted.size(); ++k) ids[k] = ids_[rows_wanted[k]];
        FeatureTable out(std::move(ids));
        for (const auto& c : columns_) {
            std::vector<double> v(rows_wanted.size());
            for (std::size_t k = 0; k < rows_wanted.size(); ++k) v[k] = c.values[rows_wanted[k]];
            out.add_column(c.name, std::move(v));
        }
        for (const auto& c : categories_) {
            std::vector<std::int32_t> v(rows_wanted.size());
            for (std::size_t k = 0; k < rows_wanted.size(); ++k) v[k] = c.codes[rows_wanted[k]];
            out.add_category(c.name, std::move(v), c.labels);
        }
        return out;
    }

    std::vector<std::string> names() const {
        std::vector<std::string> out;
        out.reserve(columns_.size());
        for (const auto& c : columns_) out.push_back(c.name);
        return out;
    }

    /// "unknown column 'x'; available: a, b, c"
    std::string unknown_message(const std::string& name) const {
        std::string msg = "unknown column '" + name + "'; available: ";
        for (std::size_t j = 0; j < columns_.size(); ++j) {
            if (j) msg += ", ";
            msg += columns_[j].name;
        }
        if (columns_.empty()) msg += "(none)";
        return msg;
    }

private:
    struct Column {
        std::string name;
        std::span<const double> values;
        std::shared_ptr<const void> owner;
    };
    struct Category {
        std::string name;
        std::span<const std::int32_t> codes;
        std::vector<std::string> labels;
        std::shared_ptr<const void> owner;
    };
    std::span<const std::int64_t> ids_;
    std::shared_ptr<const void> ids_owner_;
    std::vector<Column> columns_;
    std::unordered_map<std::string, std::size_t> index_;
    std::vector<Category> categories_;
    std::unordered_map<std::string, std::size_t> category_index_;
};

}  // namespace tierkit
