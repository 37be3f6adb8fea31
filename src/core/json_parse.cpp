#include "core/json_parse.hpp"

#include <vector>

#include "tierkit/core/error.hpp"

namespace tierkit::json_text {
namespace {

using json = nlohmann::json;

// Counts the nesting depth while nlohmann's SAX reader walks the text, and keeps the
// path of the value being read so a too-deep document is named by where it goes deep.
class DepthCheck final : public nlohmann::json_sax<json> {
public:
    bool null() override { return value(); }
    bool boolean(bool) override { return value(); }
    bool number_integer(number_integer_t) override { return value(); }
    bool number_unsigned(number_unsigned_t) override { return value(); }
    bool number_float(number_float_t, const string_t&) override { return value(); }
    bool string(string_t&) override { return value(); }
    bool binary(binary_t&) override { return value(); }
    bool start_object(std::size_t) override { return open(false); }
    bool key(string_t& k) override {
        levels_.back().key = k;
        return true;
    }
    bool end_object() override { return close(); }
    bool start_array(std::size_t) override { return open(true); }
    bool end_array() override { return close(); }
    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
        error_ = e.what();
        byte_ = position;
        return false;
    }

    bool too_deep() const noexcept { return too_deep_; }
    const std::string& path() const noexcept { return path_; }
    const std::string& error() const noexcept { return error_; }
    std::size_t byte() const noexcept { return byte_; }

private:
    struct Level {
        bool array;
        std::size_t index = 0;
        std::string key;
    };

    bool value() {
        if (!levels_.empty() && levels_.back().array) ++levels_.back().index;
        return true;
    }
    bool open(bool array) {
        if (levels_.size() >= max_depth) {
            too_deep_ = true;
            for (const Level& l : levels_) path_ += l.array ? "[" + std::to_string(l.index) + "]" : "." + l.key;
            return false;
        }
        levels_.push_back({array, 0, {}});
        return true;
    }
    bool close() {
        levels_.pop_back();
        return value();
    }

    std::vector<Level> levels_;
    bool too_deep_ = false;
    std::string path_;
    std::string error_;
    std::size_t byte_ = 0;
};

// A path of 64 levels is long; keep its start and its end.
std::string shorten(const std::string& path) {
    if (path.size() <= 120) return path;
    return path.substr(0, 60) + "..." + path.substr(path.size() - 40);
}

}  // namespace

json parse(std::string_view text, const std::string& where) {
    DepthCheck check;
    if (!json::sax_parse(text, &check)) {
        if (check.too_deep())
            throw PolicyError(shorten(where + check.path()) + ": nested deeper than " + std::to_string(max_depth) +
                              " levels of arrays and objects");
        throw PolicyError(where + ": not valid JSON at byte " + std::to_string(check.byte()) + ": " + check.error());
    }
    // Valid and shallow: building the DOM cannot fail or recurse deeply.
    return json::parse(text);
}

}  // namespace tierkit::json_text
