# Type stubs for the C++ extension (the public API is the tierkit package).
from typing import Any, Callable

import numpy as np

#: ``progress(stage, done, total, values)``: called after every iteration of a long
#: fit (see tierkit/core/progress.hpp and tierkit.progress.StageBars); raising stops the fit.
ProgressCallback = Callable[[str, float, float, dict[str, float]], None]

#: tierkit's version, from tierkit/core/version.hpp.
__version__: str

class TierkitError(ValueError): ...
class InvalidInputError(TierkitError): ...
class ColumnNotFoundError(TierkitError, KeyError): ...
class PolicyError(TierkitError): ...
class FormatError(TierkitError): ...
class NumericError(TierkitError): ...

class features:
    missing_id: int
    missing_day: int
    @staticmethod
    def summarize(customer: np.ndarray, day: np.ndarray, amount: np.ndarray, margin: np.ndarray | None = ...,
                  quantity: np.ndarray | None = ..., as_of: int | None = ..., freq: str = ...,
                  freq_multiplier: float = ..., trend_window: int = ..., windows: list[int] = ...,
                  trend_cap: float = ..., reject_invalid: bool = ...) -> dict[str, Any]: ...
    class Summarizer:
        def __init__(self, as_of: int | None = ..., freq: str = ..., freq_multiplier: float = ...,
                     trend_window: int = ..., windows: list[int] = ..., trend_cap: float = ...,
                     reject_invalid: bool = ...) -> None: ...
        def update(self, customer: np.ndarray, day: np.ndarray, amount: np.ndarray, margin: np.ndarray | None = ...,
                   quantity: np.ndarray | None = ...) -> None: ...
        def merge(self, other: features.Summarizer) -> None: ...
        def finalize(self) -> dict[str, Any]: ...
        def to_bytes(self) -> bytes: ...
        @staticmethod
        def from_bytes(data: bytes) -> features.Summarizer: ...
        def copy(self) -> features.Summarizer: ...
        def map_ids(self, to: np.ndarray) -> None: ...
        transactions: int
        customers: int
        cells: int
    @staticmethod
    def synthetic(customers: int, seed: int, start_day: int, days: int, refund_rate: float,
                  threads: int = ...) -> dict[str, np.ndarray]: ...
    @staticmethod
    def days_from_civil(y: int, m: int, d: int) -> int: ...

class scoring:
    @staticmethod
    def ahp(matrix: np.ndarray, n: int, random_index: list[float], max_cr: float) -> tuple[np.ndarray, float, float, float]: ...
    @staticmethod
    def saaty_random_index() -> list[float]: ...
    @staticmethod
    def entropy(columns: list[np.ndarray], directions: list[str], proportion: bool) -> np.ndarray: ...
    @staticmethod
    def critic(columns: list[np.ndarray], directions: list[str]) -> np.ndarray: ...
    @staticmethod
    def manual(raw: list[float]) -> list[float]: ...
    @staticmethod
    def combine(subjective: list[float], objective: list[float], mode: str, alpha: float) -> list[float]: ...

class model:
    class Policy:
        @staticmethod
        def from_json(text: str) -> model.Policy: ...
        @staticmethod
        def default_policy() -> model.Policy: ...
        def to_json(self) -> str: ...
        name: str
        rule_kind: str
        tier_names: list[str]
        score_names: list[str]
        def required_columns(self) -> list[str]: ...
        requires_stages: bool
    class Model:
        policy: model.Policy
        def fitted(self) -> dict[str, Any]: ...
        def assign(self, ids: np.ndarray, names: list[str], columns: list[np.ndarray],
                   categories: list[tuple[str, np.ndarray, list[str]]], contributions: bool = ...,
                   overrides: list[tuple[int, int, str, int]] | None = ..., as_of: int = ...,
                   previous: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = ...) -> dict[str, Any]: ...
        def to_bytes(self, kind: str = ...) -> bytes: ...
        @staticmethod
        def from_bytes(data: bytes) -> model.Model: ...
    @staticmethod
    def fit(policy: model.Policy, ids: np.ndarray, names: list[str], columns: list[np.ndarray],
            categories: list[tuple[str, np.ndarray, list[str]]],
            progress: ProgressCallback | None = ...) -> model.Model: ...
    @staticmethod
    def set_buffer_cache_limit(bytes: int) -> None: ...
    @staticmethod
    def buffer_cache_limit() -> int: ...
    @staticmethod
    def buffer_cache_held() -> int: ...
    @staticmethod
    def tier_summary(tier: np.ndarray, tier_names: list[str], score: np.ndarray, revenue: np.ndarray) -> dict[str, Any]: ...
    @staticmethod
    def rule_kinds() -> list[str]: ...
    stage_names: list[str]

class rules:
    @staticmethod
    def rule_kinds() -> list[str]: ...

# Fitting over chunks and the thread count: use tierkit.fitting.
class fitting:
    @staticmethod
    def set_num_threads(n: int) -> None: ...
    @staticmethod
    def get_num_threads() -> int: ...
    class PartialState:
        stage: int
        def to_bytes(self) -> bytes: ...
        @staticmethod
        def from_bytes(data: bytes) -> "fitting.PartialState": ...
    class Fitter:
        def __init__(self, policy: model.Policy, mode: str = ..., sketch_k: int = ..., kmeans_sample: int = ...,
                     refine_buckets: int = ...) -> None: ...
        done: bool
        stage: str
        passes: int
        collected_rows: float
        mode: str
        policy: model.Policy
        def update(self, ids: np.ndarray, names: list[str], columns: list[np.ndarray],
                   categories: list[tuple[str, np.ndarray, list[str]]]) -> "fitting.PartialState": ...
        @staticmethod
        def merge(a: "fitting.PartialState", b: "fitting.PartialState") -> "fitting.PartialState": ...
        def advance(self, total: "fitting.PartialState") -> None: ...
        def model(self) -> model.Model: ...
        def to_bytes(self) -> bytes: ...
        @staticmethod
        def from_bytes(data: bytes) -> "fitting.Fitter": ...

# The CLV models (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma): use tierkit.clv.
clv: Any

# Migration between assignments: use tierkit.lifecycle.
class lifecycle:
    event_kinds: tuple[str, ...]
    risk_kinds: tuple[str, ...]
    @staticmethod
    def migration(customers: np.ndarray, tier_before: np.ndarray, tier_after: np.ndarray, tiers: int,
                  values: np.ndarray | None = ...) -> dict[str, Any]: ...
    @staticmethod
    def project(counts: np.ndarray, tiers: int, periods: int, value_per_customer: np.ndarray | None = ...,
                entries: bool = ..., exits: bool = ...) -> dict[str, Any]: ...
    @staticmethod
    def steady_state(counts: np.ndarray, tiers: int, total: float, entries: bool = ...,
                     exits: bool = ...) -> np.ndarray: ...
    @staticmethod
    def events(customers: np.ndarray, tier_before: np.ndarray, tier_after: np.ndarray,
               stage_before: np.ndarray | None, stage_after: np.ndarray | None,
               tiers: int) -> tuple[np.ndarray, np.ndarray]: ...
    @staticmethod
    def revenue_at_risk(customers: np.ndarray, tier_before: np.ndarray | None, tier_after: np.ndarray,
                        stage_after: np.ndarray | None, tiers: int, values: np.ndarray) -> dict[str, Any]: ...
    @staticmethod
    def risks(customers: np.ndarray, tier_before: np.ndarray | None, tier_after: np.ndarray,
              stage_after: np.ndarray | None, tiers: int) -> np.ndarray: ...
    @staticmethod
    def win_back(customers: np.ndarray, tier_before: np.ndarray | None, tier_after: np.ndarray,
                 stage_after: np.ndarray | None, tiers: int, values: np.ndarray,
                 n: int | None = ...) -> np.ndarray: ...

class clv:
    class FitSummary:
        model: str
        names: list[str]
        coef: np.ndarray
        se: np.ndarray
        lower: np.ndarray
        upper: np.ndarray
        covariance: np.ndarray
        log_likelihood: float
        customers: float
        patterns: int
        iterations: int
        gradient_norm: float
        penalizer: float
    RfmPatterns: Any
    RfmHistogram: Any
    SpendPatterns: Any
    SpendHistogram: Any
    BgNbdParams: Any
    MbgNbdParams: Any
    ParetoNbdParams: Any
    GammaGammaParams: Any
    @staticmethod
    def fit_bg_nbd(patterns: Any, penalizer: float = ..., max_iterations: int = ..., gradient_tolerance: float = ...,
                   time_unit: str = ..., initial_params: list[float] | None = ...,
                   progress: ProgressCallback | None = ...) -> tuple[Any, clv.FitSummary]: ...
    fit_mbg_nbd = fit_bg_nbd
    fit_pareto_nbd = fit_bg_nbd
    @staticmethod
    def fit_gamma_gamma(patterns: Any, penalizer: float = ..., max_iterations: int = ..., gradient_tolerance: float = ...,
                        initial_params: list[float] | None = ...,
                        progress: ProgressCallback | None = ...) -> tuple[Any, clv.FitSummary]: ...
    p_alive: Any
    conditional_expected_purchases: Any
    expected_purchases: Any
    probability_of_purchases: Any
    customer_lifetime_value: Any
    log_likelihood: Any
    log_likelihood_gradient: Any
    frequency_spend_correlation: Any
    mean_spend: Any
    conditional_expected_average_spend: Any
