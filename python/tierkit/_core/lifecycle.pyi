# tierkit._core.lifecycle: migration between assignments; use tierkit.lifecycle.
# Tiers are int32 indices, stages int32 stage numbers (-1: none), customers int64 ids.
from typing import Any

import numpy as np
import numpy.typing as npt

_I64 = npt.NDArray[np.int64]
_I32 = npt.NDArray[np.int32]
_F64 = npt.NDArray[np.float64]

event_kinds: tuple[str, ...]
risk_kinds: tuple[str, ...]

def crosstab(
    a: _I32,
    categories_a: int,
    b: _I32,
    categories_b: int,
    values: _F64 | None = ...,
    name_a: str = ...,
    name_b: str = ...,
) -> dict[str, Any]: ...
def migration(
    customers: _I64, tier_before: _I32, tier_after: _I32, tiers: int, values: _F64 | None = ...
) -> dict[str, Any]: ...
def project(
    counts: _I64,
    tiers: int,
    periods: int,
    value_per_customer: _F64 | None = ...,
    entries: bool = ...,
    exits: bool = ...,
) -> dict[str, Any]: ...
def steady_state(counts: _I64, tiers: int, total: float, entries: bool = ..., exits: bool = ...) -> _F64: ...
def events(
    customers: _I64,
    tier_before: _I32,
    tier_after: _I32,
    stage_before: _I32 | None,
    stage_after: _I32 | None,
    tiers: int,
) -> tuple[_I64, npt.NDArray[np.int8]]: ...
def revenue_at_risk(
    customers: _I64, tier_before: _I32 | None, tier_after: _I32, stage_after: _I32 | None, tiers: int, values: _F64
) -> dict[str, Any]: ...
def risks(
    customers: _I64, tier_before: _I32 | None, tier_after: _I32, stage_after: _I32 | None, tiers: int
) -> npt.NDArray[np.int8]: ...
def win_back(
    customers: _I64,
    tier_before: _I32 | None,
    tier_after: _I32,
    stage_after: _I32 | None,
    tiers: int,
    values: _F64,
    n: int | None = ...,
) -> _I64: ...
