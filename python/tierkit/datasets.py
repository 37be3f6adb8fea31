"""Synthetic customer data (generated in C++, deterministic for a seed)."""

from __future__ import annotations

from typing import Any, Literal, overload

import pandas as pd

from . import _core
from ._convert import day_number, to_dates

__all__ = ["TYPE_NAMES", "synthetic"]

TYPE_NAMES = ["occasional", "regular", "loyal", "whale"]


@overload
def synthetic(
    n_customers: int = ...,
    seed: int = ...,
    *,
    start: Any = ...,
    days: int = ...,
    refund_rate: float = ...,
    threads: int = ...,
    return_customers: Literal[False] = ...,
) -> pd.DataFrame: ...
@overload
def synthetic(
    n_customers: int = ...,
    seed: int = ...,
    *,
    start: Any = ...,
    days: int = ...,
    refund_rate: float = ...,
    threads: int = ...,
    return_customers: Literal[True],
) -> tuple[pd.DataFrame, pd.DataFrame]: ...
@overload
def synthetic(
    n_customers: int = ...,
    seed: int = ...,
    *,
    start: Any = ...,
    days: int = ...,
    refund_rate: float = ...,
    threads: int = ...,
    return_customers: bool,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]: ...
def synthetic(
    n_customers: int = 10_000,
    seed: int = 42,
    *,
    start: Any = "2023-01-01",
    days: int = 730,
    refund_rate: float = 0.02,
    threads: int = 0,
    return_customers: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Transactions from a heterogeneous buy-till-you-die process.

    Four customer types (occasional 40%, regular 40%, loyal 17%, whale 3%).
    Each customer joins on a uniform day of the window with a first purchase,
    then buys as a Poisson process (gamma-distributed rate around the type's)
    and drops out after each purchase with a probability around the type's
    (geometric dropout). Spend is gamma around a gamma-distributed customer
    mean; margin is a type-dependent share; about ``refund_rate`` of purchases
    are partly refunded a few days later (negative amounts).

    Parameters
    ----------
    n_customers, seed : int
        Size and seed; the same seed gives the same data at any thread count.
    start, days : first day and length of the window.
    return_customers : also return one row per customer with the true ``type``
        and whether it was still ``alive`` at the end.

    Returns
    -------
    DataFrame with columns customer (int64, 1..n), date (datetime64), amount,
    margin, quantity; sorted by customer then date.

    Examples
    --------
    >>> import tierkit as tk
    >>> tx = tk.datasets.synthetic(100, seed=1)
    >>> list(tx.columns)
    ['customer', 'date', 'amount', 'margin', 'quantity']
    """
    out = _core.features.synthetic(
        int(n_customers), int(seed), day_number(start, "start"), int(days), float(refund_rate), int(threads)
    )
    tx = pd.DataFrame(
        {
            "customer": out["customer"],
            "date": to_dates(out["day"]),
            "amount": out["amount"],
            "margin": out["margin"],
            "quantity": out["quantity"],
        },
        copy=False,
    )
    if not return_customers:
        return tx
    customers = pd.DataFrame(
        {
            "type": pd.Categorical.from_codes(out["type"], categories=pd.Index(TYPE_NAMES)),
            "alive": out["alive"].astype(bool),
        },
        index=pd.Index(out["ids"], name="customer"),
    )
    return tx, customers
