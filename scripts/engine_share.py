#!/usr/bin/env python3
"""Measure how much of tierkit's engine lives in headers.

Counts non-blank, non-comment C++ lines (// and /* */ comments removed) in
include/tierkit and in src/, and prints two shares:

- raw share: include/ lines over include/ + src/ lines;
- engine share: include/ lines over include/ + (src/ minus the compiled-by-design
  files listed in COMPILED_BY_DESIGN below).

The engine is meant to live in include/tierkit as inline functions and templates,
so a C++ host compiles the hot assign path into its own code. The compiled library
keeps, by design, what is slow to compile or needs Boost's compiled archives;
those files are not engine code in the sense of the share.

Usage: scripts/engine_share.py [--root DIR] [--files]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

#: src/ paths (files, or folders ending in "/") compiled by design, with why.
COMPILED_BY_DESIGN: dict[str, str] = {
    # JSON parsing (nlohmann::json is slow to compile; headers only see json_fwd).
    "src/core/json_parse.cpp": "JSON parsing",
    "src/core/json_parse.hpp": "JSON parsing",
    "src/policy_json.cpp": "JSON parsing (the policy parser)",
    "src/default_policy.cpp": "JSON parsing (the default policy document)",
    # The built-in rules' policy objects, parsed and checked into rules (one file per kind).
    "src/rules/builtin/chain_json.cpp": "JSON parsing (the chain rule's policy object)",
    "src/rules/builtin/expression_json.cpp": "JSON parsing (the expression rule's policy object)",
    "src/rules/builtin/kmeans_json.cpp": "JSON parsing (the kmeans rule's policy object)",
    "src/rules/builtin/matrix_json.cpp": "JSON parsing (the matrix rule's policy object)",
    "src/rules/builtin/override_json.cpp": "JSON parsing (the override rule's policy object)",
    "src/rules/builtin/rfm_segments_json.cpp": "JSON parsing (the rfm_segments rule's policy object)",
    "src/rules/nested.cpp": "JSON parsing (a rule object nested in another rule's)",
    # Expression parsing (the evaluator is the rule's assign kernel and lives in the header).
    "src/rules/builtin/expression_parse.cpp": "expression parsing",
    "src/rules/builtin/expression_compile.cpp": "expression parsing (text to program, once per policy)",
    # Archives: Boost.Serialization's compiled archives and the byte envelope.
    "src/io/": "archives (io)",
    "src/core/envelope.cpp": "archives (the byte envelope)",
    # CLV models: fitted by LBFGSpp/Eigen optimizers, not on the assign path.
    "src/clv/": "CLV models and their optimizers",
    # The Fitter's scheduling: passes over chunks and the states' bytes.
    "src/fit/": "the Fitter's scheduling",
    # Summarize's grouping of transactions (radix partitions over every transaction).
    "src/features/summarize.cpp": "summarize's grouping",
    "src/features/partition.cpp": "summarize's grouping",
    "src/features/partition.hpp": "summarize's grouping",
    "src/features/feature_table.cpp": "summarize's grouping",
    "src/features/feature_table.hpp": "summarize's grouping",
    "src/features/summarizer.cpp": "summarize's grouping",
    "src/features/summarizer_bytes.cpp": "summarize's grouping",
}

SUFFIXES = {".hpp", ".cpp", ".h", ".cc", ".ipp"}
STRING = re.compile(r'"(?:\\.|[^"\\])*"' + r"|'(?:\\.|[^'\\])*'")


def code_lines(text: str) -> int:
    """Non-blank lines left once // and /* */ comments are removed (strings kept)."""
    count = 0
    in_block = False
    for line in text.splitlines():
        out = []
        i = 0
        while i < len(line):
            if in_block:
                end = line.find("*/", i)
                if end < 0:
                    i = len(line)
                else:
                    in_block = False
                    i = end + 2
                continue
            m = STRING.match(line, i)
            if m:
                out.append(m.group(0))
                i = m.end()
                continue
            if line.startswith("//", i):
                break
            if line.startswith("/*", i):
                in_block = True
                i += 2
                continue
            out.append(line[i])
            i += 1
        if "".join(out).strip():
            count += 1
    return count


def files(base: Path) -> list[Path]:
    return sorted(p for p in base.rglob("*") if p.is_file() and p.suffix in SUFFIXES)


def compiled_by_design_entry(entry: str, rel: str) -> bool:
    return rel == entry or (entry.endswith("/") and rel.startswith(entry))


def compiled_by_design(rel: str) -> bool:
    return any(compiled_by_design_entry(k, rel) for k in COMPILED_BY_DESIGN)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--files", action="store_true", help="list the lines of every src/ file")
    args = parser.parse_args()
    root: Path = args.root

    include = sum(code_lines(p.read_text()) for p in files(root / "include" / "tierkit"))
    src_total = 0
    by_design = 0
    rows = []
    for p in files(root / "src"):
        rel = p.relative_to(root).as_posix()
        n = code_lines(p.read_text())
        src_total += n
        design = compiled_by_design(rel)
        by_design += n if design else 0
        rows.append((n, rel, design))

    # An entry that names nothing (a file moved or split) would silently count its
    # replacement as engine code.
    stale = [k for k in COMPILED_BY_DESIGN if not any(compiled_by_design_entry(k, rel) for _, rel, _ in rows)]
    if stale:
        raise SystemExit(f"engine_share: COMPILED_BY_DESIGN names no file under src/: {', '.join(stale)}")
    engine_src = src_total - by_design
    if args.files:
        for n, rel, design in sorted(rows, reverse=True):
            print(f"{n:6d}  {'compiled by design' if design else 'engine':18s}  {rel}")
    print(f"include/tierkit: {include} lines")
    print(f"src/: {src_total} lines ({by_design} compiled by design, {engine_src} engine)")
    print(f"raw share: {100.0 * include / (include + src_total):.1f}% in include/")
    print(f"engine share: {100.0 * include / (include + engine_src):.1f}% in include/")


if __name__ == "__main__":
    main()
