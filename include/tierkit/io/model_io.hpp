#pragma once
/// @file model_io.hpp
/// Save and load a fitted Model with Boost.Serialization (binary, text or XML).
///
/// What is saved: the policy (as its normalized JSON, re-validated on load), every
/// fitted score (criteria statistics, weights) and the fitted rule through a
/// polymorphic pointer, so a host's own rule round-trips as long as it was
/// registered with TIERKIT_REGISTER_RULE in the loading program too.
///
/// What a model file reveals about the data it was fitted on: no customer ids and no
/// rows, but some fitted statistics are values taken from the data: per criterion the
/// minimum and maximum of its (transformed) column, the clip bounds and the median
/// (quantiles, which can equal one customer's value), and for percentile, bins and
/// robust criteria the percentile curve: up to FittedCriterion::max_knots distinct
/// values of the column (every distinct value of a smaller column); the cut points of
/// quantiles and abc rules (score values), rfm_segments' thresholds (column values),
/// the fitted distributions of an expression rule's pct() columns, kmeans centroids
/// (means). Share a model file as you would share aggregates of that data. With the
/// policy's `"privacy": {"min_group": K}` each of these is shared by, or is the mean
/// of, at least K customers instead (privacy.hpp).
///
/// Loading untrusted files: the envelope is checked first (magic, version, length cap,
/// CRC-32), then the archive is read with the checked archives of
/// checked_archives.hpp (no collection or string longer than the bytes left), and the
/// fitted scores are checked against the archived policy. Any failure is a FormatError.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "tierkit/model.hpp"

namespace tierkit {

enum class ArchiveKind { binary, text, xml };

/// The model format version this version writes (and the newest it reads).
inline constexpr std::uint32_t format_version = 1;
/// Largest payload load() accepts (1 GiB): a header claiming more is rejected
/// before anything is allocated.
inline constexpr std::uint64_t max_payload_bytes = 1ULL << 30;

/// Parse "binary" / "text" / "xml". @throws InvalidInput otherwise.
ArchiveKind parse_archive_kind(const std::string& text);

/// Write `model` to `out`: tierkit's 32-byte envelope (core/envelope.hpp: magic
/// "TIERKIT\0", format version, archive kind as the payload encoding, content kind
/// model, library version, payload length, CRC-32 of the payload), then the Boost
/// archive. @throws FormatError when the stream fails or a rule cannot be
/// serialized (not registered for serialization).
void save(const Model& model, std::ostream& out, ArchiveKind kind = ArchiveKind::binary);

/// Read a model written by save(); the archive kind comes from the envelope (and
/// must equal `expected` when given). Checks magic, version, length (capped at
/// max_payload_bytes) and checksum before parsing.
/// @throws FormatError saying what was wrong and at which byte.
Model load(std::istream& in, std::optional<ArchiveKind> expected = std::nullopt);

}  // namespace tierkit
