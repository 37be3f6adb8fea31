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

#include "tierkit/error.hpp"

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
    void add_column_view(const std::string& name, std::span<const double> values,
                         std::shared_ptr<const void> owner) {
        if (values.size() != rows())
            throw InvalidInput("column '" + name + "': expected " + std::to_string(rows()) +
                               " rows, got " + std::to_string(values.size()));
        if (index_.count(name))
            throw InvalidInput("column '" + name + "': appears twice");
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
    std::span<const std::int64_t> ids_;
    std::shared_ptr<const void> ids_owner_;
    std::vector<Column> columns_;
    std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace tierkit
