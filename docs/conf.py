"""Sphinx configuration of the tierkit documentation (`make docs`, scripts/docs.sh).

Some pages are generated here, into docs/generated/, from the sources they
document: the API reference from ``tierkit.__all__`` and the modules' ``__all__``,
the policy reference from tierkit/policy.schema.json, the benchmark page from
benchmarks/RESULTS.md, and the getting-started notebook from
examples/quickstart.ipynb (executed at build by myst-nb).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
from importlib import resources
from pathlib import Path

import tierkit

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
GENERATED = DOCS / "generated"

project = "tierkit"
author = "the tierkit authors"
copyright = "tierkit authors"
release = version = tierkit.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinxarg.ext",
]
html_theme = "furo"
html_title = f"tierkit {release}"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
myst_heading_anchors = 3
html_extra_path = ["generated/extra"]

# The notebook runs at build on the synthetic data, its files in the build folder,
# with the kernel's inline figures and no progress bars.
nb_execution_mode = "force"
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True
os.environ["TIERKIT_NOTEBOOK_DATA"] = "synthetic"
os.environ["TIERKIT_NOTEBOOK_OUT"] = str(DOCS / "_build" / "notebook-out")
os.environ["TIERKIT_PROGRESS"] = "0"
os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
os.environ.pop("MPLBACKEND", None)

MODULES = ["weights", "clv", "lifecycle", "plot", "progress", "datasets", "sklearn", "dask", "spark"]


def _api_page() -> str:
    top = [n for n in tierkit.__all__ if n not in MODULES]
    classes = [
        n for n in top if isinstance(getattr(tierkit, n), type) and not issubclass(getattr(tierkit, n), Exception)
    ]
    errors = [n for n in top if isinstance(getattr(tierkit, n), type) and issubclass(getattr(tierkit, n), Exception)]
    functions = [n for n in top if n not in classes and n not in errors]

    def table(names: list[str], prefix: str = "") -> str:
        rows = "\n".join(f"   {prefix}{n}" for n in names)
        return f".. autosummary::\n   :toctree: api\n\n{rows}\n"

    parts = [
        "# API reference\n",
        "The Python package, `import tierkit as tk`. Every page comes from the docstrings (numpydoc).\n",
        "```{eval-rst}\n.. currentmodule:: tierkit\n\nFunctions\n---------\n\n",
        table(functions),
        "\nClasses\n-------\n\n",
        table(classes),
        "\nErrors\n------\n\n",
        table(errors),
    ]
    for name in MODULES:
        module = importlib.import_module(f"tierkit.{name}")
        title = f"tierkit.{name}"
        doc = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
        parts.append(f"\n{title}\n{'-' * len(title)}\n\n{doc}\n\n")
        members = [m for m in getattr(module, "__all__", []) if callable(getattr(module, m))]  # not constants
        parts.append(table(members, prefix=f"{name}."))
    parts.append("```\n")
    return "".join(parts)


def _type_text(node: dict) -> str:
    if "$ref" in node:
        target = node["$ref"].rsplit("/", 1)[-1]
        return f"[{target}](#{target})"
    if "enum" in node:
        return " \\| ".join("`null`" if v is None else f"`{json.dumps(v)}`" for v in node["enum"])
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "oneOf" in node:
        return " or ".join(_type_text(n) for n in node["oneOf"])
    kind = node.get("type", "any")
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    if kind == "array" and "items" in node:
        kind = f"array of {_type_text(node['items'])}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        kind = f"object of {_type_text(node['additionalProperties'])}"
    bounds = []
    for key, sign in (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
        ("minItems", "items >="),
        ("maxItems", "items <="),
        ("minLength", "length >="),
    ):
        if key in node:
            bounds.append(f"{sign} {node[key]}")
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def _properties_table(props: dict, required: list[str]) -> str:
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, node in props.items():
        default = f"`{json.dumps(node['default'])}`" if "default" in node else ("required" if key in required else "")
        description = node.get("description", "").replace("|", "\\|")
        rows.append(f"| `{key}` | {_type_text(node)} | {default} | {description} |")
    return "\n".join(rows) + "\n"


def _object_of(node: dict) -> dict:
    """The object alternative of a oneOf (string shorthand or object)."""
    for alt in node.get("oneOf", []):
        if alt.get("type") == "object":
            return alt
    return node


def _policy_page(schema: dict) -> str:
    parts = [
        "# Policy reference\n",
        "Generated from the JSON Schema for policies, "
        "{download}`policy.schema.json <extra/policy.schema.json>` (also shipped in the package as "
        "`tierkit/policy.schema.json`). A test validates every example policy against it and checks "
        "that the parser rejects what the schema rejects. Editors that read JSON Schema (VS Code, "
        "PyCharm, `check-jsonschema`) can check policy files with it: add "
        '`"$schema": "...policy.schema.json"` to the editor\'s settings for `*.policy.json`.\n',
        f"{schema['description']}\n",
        "## policy\n",
        "The document. Exactly one of `scores` and `criteria` is given.\n",
        _properties_table(schema["properties"], schema.get("required", [])),
    ]
    defs = schema["$defs"]
    for name in ["score", "criterion", "weights", "tier", "clv", "lifecycle", "strategy"]:
        node = defs[name]
        obj = _object_of(node)
        parts += [
            f"\n(schema-{name})=\n## {name}\n",
            f"{node.get('description', '')}\n",
            _properties_table(obj.get("properties", {}), obj.get("required", [])),
        ]
    rule = defs["rule"]
    parts += ["\n(schema-rule)=\n## rule\n", f"{rule['description']}\n"]
    for branch in rule["allOf"]:
        kind = branch["if"]["properties"]["kind"]["const"]
        then = branch["then"]
        props = {k: v for k, v in then["properties"].items() if k != "kind"}
        parts += [f"\n### kind: `{kind}`\n", _properties_table(props, then.get("required", []))]
    text = "\n".join(parts)
    # Anchors for the $ref links.
    for name in list(defs):
        text = text.replace(f"](#{name})", f"](#schema-{name})")
    return text


def _benchmarks_page() -> str:
    text = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    return (
        text.rstrip() + "\n\n## Scaling plot\n\n"
        "![Time and peak memory against the number of transactions](scaling.png)\n"
    )


def _generate() -> None:
    GENERATED.mkdir(exist_ok=True)
    shutil.rmtree(GENERATED / "api", ignore_errors=True)  # autosummary's stubs, for the current names only
    (GENERATED / "extra").mkdir(exist_ok=True)
    schema_text = resources.files("tierkit").joinpath("policy.schema.json").read_text(encoding="utf-8")
    (GENERATED / "extra" / "policy.schema.json").write_text(schema_text, encoding="utf-8")
    outputs = {
        "api.md": _api_page(),
        "policy.md": _policy_page(json.loads(schema_text)),
        "benchmarks.md": _benchmarks_page(),
    }
    for name, text in outputs.items():
        path = GENERATED / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    for src, dst in (
        (ROOT / "examples" / "quickstart.ipynb", "quickstart.ipynb"),
        (ROOT / "benchmarks" / "scaling.png", "scaling.png"),
    ):
        target = GENERATED / dst
        if not target.exists() or target.read_bytes() != src.read_bytes():
            shutil.copyfile(src, target)


_generate()
