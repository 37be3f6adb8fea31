#pragma once
/// @file model_io.hpp
/// Save and load a fitted Model with Boost.Serialization (binary, text or XML).
///
/// What is saved: the policy (as its normalized JSON, re-validated on load), every
/// fitted score (criteria statistics, weights) and the fitted rule through a
/// polymorphic pointer, so a host's own rule round-trips as long as it was
/// registered with TIERKIT_REGISTER_RULE in the loading program too. A model holds
/// parameters and aggregates, never customer ids or rows.
#include <iosfwd>
#include <string>

#include "tierkit/model.hpp"

namespace tierkit {

enum class ArchiveKind { binary, text, xml };

/// Parse "binary" / "text" / "xml". @throws InvalidInput otherwise.
ArchiveKind parse_archive_kind(const std::string& text);

/// Write `model` to `out`. @throws FormatError when the stream fails or a rule
/// cannot be serialized (not registered for serialization).
void save(const Model& model, std::ostream& out, ArchiveKind kind = ArchiveKind::binary);

/// Read a model written by save(). @throws FormatError with what was wrong.
Model load(std::istream& in, ArchiveKind kind = ArchiveKind::binary);

}  // namespace tierkit
