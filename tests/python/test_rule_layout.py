"""Built-in rules plug in like a host's rule: no other engine file names their kind.

For every built-in kind, the C++ files (include/, src/, bindings/) whose code, with
comments removed, holds the kind in quotes are listed; only the rule's own files
(include/tierkit/rules/builtin/<kind>.hpp, src/rules/builtin/<kind>.cpp and its
src/rules/builtin/<kind>_<job>.cpp files) may appear, apart from the few listed
below where the same word is not the kind.
Tests and documentation are outside the scanned folders.
"""

from __future__ import annotations

import re
from pathlib import Path

import tierkit as tk

ROOT = Path(__file__).resolve().parents[2]
BUILTIN = ROOT / "include" / "tierkit" / "rules" / "builtin"
SCANNED = ("include", "src", "bindings")

# (file, quoted word): why the word is not the rule's kind there.
NOT_THE_KIND = {
    ("include/tierkit/rules/builtin/abc.hpp", "thresholds"): "abc's own parameter and archive field name",
    ("include/tierkit/rules/builtin/rfm_segments.hpp", "thresholds"): "rfm_segments' archive field name",
    ("src/policy_json.cpp", "matrix"): "the AHP weights' pairwise comparison matrix key",
    ("bindings/register_scoring.cpp", "matrix"): "the AHP weights' matrix argument",
    ("src/default_policy.cpp", "quantiles"): "the default policy document, which uses this rule",
}

_TOKEN = re.compile(
    r'R"(?P<d>[^(]*)\((?:.|\n)*?\)(?P=d)"|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|//[^\n]*|/\*(?:.|\n)*?\*/',
)


def code_without_comments(text: str) -> str:
    """The text with // and /* */ comments blanked, string literals kept."""
    return _TOKEN.sub(lambda m: "" if m.group(0).startswith(("//", "/*")) else m.group(0), text)


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN.glob("*.hpp"))


def files_naming(word: str) -> set[str]:
    needle = f'"{word}"'
    found = set()
    for top in SCANNED:
        for path in (ROOT / top).rglob("*"):
            if path.suffix not in (".hpp", ".cpp", ".h") or not path.is_file():
                continue
            if needle in code_without_comments(path.read_text(encoding="utf-8")):
                found.add(path.relative_to(ROOT).as_posix())
    return found


def test_comment_stripping_keeps_strings_and_drops_comments() -> None:
    text = 'a = "kmeans"; // "abc"\n/* "chain" */ b = R"x({"kind": "matrix"})x"; c = "http://x";'
    out = code_without_comments(text)
    assert '"kmeans"' in out and '"matrix"' in out and '"http://x"' in out
    assert '"abc"' not in out and '"chain"' not in out


def test_every_registered_builtin_kind_has_its_own_header() -> None:
    kinds = set(tk._core.rules.rule_kinds()) - {"python"}  # python: the bindings' host rule
    wrappers = {"group_by"}  # a key on any rule object, not a kind
    assert kinds == set(builtin_names()) - wrappers
    assert wrappers <= set(builtin_names())


def test_only_a_rules_own_files_name_its_kind() -> None:
    for name in builtin_names():
        own = {f"include/tierkit/rules/builtin/{name}.hpp", f"src/rules/builtin/{name}.cpp"}
        # its other sources: src/rules/builtin/<kind>_<job>.cpp/.hpp (its fit, its kernels)
        own |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "src" / "rules" / "builtin").glob(f"{name}_*.[ch]pp")}
        allowed = own | {f for (f, w) in NOT_THE_KIND if w == name}
        others = files_naming(name) - allowed
        assert not others, f"{name!r} is named outside its own files: {sorted(others)}"


def test_the_exceptions_are_still_needed() -> None:
    for (file, word), why in NOT_THE_KIND.items():
        assert file in files_naming(word), f"{file} no longer holds {word!r} ({why}): drop the exception"
