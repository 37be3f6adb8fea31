#!/usr/bin/env python3
"""Check tierkit's layers from the #include lines (and the bindings' imports).

Fails (exit 1, one line per violation: file:line: rule: what) when
- the core (include/, src/) includes the bindings, pybind11 or Python.h;
- a rule (include/tierkit/rules/**, src/rules_*.cpp, src/rules/**) includes io/:
  a rule is exported through a macro, not through the archive headers. The one
  exception is by design: the .cpp file that registers a rule (it holds
  TIERKIT_REGISTER_RULE, or TIERKIT_EXPORT_RULE for a rule saved but not named
  in policies) includes tierkit/io/archives.hpp just before it, since
  Boost instantiates the rule's export for the archives declared at that point.
  A rule header never includes io/;
- a lower part includes the engine: core/ (include/tierkit/core/**, src/core/**)
  and the table headers include nothing but core/ and the lower headers;
- the bindings import the Python package (py::module_::import("tierkit...")):
  Python hands the bindings what they need as arguments;
- the serving header (include/tierkit/serve.hpp), through any tierkit header it
  includes, reaches a Boost, Eigen or JSON header: a host that only loads and
  scores compiles none of them (archive code lives apart, e.g. scoring/serialize.hpp).

Usage: scripts/check_layering.py [--root DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
IMPORT = re.compile(r'module_?::import\(\s*"(tierkit(?:\.[A-Za-z_.]+)?)"')
SOURCES = (".hpp", ".cpp", ".h", ".cc", ".in")

#: Headers below the engine outside tierkit/core/ (none: table, column, error,
#: parallel, progress and exact_sum live in core/). A lower part may include them.
LOWER: set[str] = set()

#: Rule sources that still include io/ beyond the registration's archives. Each is
#: reported; an entry whose file no longer includes io/ is itself an error, so the
#: list only shrinks. Empty: every built-in rule registers with TIERKIT_REGISTER_RULE.
KNOWN_RULE_IO: set[str] = set()

#: The header a host that only loads and scores includes, and the libraries it must not reach.
SERVING_HEADER = "include/tierkit/serve.hpp"
HEAVY = re.compile(r"^(boost|Eigen|eigen3|unsupported/Eigen|nlohmann)/")

#: The io/ header a rule's registering .cpp includes by design (see the module doc).
REGISTRATION_ARCHIVES = "tierkit/io/archives.hpp"
REGISTERS = re.compile(r"^\s*TIERKIT_(?:REGISTER|EXPORT)_RULE\s*\(", re.M)


def source_files(root: Path, *dirs: str) -> list[Path]:
    out: list[Path] = []
    for d in dirs:
        base = root / d
        if base.is_dir():
            out += sorted(p for p in base.rglob("*") if p.is_file() and p.suffix in SOURCES)
    return out


def resolve(root: Path, file: Path, quote: str, name: str) -> str:
    """The included file as a path relative to root ('' when outside the tree)."""
    candidates = [file.parent / name] if quote == '"' else []
    candidates += [root / "include" / name, root / "src" / name]
    for c in candidates:
        if c.is_file():
            return c.resolve().relative_to(root.resolve()).as_posix()
    return ""


def lower_header(include: str) -> bool:
    """An include a lower part may use: core/ or a lower header, by include name."""
    return include.startswith("tierkit/core/") or include in LOWER


def tierkit_name(rel: str) -> str:
    """'include/tierkit/x.hpp' -> 'tierkit/x.hpp' ('' for files not under include/)."""
    return rel[len("include/") :] if rel.startswith("include/") else ""


def is_core(rel: str) -> bool:
    return rel.startswith(("include/", "src/"))


def is_rule(rel: str) -> bool:
    return rel.startswith(("include/tierkit/rules/", "src/rules/")) or re.match(r"src/rules_[^/]*$", rel) is not None


def is_lower(rel: str) -> bool:
    return rel.startswith(("include/tierkit/core/", "src/core/")) or tierkit_name(rel) in LOWER


def serving_errors(root: Path) -> list[str]:
    """The Boost, Eigen and JSON includes the serving header reaches, with the chain to each."""
    start = root / SERVING_HEADER
    if not start.is_file():
        return []
    errors: list[str] = []
    seen = {SERVING_HEADER: SERVING_HEADER}
    todo = [SERVING_HEADER]
    while todo:
        rel = todo.pop()
        for n, line in enumerate((root / rel).read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            quote, name = m.groups()
            if HEAVY.match(name):
                errors.append(
                    f"{rel}:{n}: the serving header reaches a Boost, Eigen or JSON header: {name} (via {seen[rel]})"
                )
                continue
            target = resolve(root, root / rel, quote, name)
            if target.startswith("include/") and target not in seen:
                seen[target] = f"{seen[rel]} -> {target}"
                todo.append(target)
    return errors


def check(root: Path) -> tuple[list[str], list[str]]:
    """(errors, notes) for the tree at root."""
    errors: list[str] = []
    notes: list[str] = []
    rule_io: set[str] = set()
    for file in source_files(root, "include", "src", "bindings"):
        rel = file.relative_to(root).as_posix()
        text = file.read_text(errors="replace")
        registers = rel.endswith(".cpp") and REGISTERS.search(text) is not None
        for n, line in enumerate(text.splitlines(), 1):
            where = f"{rel}:{n}"
            m = INCLUDE.match(line)
            if m:
                quote, name = m.groups()
                target = resolve(root, file, quote, name)
                if is_core(rel) and (
                    name.startswith("pybind11/") or name == "Python.h" or target.startswith("bindings/")
                ):
                    errors.append(f"{where}: core includes Python or the bindings: {name}")
                if is_rule(rel) and (name.startswith("tierkit/io/") or target.startswith("include/tierkit/io/")):
                    if registers and target == "include/" + REGISTRATION_ARCHIVES:
                        pass  # a registering .cpp: the archives its export instantiates
                    elif rel in KNOWN_RULE_IO:
                        rule_io.add(rel)
                        notes.append(f"{where}: rule includes io/ (known, to remove): {name}")
                    else:
                        errors.append(f"{where}: rule includes io/: {name}")
                if is_lower(rel):
                    included = tierkit_name(target) or (name if name.startswith("tierkit/") else "")
                    if included and not lower_header(included):
                        errors.append(f"{where}: a lower part (core/, table) includes the engine: {name}")
            if rel.startswith("bindings/"):
                for imp in IMPORT.finditer(line):
                    errors.append(f"{where}: bindings import the Python package: {imp.group(1)}")
    errors += serving_errors(root)
    for stale in sorted(KNOWN_RULE_IO - rule_io):
        if (root / stale).exists():
            errors.append(f"{stale}: listed in KNOWN_RULE_IO but includes no io/ header: remove it from the list")
    return errors, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args(argv)
    errors, notes = check(args.root)
    for n in notes:
        print(f"note: {n}")
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        print(f"layering: {len(errors)} violation(s)", file=sys.stderr)
        return 1
    print("layering: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
