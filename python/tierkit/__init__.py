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

from types import ModuleType as _ModuleType

try:
    from . import _core
except ImportError as exc:  # pragma: no cover - only without a built extension
    raise ImportError(
        "tierkit's C++ extension tierkit._core is not built; install the package with "
        "`pip install .` from the source tree (it needs a C++20 compiler, CMake, Eigen, "
        "Boost.Serialization and nlohmann-json)"
    ) from exc

from . import clv, datasets, lifecycle, plot, progress, weights
from ._errors import (
    ColumnNotFoundError,
    FormatError,
    InvalidInputError,
    NumericError,
    PolicyError,
    TierkitError,
    TierkitWarning,
)
from .comparison import compare
from .features import Summarizer, join, summarize, summarize_files
from .fitting import Fitter, PartialState, get_num_threads, set_num_threads
from .lifecycle import backtest, events, migration, project, revenue_at_risk, win_back
from .model import Model, buffer_cache, fit, load, save, set_buffer_cache_limit, summary
from .policy import Policy
from .profiles import profile
from .report import report
from .retention import Retention, retention

#: The version compiled into tierkit._core (from CMakeLists.txt's project() line).
__version__: str = _core.__version__

__all__ = [
    "ColumnNotFoundError",
    "Fitter",
    "FormatError",
    "InvalidInputError",
    "Model",
    "NumericError",
    "PartialState",
    "Policy",
    "PolicyError",
    "Retention",
    "Summarizer",
    "TierkitError",
    "TierkitWarning",
    "backtest",
    "buffer_cache",
    "clv",
    "compare",
    "datasets",
    "events",
    "fit",
    "get_num_threads",
    "join",
    "lifecycle",
    "load",
    "migration",
    "plot",
    "profile",
    "progress",
    "project",
    "report",
    "retention",
    "revenue_at_risk",
    "save",
    "set_buffer_cache_limit",
    "set_num_threads",
    "sklearn",
    "summarize",
    "summarize_files",
    "summary",
    "weights",
    "win_back",
]


def __getattr__(name: str) -> _ModuleType:
    # tierkit.sklearn imports scikit-learn: load it on first use, not with the package.
    if name in ("sklearn", "dask", "spark"):
        import importlib

        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'tierkit' has no attribute {name!r}")
