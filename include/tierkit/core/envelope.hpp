#pragma once
/// @file core/envelope.hpp
/// The one byte envelope around everything tierkit writes: model files, fit states
/// and summarizer states.
///
/// Layout: 32 bytes before the payload, little-endian.
///
///     0  magic "TIERKIT\0"           8  format version (u32)
///    12  payload encoding (u16)     14  content kind (u16)
///    16  library version (u32: major << 16 | minor << 8 | patch)
///    20  payload length (u64)       28  CRC-32 of the payload (u32)
///
/// The format version is the content's own (a model's is io/model_io.hpp's
/// format_version). Model files written before the content field existed held the
/// archive kind as a u32 at byte 12: its high half is 0, Content::model, so they read
/// as they are. Older states with their own magic still load: read_envelope()
/// reads a "TKSTATE\0" summarizer state (the same 32-byte layout with a u32 kind 1 at
/// byte 12) and the 24-byte "TKSTATE\0" / "TKFITTR\0" envelopes of fit and fitter
/// states (version u32 at 8, length u64 at 12, CRC-32 at 20) when it expects those.
///
/// Every check failure is a FormatError that starts with the caller's name (`who`)
/// and says what was expected at which byte.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tierkit::envelope {

inline constexpr std::array<char, 8> magic{'T', 'I', 'E', 'R', 'K', 'I', 'T', '\0'};
inline constexpr std::size_t header_size = 32;

/// What the payload is.
enum class Content : std::uint16_t { model = 0, fit_state = 1, fitter = 2, summarizer_state = 3 };
/// How the payload is written: a Boost archive of one of three kinds (the values are
/// ArchiveKind's), or tierkit's own little-endian record.
enum class Encoding : std::uint16_t { binary_archive = 0, text_archive = 1, xml_archive = 2, record = 3 };

/// "tierkit model", "tierkit fit state", "tierkit fitter state", "tierkit summarizer state".
const char* content_name(Content content) noexcept;

/// A read header.
struct Header {
    std::uint32_t format_version = 0;
    Encoding encoding = Encoding::binary_archive;
    Content content = Content::model;
    std::uint32_t library_version = 0;
    std::uint64_t length = 0;
    std::uint32_t crc = 0;
    std::size_t size = header_size;  ///< bytes before the payload (24 in old fit states)
};

/// What a reader accepts.
struct Expect {
    Content content;
    std::uint32_t max_version;  ///< versions 1..max_version are read
    std::uint64_t max_length;   ///< a larger announced payload is rejected before allocating
    std::string who;            ///< starts every message: "load", "Summarizer.from_bytes"
};

/// The CRC-32 (the zlib one) of `bytes`.
std::uint32_t crc32(std::string_view bytes) noexcept;

/// The 32-byte header of `payload`, with this library's version.
std::array<char, header_size> make_header(Content content, Encoding encoding, std::uint32_t format_version,
                                          std::string_view payload);

/// make_header(...) followed by `payload`.
std::string write_envelope(Content content, Encoding encoding, std::uint32_t format_version, std::string_view payload);

/// Check the first bytes of an envelope (fewer than header_size when the input is
/// shorter): magic, size, version, content, encoding, the length cap. Only the
/// current layout (for streams, e.g. model files).
/// @throws FormatError naming the byte.
Header read_header(std::string_view bytes, const Expect& expect);

/// Check that `payload` has the length and CRC-32 `header` announces.
/// @throws FormatError.
void check_payload(const Header& header, std::string_view payload, const Expect& expect);

/// A whole envelope in memory: its header and its payload (a view into `bytes`).
struct Opened {
    Header header;
    std::string_view payload;
};

/// Check a whole envelope in memory, in the current layout or, for the content
/// expected, an older one (see the file comment), and return its payload.
/// @throws FormatError naming the byte.
Opened read_envelope(std::string_view bytes, const Expect& expect);

}  // namespace tierkit::envelope
