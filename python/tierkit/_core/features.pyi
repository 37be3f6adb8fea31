# tierkit._core.features: transactions -> RFM features; use tierkit.features.
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _Pybind11Type

missing_id: int
missing_day: int

def summarize(
    customer: npt.NDArray[np.int64],
    day: npt.NDArray[np.int64],
    amount: npt.NDArray[np.float64],
    margin: npt.NDArray[np.float64] | None = ...,
    quantity: npt.NDArray[np.float64] | None = ...,
    as_of: int | None = ...,
    freq: str = ...,
    freq_multiplier: float = ...,
    trend_window: int = ...,
    windows: Sequence[int] = ...,
    trend_cap: float = ...,
    reject_invalid: bool = ...,
    ticks_per_day: int = ...,
) -> dict[str, Any]: ...
def days_from_ticks(ticks: npt.NDArray[np.int64], ticks_per_day: int) -> npt.NDArray[np.int64]: ...

class Summarizer(metaclass=_Pybind11Type):
    def __init__(
        self,
        as_of: int | None = ...,
        freq: str = ...,
        freq_multiplier: float = ...,
        trend_window: int = ...,
        windows: Sequence[int] = ...,
        trend_cap: float = ...,
        reject_invalid: bool = ...,
    ) -> None: ...
    def update(
        self,
        customer: npt.NDArray[np.int64],
        day: npt.NDArray[np.int64],
        amount: npt.NDArray[np.float64],
        margin: npt.NDArray[np.float64] | None = ...,
        quantity: npt.NDArray[np.float64] | None = ...,
        ticks_per_day: int = ...,
    ) -> None: ...
    def merge(self, other: Summarizer) -> None: ...
    def finalize(self) -> dict[str, Any]: ...
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes) -> Summarizer: ...
    def copy(self) -> Summarizer: ...
    @property
    def state_bytes(self) -> int: ...
    def map_ids(self, to: npt.NDArray[np.int64]) -> None: ...
    @property
    def transactions(self) -> int: ...
    @property
    def customers(self) -> int: ...
    @property
    def cells(self) -> int: ...

def synthetic(
    customers: int, seed: int, start_day: int, days: int, refund_rate: float, threads: int = ...
) -> dict[str, npt.NDArray[Any]]: ...
def days_from_civil(y: int, m: int, d: int, /) -> int: ...
