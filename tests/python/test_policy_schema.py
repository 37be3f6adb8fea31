"""The JSON Schema for policies (tierkit/policy.schema.json, shipped in the package
and rendered as the docs' policy reference) agrees with the parser: every example
policy validates and parses; what the schema rejects in a set of cases, the parser
rejects too; the schema's rule kinds are the registered ones and its enumerations
are the parser's choices."""

from __future__ import annotations

import copy
import json
import re
from importlib import resources
from pathlib import Path

import pytest

import tierkit as tk
from tierkit import _core

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed (scripts/setup.sh --test)")

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads(resources.files("tierkit").joinpath("policy.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def markdown_policies() -> list[tuple[str, dict]]:
    """```json blocks with a "tiers" key in the README and the docs' pages."""
    out = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        if "_build" in path.parts:
            continue
        for k, block in enumerate(re.findall(r"^```json\n(.*?)^```", path.read_text(encoding="utf-8"), re.S | re.M)):
            doc = json.loads(block)
            if isinstance(doc, dict) and "tiers" in doc:
                out.append((f"{path.relative_to(ROOT)}#{k}", doc))
    return out


def golden_policies() -> list[tuple[str, dict]]:
    golden = ROOT / "tests" / "data" / "golden"
    return [(p.name, tk.load(p).policy.to_dict()) for p in sorted(golden.glob("*.text.tkm"))]


SCORES = {"scores": [{"name": "value", "criteria": ["revenue", {"column": "frequency", "normalizer": "minmax"}]}]}
WRITTEN = {
    "thresholds": {**SCORES, "rule": {"kind": "thresholds", "cuts": [70, 40]}, "tiers": ["a", "b", "c"]},
    "abc": {**SCORES, "rule": {"kind": "abc", "cuts": [0.7, 0.9]}, "tiers": ["A", "B", "C"]},
    "kmeans": {**SCORES, "rule": {"kind": "kmeans", "k": 3, "seed": 1}, "tiers": ["a", "b", "c"]},
    "rfm_segments": {
        **SCORES,
        "rule": {
            "kind": "rfm_segments",
            "bins": 3,
            "segments": [
                {"name": "best", "r": [3, 3], "fm": [2.5, 3]},
                {"name": "rest", "r": [1, 3], "f": [1, 3], "m": [1, 3]},
            ],
        },
        "tiers": ["best", "rest"],
    },
    "matrix": {
        **SCORES,
        "rule": {
            "kind": "matrix",
            "x": {"score": "value", "shares": [0.2]},
            "y": {"column": "revenue", "cuts": [100]},
            "cells": [["a", "b"], ["b", "c"]],
        },
        "tiers": ["a", "b", "c"],
    },
    "expression": {
        **SCORES,
        "rule": {"kind": "expression", "branches": [{"when": "value >= 80", "tier": "a"}, {"else": "b"}]},
        "tiers": ["a", "b"],
    },
    "override": {
        **SCORES,
        "rule": {
            "kind": "override",
            "base": {"kind": "quantiles", "shares": [0.2]},
            "overrides": [{"when": "revenue > 1e6", "tier": "a", "reason": "large"}],
        },
        "tiers": ["a", "b"],
    },
    "chain": {
        **SCORES,
        "rule": {
            "kind": "chain",
            "first": {"kind": "quantiles", "shares": [0.5], "tiers": ["a", "c"]},
            "then": {"a": {"kind": "quantiles", "shares": [0.5], "tiers": ["a", "b"]}},
        },
        "tiers": ["a", "b", "c"],
    },
    "group_by": {
        **SCORES,
        "rule": {"kind": "quantiles", "shares": [0.3], "group_by": "region", "unseen_group": "global"},
        "tiers": ["a", "b"],
    },
    "everything": {
        "name": "everything",
        "description": "every section",
        "criteria": [
            {"column": "revenue", "transform": "log1p", "clip": [0.01, 0.99], "weight": 2},
            {"column": "days_since_last", "direction": "lower", "normalizer": "bins", "bins": 4, "weight": 1},
        ],
        "method": "topsis",
        "weights": {
            "method": "combined",
            "subjective": {"method": "manual"},
            "objective": {"method": "entropy", "variant": "proportion"},
            "mode": "linear",
            "alpha": 0.3,
        },
        "rule": {"kind": "quantiles", "shares": [0.1, 0.3, 0.6]},
        "tiers": [{"name": "a", "mode": "strategic", "actions": ["call"], "description": "top"}, "b", "c"],
        "clv": {
            "model": "bgnbd",
            "spend": "gammagamma",
            "horizon_months": 12,
            "discount_rate": 0.01,
            "time_unit": "W",
            "columns": {"T": "age"},
        },
        "lifecycle": {"new_days": 60, "hysteresis": {"up_margin": 2, "k": 2}},
        "strategies": [{"tier": "a", "stage": ["declining", "lost"], "action": "call now"}],
        "privacy": {"min_group": 5},
    },
    "labels": {
        "criteria": [
            {"column": "credit_rating", "order": ["C", "B", "A"], "missing": "worst", "unknown": "missing"},
            {"column": "potential", "values": {"low": 0, "high": 1}, "missing": 0.5},
            {"column": "nps", "missing": "median"},
            {"column": "complaints", "missing": "zero"},
        ],
        "rule": {"kind": "quantiles", "shares": [0.5]},
        "tiers": ["a", "b"],
    },
}


def file_policies() -> list[tuple[str, dict]]:
    """The example policy files under examples/."""
    return [
        (str(p.relative_to(ROOT)), json.loads(p.read_text(encoding="utf-8")))
        for p in sorted((ROOT / "examples").glob("*.json"))
    ]


def example_policies() -> list[tuple[str, dict]]:
    examples = [("default", tk.Policy.default().to_dict())]
    examples += list(WRITTEN.items()) + file_policies()
    examples += markdown_policies() + golden_policies()
    # The parser's normalized documents are policies too.
    examples += [(f"{name} (normalized)", tk.Policy(doc).to_dict()) for name, doc in list(WRITTEN.items())]
    return examples


def test_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name,doc", example_policies(), ids=lambda v: v if isinstance(v, str) else "")
def test_example_policies_validate_and_parse(name, doc):
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(doc)]
    assert not errors, f"{name}: {errors}"
    tk.Policy(doc)


def test_examples_cover_every_rule_kind():
    kinds = {doc["rule"]["kind"] for _, doc in example_policies() if "rule" in doc}
    assert kinds >= set(_core.rules.rule_kinds()) - {"python"}


def test_rule_kinds_are_the_registered_ones():
    # "python" is registered by the bindings (a Python callable as the rule).
    assert sorted(SCHEMA["$defs"]["rule"]["properties"]["kind"]["enum"]) == sorted(_core.rules.rule_kinds())


def base() -> dict:
    return copy.deepcopy(WRITTEN["everything"])


def put(path: str, value, doc=None) -> dict:
    """A copy of the 'everything' policy with the value at a dotted path replaced
    (a path ending in '-' deletes the key)."""
    doc = base() if doc is None else doc
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if last.endswith("-"):
        del node[last[:-1]]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


REJECTED = [
    ("unknown top-level key", put("colour", "red")),
    ("no tiers", put("tiers-", None)),
    ("empty tiers", put("tiers", [])),
    ("tier without a name", put("tiers.0", {"mode": "strategic"})),
    ("unknown tier mode", put("tiers.0.mode", "friendly")),
    ("tier actions not strings", put("tiers.0.actions", [1])),
    ("no criteria and no scores", put("criteria-", None)),
    ("both criteria and scores", put("scores", [{"criteria": ["revenue"]}])),
    ("empty criteria", put("criteria", [])),
    ("empty column name", put("criteria.0", "")),
    ("criterion without a column", put("criteria.0", {"direction": "lower"})),
    ("unknown criterion key", put("criteria.0.scale", 2)),
    ("unknown direction", put("criteria.0.direction", "up")),
    ("unknown transform", put("criteria.0.transform", "sqrt")),
    ("unknown normalizer", put("criteria.0.normalizer", "softmax")),
    ("bins below 2", put("criteria.1.bins", 1)),
    ("fractional bins", put("criteria.1.bins", 2.5)),
    ("negative weight", put("criteria.0.weight", -1)),
    ("clip with one quantile", put("criteria.0.clip", [0.1])),
    ("clip outside 0..1", put("criteria.0.clip", [0.1, 1.5])),
    ("order and values", put("criteria.0", {"column": "r", "order": ["a", "b"], "values": {"a": 1}})),
    ("order of one label", put("criteria.0.order", ["a"])),
    ("order with a repeated label", put("criteria.0.order", ["a", "b", "a"])),
    ("order with an empty label", put("criteria.0.order", ["", "a"])),
    ("order not strings", put("criteria.0.order", [1, 2])),
    ("empty values", put("criteria.0.values", {})),
    ("values not numbers", put("criteria.0.values", {"low": "0"})),
    ("values with an empty label", put("criteria.0.values", {"": 1})),
    ("unknown missing option", put("criteria.0.missing", "mean")),
    ("missing as a boolean", put("criteria.0.missing", True)),
    ("unknown without a value map", put("criteria.0.unknown", "missing")),
    ("unknown unknown option", put("criteria.0.unknown", "skip")),
    ("unknown score method", put("method", "sum")),
    ("unknown weight method", put("weights.method", "gut")),
    ("ahp without a matrix", put("weights", {"method": "ahp"})),
    ("ahp matrix with a zero", put("weights", {"method": "ahp", "matrix": [[1, 0], [1, 1]]})),
    ("max_cr above 1", put("weights", {"method": "ahp", "matrix": [[1, 2], [0.5, 1]], "max_cr": 2})),
    ("combined without objective", put("weights.objective-", None)),
    ("alpha above 1", put("weights.alpha", 1.5)),
    ("unknown entropy variant", put("weights.objective.variant", "log")),
    ("unknown weights key", put("weights.beta", 1)),
    ("rule without kind", put("rule", {"shares": [0.1, 0.3]})),
    ("unknown rule kind", put("rule", {"kind": "astrology"})),
    ("unknown rule key", put("rule.cut", [1])),
    ("quantile share of 0", put("rule.shares", [0, 0.3])),
    ("thresholds without cuts", put("rule", {"kind": "thresholds"})),
    ("abc cut of 1", put("rule", {"kind": "abc", "cuts": [0.5, 1]})),
    ("unknown unseen_group", put("rule.unseen_group", "skip")),
    ("empty group_by", put("rule.group_by", "")),
    ("kmeans k of 0", put("rule", {"kind": "kmeans", "k": 0})),
    ("kmeans negative seed", put("rule", {"kind": "kmeans", "k": 3, "seed": -1})),
    ("unknown kmeans select", put("rule", {"kind": "kmeans", "k": "auto", "select": "gap"})),
    ("rfm bins of 10", put("rule", {"kind": "rfm_segments", "bins": 10})),
    ("unknown rfm ties", put("rule", {"kind": "rfm_segments", "ties": "random"})),
    ("expression without branches", put("rule", {"kind": "expression"})),
    ("expression branch without tier", put("rule", {"kind": "expression", "branches": [{"when": "x > 1"}]})),
    ("override without base", put("rule", {"kind": "override", "overrides": [{"when": "x > 1", "tier": "a"}]})),
    ("chain without first", put("rule", {"kind": "chain"})),
    (
        "matrix without cells",
        put(
            "rule",
            {"kind": "matrix", "x": {"score": "score", "shares": [0.5]}, "y": {"score": "score", "shares": [0.5]}},
        ),
    ),
    ("clv without time_unit", put("clv.time_unit-", None)),
    ("unknown clv model", put("clv.model", "nbd")),
    ("unknown time unit", put("clv.time_unit", "Y")),
    ("fractional horizon", put("clv.horizon_months", 1.5)),
    ("zero horizon", put("clv.horizon_months", 0)),
    ("negative penalizer", put("clv.penalizer", -0.1)),
    ("unknown clv key", put("clv.holdout", 3)),
    ("negative new_days", put("lifecycle.new_days", -1)),
    ("lost_p_alive above 1", put("lifecycle.lost_p_alive", 2)),
    ("hysteresis k of 0", put("lifecycle.hysteresis.k", 0)),
    ("unknown lifecycle key", put("lifecycle.churn_days", 30)),
    ("strategy without action", put("strategies.0.action-", None)),
    ("unknown strategy stage", put("strategies.0.stage", "asleep")),
    ("privacy min_group of 0", put("privacy.min_group", 0)),
    ("fractional min_group", put("privacy.min_group", 2.5)),
    ("name not a string", put("name", 3)),
]


@pytest.mark.parametrize("case,doc", REJECTED, ids=[c for c, _ in REJECTED])
def test_parser_rejects_what_the_schema_rejects(case, doc):
    assert list(VALIDATOR.iter_errors(doc)), f"{case}: the schema accepts it"
    with pytest.raises(tk.PolicyError):
        tk.Policy(doc)


def enum_at(*keys: str) -> list:
    node = SCHEMA
    for key in keys:
        node = node[key]
    return node["enum"]


CRITERION = SCHEMA["$defs"]["criterion"]["oneOf"][1]["properties"]


@pytest.mark.parametrize(
    "path,schema_enum",
    [
        ("criteria.0.direction", CRITERION["direction"]["enum"]),
        ("criteria.0.transform", CRITERION["transform"]["enum"]),
        ("criteria.0.normalizer", CRITERION["normalizer"]["enum"]),
        ("criteria.0.missing", CRITERION["missing"]["oneOf"][0]["enum"]),
        ("weights.method", enum_at("$defs", "weights", "properties", "method")),
        ("weights.mode", enum_at("$defs", "weights", "properties", "mode")),
        ("weights.objective.variant", enum_at("$defs", "weights", "properties", "variant")),
        ("method", enum_at("properties", "method")),
        ("tiers.0.mode", SCHEMA["$defs"]["tier"]["oneOf"][1]["properties"]["mode"]["enum"]),
        ("clv.model", enum_at("$defs", "clv", "properties", "model")),
        ("clv.time_unit", enum_at("$defs", "clv", "properties", "time_unit")),
        ("strategies.0.stage", SCHEMA["$defs"]["strategy"]["properties"]["stage"]["oneOf"][0]["enum"]),
    ],
)
def test_enumerations_are_the_parsers_choices(path, schema_enum):
    """The parser's message lists its choices: the schema has each of them, and the
    parser accepts every value the schema lists (aliases too)."""
    with pytest.raises(tk.PolicyError) as info:
        tk.Policy(put(path, "bogus"))
    listed = re.search(r"must be (?:one of )?(.+?), got", str(info.value))
    assert listed, str(info.value)
    choices = [c.strip() for c in re.split(r",| or ", listed.group(1).split(" (")[0]) if c.strip()]
    assert len(choices) >= 2 and set(choices) <= set(schema_enum), (choices, schema_enum)
    for value in schema_enum:
        if value is None:
            continue
        if path == "weights.method":  # methods that need more keys get them
            extra = {
                "ahp": {"matrix": [[1, 2], [0.5, 1]]},
                "combined": {"subjective": {"method": "manual"}, "objective": {"method": "critic"}},
            }
            tk.Policy(put("weights", {"method": value, **extra.get(value, {})}))
        else:
            tk.Policy(put(path, value))


def test_unknown_label_choices_are_the_parsers():
    labelled = {
        "criteria": [{"column": "rating", "order": ["b", "a"]}],
        "rule": {"kind": "thresholds", "cuts": [50]},
        "tiers": ["a", "b"],
    }
    with pytest.raises(tk.PolicyError, match=r"criteria\[0\]\.unknown: must be one of error, missing, got 'skip'"):
        tk.Policy(put("criteria.0.unknown", "skip", copy.deepcopy(labelled)))
    for value in CRITERION["unknown"]["enum"]:
        doc = put("criteria.0.unknown", value, copy.deepcopy(labelled))
        assert not list(VALIDATOR.iter_errors(doc))
        tk.Policy(doc)
