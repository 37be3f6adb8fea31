"""tierkit: score customers and sort them into tiers.

>>> import tierkit as tk
>>> tx = tk.datasets.synthetic(1000, seed=1)
>>> features = tk.summarize(tx, customer="customer", date="date", amount="amount")
>>> model = tk.fit(tk.Policy.default(), features)
>>> tiers = model.assign(features)
>>> tk.summary(tiers, features).index.tolist()
['key', 'high-value', 'ordinary', 'potential']
"""
from __future__ import annotations

try:
    from . import _core
except ImportError as exc:  # pragma: no cover - only without a built extension
    raise ImportError(
        "tierkit's C++ extension tierkit._core is not built; install the package with "
        "`pip install .` from the source tree (it needs a C++20 compiler, CMake, Eigen, "
        "Boost.Serialization and nlohmann-json)"
    ) from exc

from . import clv, datasets, plot, progress, weights
from ._errors import (
    ColumnNotFoundError,
    FormatError,
    InvalidInputError,
    NumericError,
    PolicyError,
    TierkitError,
)
from .features import join, summarize
from .model import Model, fit, load, save, summary
from .policy import Policy
from .report import report

__version__ = "0.1.0"

__all__ = [
    "ColumnNotFoundError",
    "FormatError",
    "InvalidInputError",
    "Model",
    "NumericError",
    "Policy",
    "PolicyError",
    "TierkitError",
    "clv",
    "datasets",
    "fit",
    "join",
    "load",
    "plot",
    "progress",
    "report",
    "save",
    "sklearn",
    "summarize",
    "summary",
    "weights",
]


def __getattr__(name: str):
    # tierkit.sklearn imports scikit-learn: load it on first use, not with the package.
    if name == "sklearn":
        import importlib

        return importlib.import_module(".sklearn", __name__)
    raise AttributeError(f"module 'tierkit' has no attribute {name!r}")
