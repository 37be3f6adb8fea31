// UTF-8 checks for untrusted bytes in messages (core/format.hpp).
#include "tierkit/core/format.hpp"

#include <boost/locale/utf.hpp>

namespace tierkit {

namespace {
/// The length of the valid UTF-8 sequence at `i`, or 0 when none starts there.
std::size_t sequence_at(std::string_view text, std::size_t i) noexcept {
    using traits = boost::locale::utf::utf_traits<char>;
    const char* p = text.data() + i;
    const char* const end = text.data() + text.size();
    const auto c = traits::decode(p, end);
    if (c == boost::locale::utf::illegal || c == boost::locale::utf::incomplete) return 0;
    return static_cast<std::size_t>(p - (text.data() + i));
}
}  // namespace

std::size_t invalid_utf8_at(std::string_view text) noexcept {
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = sequence_at(text, i);
        if (n == 0) return i;
        i += n;
    }
    return std::string_view::npos;
}

std::string printable_utf8(std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        if (const std::size_t n = sequence_at(text, i); n > 0) {
            out.append(text, i, n);
            i += n;
            continue;
        }
        const auto c = static_cast<unsigned char>(text[i++]);
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 0xf];
    }
    return out;
}

}  // namespace tierkit
