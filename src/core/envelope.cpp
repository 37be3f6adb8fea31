// The byte envelope. See include/tierkit/core/envelope.hpp for the layout.
#include "tierkit/core/envelope.hpp"

#include <boost/crc.hpp>
#include <cstring>

#include "tierkit/core/error.hpp"
#include "tierkit/core/version.hpp"

namespace tierkit::envelope {
namespace {

constexpr std::uint32_t library_version =
    (TIERKIT_VERSION_MAJOR << 16) | (TIERKIT_VERSION_MINOR << 8) | TIERKIT_VERSION_PATCH;
constexpr std::array<char, 8> legacy_state_magic{'T', 'K', 'S', 'T', 'A', 'T', 'E', '\0'};
constexpr std::array<char, 8> legacy_fitter_magic{'T', 'K', 'F', 'I', 'T', 'T', 'R', '\0'};
constexpr std::size_t legacy_fit_header_size = 24;

void put(char* p, std::uint64_t v, int bytes) {
    for (int k = 0; k < bytes; ++k) p[k] = static_cast<char>((v >> (8 * k)) & 0xff);
}
std::uint64_t get(std::string_view b, std::size_t at, int bytes) {
    std::uint64_t v = 0;
    for (int k = 0; k < bytes; ++k) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(b[at + k])) << (8 * k);
    return v;
}
bool starts_with(std::string_view bytes, const std::array<char, 8>& m) {
    return bytes.size() >= m.size() && std::memcmp(bytes.data(), m.data(), m.size()) == 0;
}

[[noreturn]] void fail(const Expect& expect, const std::string& what) { throw FormatError(expect.who + ": " + what); }

void check_version(std::uint32_t version, const Expect& expect) {
    if (version == 0 || version > expect.max_version)
        fail(expect, "format version " + std::to_string(version) + " at byte 8 is not one this tierkit reads (1.." +
                         std::to_string(expect.max_version) + ")");
}

void check_length(std::uint64_t length, std::size_t at, const Expect& expect) {
    if (length > expect.max_length)
        fail(expect, "payload length " + std::to_string(length) + " at byte " + std::to_string(at) +
                         " exceeds the cap of " + std::to_string(expect.max_length) + " bytes");
}

void check_truncated_header(std::size_t got, std::size_t size, const Expect& expect) {
    if (got < size) fail(expect, "truncated header: " + std::to_string(got) + " of " + std::to_string(size) + " bytes");
}

/// The 32-byte "TKSTATE\0" summarizer state: the current layout with a u32 kind 1.
Header read_legacy_summarizer(std::string_view bytes, const Expect& expect) {
    check_truncated_header(bytes.size(), header_size, expect);
    Header h;
    h.format_version = static_cast<std::uint32_t>(get(bytes, 8, 4));
    check_version(h.format_version, expect);
    const auto kind = get(bytes, 12, 4);
    if (kind != 1) fail(expect, "unknown state kind " + std::to_string(kind) + " at byte 12");
    h.encoding = Encoding::record;
    h.content = Content::summarizer_state;
    h.library_version = static_cast<std::uint32_t>(get(bytes, 16, 4));
    h.length = get(bytes, 20, 8);
    check_length(h.length, 20, expect);
    h.crc = static_cast<std::uint32_t>(get(bytes, 28, 4));
    return h;
}

/// The 24-byte envelope of fit and fitter states: version, length, CRC-32.
Header read_legacy_fit(std::string_view bytes, Content content, const Expect& expect) {
    check_truncated_header(bytes.size(), legacy_fit_header_size, expect);
    Header h;
    h.format_version = static_cast<std::uint32_t>(get(bytes, 8, 4));
    check_version(h.format_version, expect);
    h.encoding = Encoding::binary_archive;
    h.content = content;
    h.length = get(bytes, 12, 8);
    check_length(h.length, 12, expect);
    h.crc = static_cast<std::uint32_t>(get(bytes, 20, 4));
    h.size = legacy_fit_header_size;
    return h;
}

}  // namespace

const char* content_name(Content content) noexcept {
    switch (content) {
        case Content::model:
            return "tierkit model";
        case Content::fit_state:
            return "tierkit fit state";
        case Content::fitter:
            return "tierkit fitter state";
        case Content::summarizer_state:
            return "tierkit summarizer state";
    }
    return "tierkit file";
}

std::uint32_t crc32(std::string_view bytes) noexcept {
    boost::crc_32_type crc;
    crc.process_bytes(bytes.data(), bytes.size());
    return crc.checksum();
}

std::array<char, header_size> make_header(Content content, Encoding encoding, std::uint32_t format_version,
                                          std::string_view payload) {
    std::array<char, header_size> h{};
    std::memcpy(h.data(), magic.data(), magic.size());
    put(h.data() + 8, format_version, 4);
    put(h.data() + 12, static_cast<std::uint16_t>(encoding), 2);
    put(h.data() + 14, static_cast<std::uint16_t>(content), 2);
    put(h.data() + 16, library_version, 4);
    put(h.data() + 20, payload.size(), 8);
    put(h.data() + 28, crc32(payload), 4);
    return h;
}

std::string write_envelope(Content content, Encoding encoding, std::uint32_t format_version, std::string_view payload) {
    const auto h = make_header(content, encoding, format_version, payload);
    std::string out;
    out.reserve(h.size() + payload.size());
    out.append(h.data(), h.size());
    out.append(payload);
    return out;
}

Header read_header(std::string_view bytes, const Expect& expect) {
    if (!starts_with(bytes, magic))
        fail(expect,
             std::string("not a ") + content_name(expect.content) + ": bad magic at byte 0 (expected \"TIERKIT\")");
    check_truncated_header(bytes.size(), header_size, expect);
    Header h;
    h.format_version = static_cast<std::uint32_t>(get(bytes, 8, 4));
    check_version(h.format_version, expect);
    const auto encoding = get(bytes, 12, 2);
    if (encoding > static_cast<std::uint16_t>(Encoding::record))
        fail(expect, "unknown payload encoding " + std::to_string(encoding) + " at byte 12");
    h.encoding = static_cast<Encoding>(encoding);
    const auto content = get(bytes, 14, 2);
    if (content > static_cast<std::uint16_t>(Content::summarizer_state))
        fail(expect, "unknown content kind " + std::to_string(content) + " at byte 14");
    h.content = static_cast<Content>(content);
    if (h.content != expect.content)
        fail(expect, std::string("the envelope holds a ") + content_name(h.content) + " (content kind " +
                         std::to_string(content) + " at byte 14), not a " + content_name(expect.content));
    h.library_version = static_cast<std::uint32_t>(get(bytes, 16, 4));
    h.length = get(bytes, 20, 8);
    check_length(h.length, 20, expect);
    h.crc = static_cast<std::uint32_t>(get(bytes, 28, 4));
    return h;
}

void check_payload(const Header& header, std::string_view payload, const Expect& expect) {
    if (payload.size() < header.length)
        fail(expect, "truncated: the header announces " + std::to_string(header.length) +
                         " payload bytes, the file has " + std::to_string(payload.size()));
    if (payload.size() > header.length)
        fail(expect, "the header announces " + std::to_string(header.length) + " payload bytes, there are " +
                         std::to_string(payload.size()));
    if (crc32(payload) != header.crc)
        fail(expect, "checksum mismatch: the payload (bytes " + std::to_string(header.size) + ".." +
                         std::to_string(header.size + payload.size()) + ") is corrupted");
}

Opened read_envelope(std::string_view bytes, const Expect& expect) {
    Header h;
    if (expect.content == Content::summarizer_state && starts_with(bytes, legacy_state_magic))
        h = read_legacy_summarizer(bytes, expect);
    else if (expect.content == Content::fit_state && starts_with(bytes, legacy_state_magic))
        h = read_legacy_fit(bytes, Content::fit_state, expect);
    else if (expect.content == Content::fitter && starts_with(bytes, legacy_fitter_magic))
        h = read_legacy_fit(bytes, Content::fitter, expect);
    else
        h = read_header(bytes, expect);
    const std::string_view payload = bytes.substr(h.size);
    check_payload(h, payload, expect);
    return {h, payload};
}

}  // namespace tierkit::envelope
