"""Customer lifetime value: BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma.

The models take the customer summary that ``tierkit.summarize`` (and lifetimes'
``summary_data_from_transaction_data``) produce: ``frequency`` (repeat purchase
periods), ``recency`` (first to last purchase), ``T`` (first purchase to the end of
observation) and, for Gamma-Gamma, ``monetary_value`` (mean spend per repeat
purchase). Times are in one unit chosen by the caller; tell the model which with
``time_unit`` (``"D"``, ``"W"``, ``"M"``, ``"H"`` or the names) so that a customer
lifetime value over calendar months is computed in the right unit. Nothing guesses
it: a weekly model read as daily is off by a factor of 30/4.345.

Fitting compresses the customers to their distinct (frequency, recency, T)
patterns first, so ten million customers fit about as fast as their patterns.
The C++ core releases the GIL while it fits and predicts.

>>> import tierkit as tk
>>> from tierkit import clv
>>> tx = tk.datasets.synthetic(2000, seed=1)
>>> summary = tk.summarize(tx, customer="customer", date="date", amount="amount")  # times in days
>>> bg = clv.BGNBD(time_unit="D").fit(summary)
>>> list(bg.summary().columns)
['coef', 'se', 'lower', 'upper']
>>> alive = bg.conditional_probability_alive(summary["frequency"], summary["recency"], summary["T"])
>>> bool(alive[summary["frequency"] == 0].eq(1.0).all())  # BG/NBD: no repeat purchase, alive
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np
import pandas as pd

from . import _core
from ._convert import float_array
from ._errors import ColumnNotFoundError, InvalidInputError
from .progress import StageBars, bar

_clv = _core.clv

__all__ = ["BGNBD", "MBGNBD", "GammaGamma", "ParetoNBD", "RfmHistogram", "SpendHistogram"]

ArrayLike = Union[pd.Series, np.ndarray, Sequence[float], float]

RfmHistogram = _clv.RfmHistogram
SpendHistogram = _clv.SpendHistogram


def _column(values: Any, name: str) -> np.ndarray:
    """float64 contiguous array; plain numpy-backed Series take the fast path, anything
    else (nullable dtypes, objects, lists) goes through tierkit's general conversion."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, np.dtype) and values.dtype.kind in "biuf":
        return np.ascontiguousarray(values.to_numpy(dtype=np.float64))
    return float_array(values, name)


def _unit(time_unit: str | None) -> str:
    return "" if time_unit is None else str(time_unit)


def _prepare(*columns: tuple[ArrayLike, str]) -> tuple[list[np.ndarray], pd.Index | None, bool]:
    """Contiguous float64 arrays broadcast to one length, the pandas index of the
    first Series among the inputs (if any), and whether every input was a scalar."""
    index = next((c.index for c, _ in columns if isinstance(c, pd.Series)), None)
    scalar = all(np.ndim(c) == 0 and not isinstance(c, pd.Series) for c, _ in columns)
    arrays = [_column(np.atleast_1d(c) if not isinstance(c, pd.Series) else c, name) for c, name in columns]
    try:
        arrays = [np.ascontiguousarray(a) for a in np.broadcast_arrays(*arrays)]
    except ValueError:
        lengths = ", ".join(f"{name}={len(a)}" for a, (_, name) in zip(arrays, columns))
        raise InvalidInputError(f"columns of different lengths: {lengths}") from None
    return arrays, index, scalar


def _result(values: np.ndarray, index: pd.Index | None, scalar: bool, name: str) -> Any:
    if scalar:
        return float(values[0])
    if index is not None and len(index) == len(values):
        return pd.Series(values, index=index, name=name)
    return values


def _summary_columns(
    frequency: Any, recency: Any, T: Any, weights: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    if isinstance(frequency, pd.DataFrame):
        df = frequency
        for name in ("frequency", "recency", "T"):
            if name not in df.columns:
                raise ColumnNotFoundError(
                    f"summary: unknown column '{name}'; available: {', '.join(map(str, df.columns))}"
                )
        frequency, recency, T = df["frequency"], df["recency"], df["T"]
        if weights is None and "weights" in df.columns:
            weights = df["weights"]
    if recency is None or T is None:
        raise InvalidInputError("fit: give a summary DataFrame or the frequency, recency and T columns")
    f, r, t = (_column(c, n) for c, n in ((frequency, "frequency"), (recency, "recency"), (T, "T")))
    w = None if weights is None else _column(weights, "weights")
    return f, r, t, w


class _TransactionModel:
    """Shared implementation of the BG/NBD-family and Pareto/NBD estimators."""

    _params_class: Any = None
    _fit_function: Any = None
    _names: tuple[str, ...] = ()

    def __init__(self, penalizer_coef: float = 0.0, time_unit: str | None = None) -> None:
        self.penalizer_coef = penalizer_coef
        self.time_unit = time_unit

    # ---- fitting -------------------------------------------------------------------
    def fit(
        self,
        frequency: Any,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
        weights: ArrayLike | None = None,
        *,
        initial_params: Sequence[float] | None = None,
        max_iterations: int = 2000,
        tol: float = 1e-6,
        progress: bool | None = None,
    ) -> _TransactionModel:
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency : DataFrame or array-like
            A summary DataFrame with columns ``frequency``, ``recency``, ``T`` (and
            optionally ``weights``), or the frequency column itself.
        recency, T : array-like, optional
            The other two columns when ``frequency`` is not a DataFrame.
        weights : array-like, optional
            Number of customers each row stands for.
        initial_params : sequence of float, optional
            Starting point in the model's parameter order.
        max_iterations : int
            L-BFGS iterations per starting point.
        tol : float
            Convergence tolerance on the gradient norm of the mean negative
            log-likelihood with respect to the log-parameters.
        progress : bool, optional
            Show a bar with one step per optimizer iteration (L-BFGS, then Newton
            steps) and the log-likelihood reached as its postfix. By default only in
            an interactive session or with ``TIERKIT_PROGRESS=1`` (see
            :mod:`tierkit.progress`). Ctrl-C stops the fit at the next iteration.

        Returns
        -------
        self

        Raises
        ------
        tierkit.InvalidInputError
            For a negative or non-integer frequency, recency > T, ... naming the row.
        tierkit.NumericError
            When the data have no repeat purchase or the fit does not converge.
        """
        f, r, t, w = _summary_columns(frequency, recency, T, weights)
        state = _clv.RfmHistogram()
        state.update(f, r, t, w)
        return self.fit_patterns(
            state.finalize(), initial_params=initial_params, max_iterations=max_iterations, tol=tol, progress=progress
        )

    def fit_patterns(
        self,
        patterns: Any,
        *,
        initial_params: Sequence[float] | None = None,
        max_iterations: int = 2000,
        tol: float = 1e-6,
        progress: bool | None = None,
    ) -> _TransactionModel:
        """Fit on finalized patterns (``RfmHistogram().update(...)`` per chunk or
        partition, ``merge``, then ``finalize()``); the options are :meth:`fit`'s.

        >>> import tierkit as tk
        >>> from tierkit import clv
        >>> f = tk.summarize(tk.datasets.synthetic(2000, seed=1))
        >>> state = clv.RfmHistogram()
        >>> state.update(*(f[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")))
        >>> bg = clv.BGNBD().fit_patterns(state.finalize(), progress=False)  # True: a bar per iteration
        >>> bg.params_.index.tolist()
        ['r', 'alpha', 'a', 'b']
        """
        fit = type(self)._fit_function
        with StageBars(progress, make=bar) as bars:
            self.params_object_, self._summary = fit(
                patterns,
                penalizer=float(self.penalizer_coef),
                max_iterations=int(max_iterations),
                gradient_tolerance=float(tol),
                time_unit=_unit(self.time_unit),
                initial_params=None if initial_params is None else [float(v) for v in initial_params],
                progress=bars.callback,
            )
        return self

    @classmethod
    def from_params(cls: type[Any], *values: float, time_unit: str | None = None) -> Any:  # shared with GammaGamma
        """A model with the given parameters (model order), e.g. published ones, without
        fitting. It predicts; summary() and log_likelihood_ need a fit.

        >>> from tierkit import clv
        >>> bg = clv.BGNBD.from_params(0.2425982, 4.4136842, 0.7929899, 2.4261667, time_unit="W")
        >>> round(bg.conditional_probability_alive(26, 30.85714, 31), 6)
        0.968852
        """
        model = cls(time_unit=time_unit) if cls is not GammaGamma else cls()
        if cls is GammaGamma:
            model.params_object_ = _clv.GammaGammaParams(*[float(v) for v in values])
        else:
            model.params_object_ = cls._params_class(*[float(v) for v in values], time_unit=_unit(time_unit))
        return model

    def _params(self: Any) -> Any:  # GammaGamma shares it: self is a _TransactionModel or a GammaGamma
        try:
            return self.params_object_
        except AttributeError:
            raise AttributeError(f"{type(self).__name__} is not fitted; call fit() first") from None

    def _fit_summary(self) -> Any:
        self._params()
        try:
            return self._summary
        except AttributeError:
            raise AttributeError(f"{type(self).__name__} was built from parameters; summary() needs fit()") from None

    # ---- fitted attributes ---------------------------------------------------------
    @property
    def params_(self) -> pd.Series:
        """The fitted parameters as a Series indexed by name."""
        return pd.Series(self._params().values, index=list(self._names), dtype=float)

    @property
    def log_likelihood_(self) -> float:
        """Log-likelihood at the optimum, summed over customers (no penalty)."""
        return float(self._fit_summary().log_likelihood)

    @property
    def standard_errors_(self) -> pd.Series:
        return pd.Series(self._fit_summary().se, index=list(self._names))

    @property
    def variance_matrix_(self) -> pd.DataFrame:
        names = list(self._names)
        return pd.DataFrame(self._fit_summary().covariance, index=names, columns=names)

    def summary(self) -> pd.DataFrame:
        """Estimates, standard errors and 95% intervals (computed on the log scale, so
        they stay positive), one row per parameter."""
        s = self._fit_summary()
        return pd.DataFrame({"coef": s.coef, "se": s.se, "lower": s.lower, "upper": s.upper}, index=list(self._names))

    # ---- predictions ---------------------------------------------------------------
    def conditional_probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Any:
        """P(alive) of customers with the given history.

        Returns a Series (with the input's index) for Series input, an array for
        arrays, a float for scalars.
        """
        (f, r, t), index, scalar = _prepare((frequency, "frequency"), (recency, "recency"), (T, "T"))
        return _result(_clv.p_alive(self._params(), f, r, t), index, scalar, "p_alive")

    p_alive = conditional_probability_alive

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Any:
        """Expected purchases in the next ``t`` periods (in the unit of the fit)."""
        (f, r, tt), index, scalar = _prepare((frequency, "frequency"), (recency, "recency"), (T, "T"))
        values = _clv.conditional_expected_purchases(self._params(), float(t), f, r, tt)
        return _result(values, index, scalar, "expected_purchases")

    predict = conditional_expected_number_of_purchases_up_to_time

    def expected_number_of_purchases_up_to_time(self, t: ArrayLike) -> Any:
        """E[X(t)] for a customer who has just made a first purchase."""
        (tt,), index, scalar = _prepare((t, "t"))
        return _result(_clv.expected_purchases(self._params(), tt), index, scalar, "expected_purchases")

    def probability_of_n_purchases_up_to_time(self, t: ArrayLike, n: ArrayLike) -> Any:
        """P(X(t) = n) for a customer who has just made a first purchase."""
        (tt, nn), index, scalar = _prepare((t, "t"), (n, "n"))
        return _result(_clv.probability_of_purchases(self._params(), tt, nn), index, scalar, "probability")

    def __repr__(self) -> str:
        try:
            params = ", ".join(f"{k}: {v:.4g}" for k, v in self.params_.items())
            return f"<tierkit.clv.{type(self).__name__}: {params}>"
        except AttributeError:
            return f"<tierkit.clv.{type(self).__name__} (not fitted)>"


class BGNBD(_TransactionModel):
    """BG/NBD model (Fader, Hardie & Lee 2005).

    Parameters
    ----------
    penalizer_coef : float
        L2 penalty as in lifetimes (mean negative log-likelihood + c * sum(params**2),
        alpha in units where the largest T is 1).
    time_unit : {"H", "D", "W", "M"} or None
        Unit of recency and T; needed for customer lifetime value.

    Examples
    --------
    >>> import tierkit as tk
    >>> from tierkit import clv
    >>> summary = tk.summarize(tk.datasets.synthetic(2000, seed=1), customer="customer",
    ...                        date="date", amount="amount")
    >>> bg = clv.BGNBD(time_unit="D").fit(summary)
    >>> bg.params_.index.tolist()
    ['r', 'alpha', 'a', 'b']
    >>> next_90_days = bg.predict(90, summary["frequency"], summary["recency"], summary["T"])
    """

    _fit_function = staticmethod(_clv.fit_bg_nbd)
    _params_class = _clv.BgNbdParams
    _names = ("r", "alpha", "a", "b")


class MBGNBD(_TransactionModel):
    """MBG/NBD model (Batislam, Denizel & Filiztekin 2007): BG/NBD where a customer
    may also drop out at time 0, so P(alive) < 1 without repeat purchases.

    Examples
    --------
    >>> import tierkit as tk
    >>> from tierkit import clv
    >>> summary = tk.summarize(tk.datasets.synthetic(2000, seed=1), customer="customer",
    ...                        date="date", amount="amount")
    >>> m = clv.MBGNBD(time_unit="D").fit(summary)
    >>> bool(m.conditional_probability_alive(0, 0, 30.0) < 1)
    True
    """

    _fit_function = staticmethod(_clv.fit_mbg_nbd)
    _params_class = _clv.MbgNbdParams
    _names = ("r", "alpha", "a", "b")


class ParetoNBD(_TransactionModel):
    """Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), with the
    hypergeometric terms computed in log space (no overflow for large frequencies).

    Examples
    --------
    >>> import tierkit as tk
    >>> from tierkit import clv
    >>> summary = tk.summarize(tk.datasets.synthetic(2000, seed=1), customer="customer",
    ...                        date="date", amount="amount")
    >>> p = clv.ParetoNBD(time_unit="D").fit(summary)
    >>> p.params_.index.tolist()
    ['r', 'alpha', 's', 'beta']
    """

    _fit_function = staticmethod(_clv.fit_pareto_nbd)
    _params_class = _clv.ParetoNbdParams
    _names = ("r", "alpha", "s", "beta")


class GammaGamma:
    """Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV").

    Fitted on repeat customers: rows with ``frequency == 0`` carry no information on
    spend per repeat purchase and are skipped (counted in ``zero_repeat_customers_``).
    The model assumes frequency and spend are independent; ``frequency_spend_correlation_``
    reports their correlation after the fit.

    Examples
    --------
    >>> import tierkit as tk
    >>> from tierkit import clv
    >>> summary = tk.summarize(tk.datasets.synthetic(2000, seed=1), customer="customer",
    ...                        date="date", amount="amount")
    >>> gg = clv.GammaGamma().fit(summary)  # columns frequency and monetary_value
    >>> gg.params_.index.tolist()
    ['p', 'q', 'v']
    """

    _names = ("p", "q", "v")

    def __init__(self, penalizer_coef: float = 0.0) -> None:
        self.penalizer_coef = penalizer_coef

    def fit(
        self,
        frequency: Any,
        monetary_value: ArrayLike | None = None,
        weights: ArrayLike | None = None,
        *,
        initial_params: Sequence[float] | None = None,
        max_iterations: int = 2000,
        tol: float = 1e-6,
        progress: bool | None = None,
    ) -> GammaGamma:
        """Fit on a summary DataFrame (columns ``frequency``, ``monetary_value``) or on
        the two columns. ``progress`` shows a bar per optimizer iteration with the
        log-likelihood, as for :meth:`BGNBD.fit`.

        Raises
        ------
        tierkit.InvalidInputError
            For a non-positive monetary value of a repeat customer, naming the row.
        tierkit.NumericError
            When the fit does not converge (e.g. every customer spends the same).
        """
        if isinstance(frequency, pd.DataFrame):
            df = frequency
            for name in ("frequency", "monetary_value"):
                if name not in df.columns:
                    raise ColumnNotFoundError(
                        f"summary: unknown column '{name}'; available: {', '.join(map(str, df.columns))}"
                    )
            frequency, monetary_value = df["frequency"], df["monetary_value"]
            if weights is None and "weights" in df.columns:
                weights = df["weights"]
        if monetary_value is None:
            raise InvalidInputError("fit: give a summary DataFrame or the frequency and monetary_value columns")
        state = _clv.SpendHistogram()
        state.update(
            _column(frequency, "frequency"),
            _column(monetary_value, "monetary_value"),
            None if weights is None else _column(weights, "weights"),
        )
        return self.fit_patterns(
            state.finalize(), initial_params=initial_params, max_iterations=max_iterations, tol=tol, progress=progress
        )

    def fit_patterns(
        self,
        patterns: Any,
        *,
        initial_params: Sequence[float] | None = None,
        max_iterations: int = 2000,
        tol: float = 1e-6,
        progress: bool | None = None,
    ) -> GammaGamma:
        """Fit on finalized ``SpendHistogram`` patterns; the options are :meth:`fit`'s."""
        with StageBars(progress, make=bar) as bars:
            self.params_object_, self._summary = _clv.fit_gamma_gamma(
                patterns,
                penalizer=float(self.penalizer_coef),
                max_iterations=int(max_iterations),
                gradient_tolerance=float(tol),
                initial_params=None if initial_params is None else [float(v) for v in initial_params],
                progress=bars.callback,
            )
        self.zero_repeat_customers_ = float(patterns.zero_repeat_customers)
        try:
            self.frequency_spend_correlation_ = float(_clv.frequency_spend_correlation(patterns))
        except ValueError:  # fewer than two distinct repeat customers
            self.frequency_spend_correlation_ = float("nan")
        return self

    from_params = _TransactionModel.__dict__["from_params"]
    _params = _TransactionModel._params
    _fit_summary = _TransactionModel._fit_summary
    params_ = _TransactionModel.params_
    log_likelihood_ = _TransactionModel.log_likelihood_
    standard_errors_ = _TransactionModel.standard_errors_
    variance_matrix_ = _TransactionModel.variance_matrix_
    summary = _TransactionModel.summary
    __repr__ = _TransactionModel.__repr__

    def conditional_expected_average_profit(self, frequency: ArrayLike, monetary_value: ArrayLike) -> Any:
        """Expected spend per transaction given the history (the population mean for
        customers without repeat purchases).

        Raises
        ------
        tierkit.NumericError
            When q <= 1: the population mean spend is then infinite.
        """
        (f, m), index, scalar = _prepare((frequency, "frequency"), (monetary_value, "monetary_value"))
        values = _clv.conditional_expected_average_spend(self._params(), f, m)
        return _result(values, index, scalar, "expected_spend")

    expected_spend = conditional_expected_average_profit

    def customer_lifetime_value(
        self,
        transaction_model: _TransactionModel,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        monetary_value: ArrayLike,
        months: int = 12,
        discount_rate: float = 0.01,
        time_unit: str | None = None,
        periods_per_month: float | None = None,
    ) -> Any:
        """Discounted CLV over ``months`` months, as lifetimes computes it: for each
        month i, expected spend x (E[X(i f)] - E[X((i-1) f)]) / (1 + discount_rate)**i
        with f the model's periods per month.

        The model's time unit comes from ``transaction_model.time_unit`` or
        ``time_unit`` (``"D"``: 30 per month, ``"W"``: 4.345, ``"M"``: 1, ``"H"``: 720), or
        ``periods_per_month`` directly. Unlike lifetimes there is no default: if none is
        known, InvalidInputError.

        Examples
        --------
        >>> import tierkit as tk
        >>> from tierkit import clv
        >>> s = tk.summarize(tk.datasets.synthetic(2000, seed=1), customer="customer",
        ...                  date="date", amount="amount")
        >>> bg = clv.BGNBD(time_unit="D").fit(s)
        >>> gg = clv.GammaGamma().fit(s)
        >>> value = gg.customer_lifetime_value(bg, s["frequency"], s["recency"], s["T"],
        ...                                    s["monetary_value"], months=12, discount_rate=0.01)
        >>> value.index.equals(s.index)
        True
        """
        (f, r, t, m), index, scalar = _prepare(
            (frequency, "frequency"), (recency, "recency"), (T, "T"), (monetary_value, "monetary_value")
        )
        # the fitted parameters carry the model's unit; the C++ core checks that an
        # explicit time_unit agrees with it
        values = _clv.customer_lifetime_value(
            transaction_model._params(),
            self._params(),
            f,
            r,
            t,
            m,
            months=int(months),
            monthly_discount_rate=float(discount_rate),
            time_unit=_unit(time_unit),
            periods_per_month=0.0 if periods_per_month is None else float(periods_per_month),
        )
        return _result(values, index, scalar, "clv")
