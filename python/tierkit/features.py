"""Per-customer features from transactions, and joining attribute tables."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import _core
from ._arrow import as_frame, convert_output
from ._convert import MISSING_DAY, MISSING_ID, IdCodec, column, day_number, float_array, read_day_ticks, to_dates
from ._errors import InvalidInputError
from .progress import bar

__all__ = ["Summarizer", "join", "summarize", "summarize_files"]

_FREQ_DAYS = {"D": 1, "W": 7}


def summarize(
    transactions: pd.DataFrame,
    customer: str = "customer",
    date: str = "date",
    amount: str = "amount",
    *,
    margin: str | None = None,
    quantity: str | None = None,
    as_of: Any = None,
    freq: str = "D",
    freq_multiplier: float = 1.0,
    unit: str | None = None,
    trend_window: int = 90,
    windows: Sequence[int] = (30, 90, 365),
    trend_cap: float = 10.0,
    errors: str = "raise",
    return_rejects: bool = False,
    output: str | None = None,
) -> Any:
    """One row per customer: RFM with lifetimes' conventions plus business measures.

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction: a pandas DataFrame, or any Arrow table (pyarrow
        Table, polars DataFrame, DuckDB result; numeric columns are read without
        a copy), a numpy structured array or a dict of columns.
    customer, date, amount : str
        Column names. Ids may be integers (int64 or uint64), strings or any
        other hashable values, and come back exactly as given; floats that are
        whole numbers within 2^53 are read as integer ids, other floats (1e20,
        2^53 + 2, 1.5) are kept as float ids. Missing ids (None, NaN, NA) are bad
        rows. Dates may be datetimes (time-zone-aware ones at their local time),
        strings or integer day numbers; a number in a column of date strings is an
        error. first_purchase and last_purchase are datetime64[ns], or
        datetime64[s] when a date lies outside 1677-09-22..2262-04-11.
        Negative amounts are refunds.
    margin, quantity : str, optional
        Columns summed into ``margin`` and ``quantity`` when given.
    as_of : date-like, optional
        End of observation; transactions after it are excluded (and counted in
        ``result.attrs["report"]``). Defaults to the last transaction's date.
    freq : {"D", "W", "M"}
        Period within which purchases are merged (weeks end on Sunday).
    freq_multiplier : float
        Divides recency and T, like lifetimes' ``freq_multiplier``.
    unit : {"D", "W"}, optional
        Shortcut for daily periods measured in days or weeks: ``unit="W"`` with
        ``freq="D"`` sets ``freq_multiplier=7``.
    trend_window : int
        Days per window of ``trend`` (latest window's revenue over the one before).
        With both windows empty the ratio is 0/0 and ``trend`` is 1; lifecycle
        stages read the trend only of customers who bought within
        ``lifecycle.active_days``, so keep that at most this window.
    trend_cap : float
        ``trend`` when the earlier window has no revenue and the latest has some,
        and the largest ``trend`` otherwise. Every customer whose first purchase
        falls in the latest window (a new one-time buyer too) gets the cap; as a
        score criterion, cap or transform it (e.g. ``"transform": "log1p"``).
    windows : sequence of int
        Day windows for ``revenue_<W>d`` and ``orders_<W>d``.
    errors : {"raise", "reject"}
        A bad row (missing id or date, unreadable date, NaN/inf amount) raises
        InvalidInputError naming the row, or with "reject" goes to the rejects;
        so does a customer whose sums overflow the largest double. A value
        that is not a number in a numeric column always raises, naming the
        column and row.
    return_rejects : bool
        Also return the rejects table (row, customer, reason): bad rows and
        customers with no purchase on or before ``as_of``.
    output : {"pandas", "polars", "pyarrow"}, optional
        Result type; polars and pyarrow get the customer id as the first column.

    Returns
    -------
    DataFrame indexed by customer id, sorted by id, with columns frequency,
    recency, T, monetary_value, days_since_last, orders, revenue, aov, [margin],
    [quantity], first_purchase, last_purchase, active_periods, trend and the
    windowed aggregates. ``attrs["report"]`` counts what happened to the rows.

    Examples
    --------
    >>> import pandas as pd, tierkit as tk
    >>> tx = pd.DataFrame({"customer": ["a", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-05"]),
    ...                    "amount": [10.0, 20.0, 5.0]})
    >>> f = tk.summarize(tx, as_of="2024-01-15", unit="W")
    >>> f.loc["a", ["frequency", "recency", "T", "monetary_value"]].tolist()
    [1.0, 1.0, 2.0, 20.0]
    """
    options = _core_options(as_of, freq, freq_multiplier, unit, trend_window, windows, trend_cap, errors)
    names = _Names(customer, date, amount, margin, quantity)
    transactions = as_frame(transactions, "transactions", index=None)
    ids = IdCodec(column(transactions, customer, "customer"), name=customer)
    ticks, per_day, dated, unreadable = read_day_ticks(column(transactions, date, "date"), date, errors)
    amounts, margins, quantities = names.numbers(transactions)
    try:
        out = _core.features.summarize(ids.codes, ticks, amounts, margins, quantities, *options, ticks_per_day=per_day)
    except InvalidInputError as exc:
        raise InvalidInputError(names.rename(_name_customer(str(exc), ids.decode_one))) from None
    return _result(out, ids.decode, ids.decode_one, dated, names, return_rejects, output, reasons=unreadable)


def _name_customer(message: str, decode_one: Any) -> str:
    """'customer 3: ...' from the core (an id code) -> the caller's id."""
    match = re.match(r"customer (-?\d+): ", message)
    if match is None:
        return message
    return f"customer {decode_one(int(match.group(1)))!r}: {message[match.end() :]}"


def _core_options(
    as_of: Any,
    freq: str,
    freq_multiplier: float,
    unit: str | None,
    trend_window: int,
    windows: Sequence[int],
    trend_cap: float,
    errors: str,
) -> tuple[int | None, str, float, int, list[int], float, bool]:
    """The checked options, in the order the core's summarize and Summarizer take them."""
    if errors not in ("raise", "reject"):
        raise InvalidInputError(f"errors: must be 'raise' or 'reject', got {errors!r}")
    if freq not in ("D", "W", "M"):
        raise InvalidInputError(f"freq: expected one of D, W, M (day, week, month), got {freq!r}")
    if unit is not None:
        if freq != "D" or unit not in ("D", "W"):
            raise InvalidInputError(f"unit: with freq='D' use unit 'D' or 'W', got freq={freq!r}, unit={unit!r}")
        freq_multiplier = float(_FREQ_DAYS[unit])
    as_of_day = None if as_of is None else day_number(as_of, "as_of")
    return (
        as_of_day,
        freq,
        float(freq_multiplier),
        int(trend_window),
        [int(w) for w in windows],
        float(trend_cap),
        errors == "reject",
    )


class _Names:
    """The caller's column names."""

    def __init__(self, customer: str, date: str, amount: str, margin: str | None, quantity: str | None) -> None:
        self.customer, self.date, self.amount, self.margin, self.quantity = customer, date, amount, margin, quantity

    def numbers(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        amounts = float_array(column(frame, self.amount, "amount"), self.amount)
        margins = float_array(column(frame, self.margin, "margin"), self.margin) if self.margin else None
        quantities = float_array(column(frame, self.quantity, "quantity"), self.quantity) if self.quantity else None
        return amounts, margins, quantities

    def used(self) -> list[str]:
        return [c for c in (self.customer, self.date, self.amount, self.margin, self.quantity) if c]

    def rename(self, message: str) -> str:
        return _name_columns(message, self.customer, self.date, self.amount, self.margin, self.quantity)


def _integer_ids(ids: list[Any]) -> bool:
    """Whether every id that is there is an integer (and at least one is missing,
    which would turn a plain column into floats)."""
    present = [v for v in ids if v is not None and not (isinstance(v, float) and np.isnan(v))]
    return len(present) < len(ids) and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and -(2**63) <= int(v) < 2**63 for v in present
    )


def _result(
    out: dict[str, Any],
    decode: Any,
    decode_one: Any,
    dated: bool,
    names: _Names,
    return_rejects: bool,
    output: str | None,
    sort_ids: bool = False,
    reasons: dict[int, str] | None = None,
) -> Any:
    """The feature DataFrame (and the rejects) from the core's summary dict. ``sort_ids``:
    the core's ids are codes in first-seen order, so sort the rows (and the
    customer-level rejects) by the decoded id."""
    cols = out["columns"]
    index = decode(out["ids"])
    features = pd.DataFrame({name: cols[name] for name in out["names"]}, index=index, copy=False)
    if sort_ids and len(index) > 1:
        features = features.iloc[index.argsort(kind="stable")]
    if dated:
        features["first_purchase"] = to_dates(features["first_purchase"].to_numpy())
        features["last_purchase"] = to_dates(features["last_purchase"].to_numpy())
    report = dict(out["report"])
    report["as_of"] = str(np.datetime64(report["as_of"], "D")) if dated else report["as_of"]
    features.attrs["report"] = report
    if not return_rejects:
        return convert_output(features, output)
    rj = out["rejects"]
    customers = [decode_one(int(c)) for c in rj["customer"]]
    rejects = pd.DataFrame(
        {
            "row": rj["row"],
            # Integer ids stay integers beside a missing one (nullable Int64, not 1.0 and
            # NaN); other ids beside a missing one (None) stay objects, as given.
            "customer": (
                pd.array(customers, dtype="Int64")
                if _integer_ids(customers)
                else pd.Series(customers, dtype=object)
                if None in customers
                else customers
            ),
            "reason": [
                names.rename(r) if not reasons or int(row) not in reasons else reasons[int(row)]
                for row, r in zip(rj["row"], rj["reason"])
            ],
        }
    )
    if sort_ids:
        rows = rejects[rejects["row"] >= 0]
        unread = rejects[rejects["row"] < 0]
        unread = unread.iloc[pd.Index(unread["customer"]).argsort(kind="stable")]
        rejects = pd.concat([rows, unread], ignore_index=True)
    return convert_output(features, output), convert_output(rejects, output)


class _StreamIds:
    """Customer ids across chunks: integers pass through; other ids (strings...) get
    codes in first-seen order that stay fixed from chunk to chunk."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.labels: list[Any] | None = None  # None: integer ids (or none seen yet)
        self.codes: dict[Any, int] = {}
        self.kind: str | None = None  # "int" or "labels" once a chunk was seen

    def _set_kind(self, kind: str) -> None:
        if self.kind is not None and self.kind != kind:
            raise InvalidInputError(
                f"column '{self.name}': integer ids in some chunks and other ids (strings...) in others; "
                f"read the column with one type (e.g. dtype={{'{self.name}': str}})"
            )
        self.kind = kind
        if kind == "labels" and self.labels is None:
            self.labels = []

    def encode(self, values: pd.Series) -> np.ndarray:
        codec = IdCodec(values, name=self.name)
        if codec.uniques is None:
            self._set_kind("int")
            return codec.codes
        self._set_kind("labels")
        lut = np.fromiter((self.code(u) for u in codec.uniques), dtype=np.int64, count=len(codec.uniques))
        missing = codec.codes == MISSING_ID
        return np.where(missing, MISSING_ID, lut[np.where(missing, 0, codec.codes)]).astype(np.int64)

    def known(self) -> int:
        return len(self.codes)

    def forget(self, kind: str | None, known: int) -> None:
        """Back to ``known`` labels and ``kind`` (undo a failed chunk)."""
        if self.labels is not None:
            for label in self.labels[known:]:
                del self.codes[label]
            del self.labels[known:]
            if kind is None:
                self.labels = None
        self.kind = kind

    def code(self, label: Any) -> int:
        code = self.codes.get(label)
        if code is None:
            code = self.codes[label] = len(self.codes)
            assert self.labels is not None  # codes are made only for label ids
            self.labels.append(label)
        return code

    def decode(self, codes: np.ndarray) -> pd.Index:
        index: pd.Index = pd.Index(codes if self.labels is None else pd.Index(self.labels).take(codes), name=self.name)
        return index

    def decode_one(self, code: int) -> Any:
        if code == MISSING_ID:
            return None
        return code if self.labels is None else self.labels[code]


class Summarizer:
    """:func:`summarize` in chunks: ``update`` with each chunk of transactions (files,
    partitions), ``merge`` the summarizers of several workers, and ``finalize`` into
    the same table ``summarize`` gives on all rows at once.

    Takes the same arguments as :func:`summarize` (without the transactions). Rows
    are numbered across chunks: the first row of a chunk follows the last row of the
    previous one, and ``merge`` puts the other summarizer's rows after this one's, so
    reject row numbers and error messages refer to the concatenation. Memory grows
    with customers (one cell per customer and active day), not with transactions.
    A Summarizer pickles (its state travels as bytes with a checksum), so Dask or
    Spark workers can ship it.

    Examples
    --------
    >>> import pandas as pd, tierkit as tk
    >>> tx = pd.DataFrame({"customer": ["a", "b", "a"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-08"]),
    ...                    "amount": [10.0, 5.0, 20.0]})
    >>> s = tk.Summarizer(as_of="2024-01-15", unit="W")
    >>> for part in (tx.iloc[:2], tx.iloc[2:]):
    ...     _ = s.update(part)
    >>> s.finalize().equals(tk.summarize(tx, as_of="2024-01-15", unit="W"))
    True
    """

    def __init__(
        self,
        customer: str = "customer",
        date: str = "date",
        amount: str = "amount",
        *,
        margin: str | None = None,
        quantity: str | None = None,
        as_of: Any = None,
        freq: str = "D",
        freq_multiplier: float = 1.0,
        unit: str | None = None,
        trend_window: int = 90,
        windows: Sequence[int] = (30, 90, 365),
        trend_cap: float = 10.0,
        errors: str = "raise",
        return_rejects: bool = False,
        output: str | None = None,
    ) -> None:
        self._options = _core_options(as_of, freq, freq_multiplier, unit, trend_window, windows, trend_cap, errors)
        self._names = _Names(customer, date, amount, margin, quantity)
        self._return_rejects = bool(return_rejects)
        self._output = output
        self._core = _core.features.Summarizer(*self._options)
        self._ids = _StreamIds(customer)
        self._dated: bool | None = None

    @property
    def transactions(self) -> int:
        """Rows seen so far."""
        return int(self._core.transactions)

    @property
    def customers(self) -> int:
        """Distinct customer ids seen so far."""
        return int(self._core.customers)

    @property
    def state_bytes(self) -> int:
        """Memory the core state holds (bytes): per customer about
        ``state_bytes / customers``. String ids add this object's id table."""
        return int(self._core.state_bytes)

    def update(self, transactions: Any) -> Summarizer:
        """Add a chunk of transactions (a pandas DataFrame or an Arrow table / record
        batch, polars DataFrame...). On an error (a bad row with ``errors="raise"``,
        a missing column) the summarizer is unchanged. Returns ``self``."""
        frame = as_frame(transactions, "transactions", index=None)
        names = self._names
        if len(frame) == 0:
            for c in names.used():
                column(frame, c, c)
            return self
        ids = self._ids
        kind, known = ids.kind, ids.known()
        try:
            codes = ids.encode(column(frame, names.customer, "customer"))
            dated: bool | None
            ticks, per_day, dated, _ = read_day_ticks(column(frame, names.date, "date"), names.date)
            if np.all(ticks == MISSING_DAY):
                dated = self._dated  # an all-missing date column (a CSV chunk of blanks) has no type
            if self._dated is not None and dated != self._dated:
                raise InvalidInputError(f"column '{names.date}': dates in some chunks and day numbers in others")
            amounts, margins, quantities = names.numbers(frame)
            try:
                self._core.update(codes, ticks, amounts, margins, quantities, ticks_per_day=per_day)
            except InvalidInputError as exc:
                raise InvalidInputError(names.rename(str(exc))) from None
        except BaseException:
            ids.forget(kind, known)  # the chunk's new ids: the state is as before the call
            raise
        self._dated = dated if dated is not None else self._dated
        return self

    def merge(self, other: Summarizer) -> Summarizer:
        """Add ``other``'s state (same arguments) after this one's rows; ``other`` is
        unchanged. Associative, so partial results combine in any grouping. Returns
        ``self`` (the merged summarizer)."""
        if not isinstance(other, Summarizer):
            raise InvalidInputError(f"merge: expected a tierkit Summarizer, got {type(other).__name__}")
        if (self._options, vars(self._names), self._return_rejects, self._output) != (
            other._options,
            vars(other._names),
            other._return_rejects,
            other._output,
        ):
            raise InvalidInputError("merge: the summarizers were made with different arguments")
        if self._dated is not None and other._dated is not None and self._dated != other._dated:
            raise InvalidInputError(f"column '{self._names.date}': dates in one summarizer, day numbers in the other")
        state = other._core
        if other._ids.kind is not None:
            self._ids._set_kind(other._ids.kind)
        if other._ids.labels:
            mapping = np.fromiter(
                (self._ids.code(u) for u in other._ids.labels), dtype=np.int64, count=len(other._ids.labels)
            )
            state = state.copy()
            state.map_ids(mapping)
        self._core.merge(state)
        if self._dated is None:
            self._dated = other._dated
        return self

    def finalize(self) -> Any:
        """The table :func:`summarize` returns for every row seen (with the rejects
        when ``return_rejects=True``). The summarizer stays usable."""
        out = self._core.finalize()
        return _result(
            out,
            self._ids.decode,
            self._ids.decode_one,
            bool(self._dated),
            self._names,
            self._return_rejects,
            self._output,
            sort_ids=self._ids.labels is not None,
        )

    def to_bytes(self) -> bytes:
        """The core state as bytes (envelope with magic, version, length and CRC-32);
        the Python-side settings travel with ``pickle``."""
        return self._core.to_bytes()

    def __reduce__(self) -> tuple[Any, ...]:
        settings = (
            self._options,
            vars(self._names),
            self._return_rejects,
            self._output,
            self._ids.kind,
            self._ids.labels,
            self._dated,
        )
        return (_restore_summarizer, (self._core.to_bytes(), settings))

    def __repr__(self) -> str:
        return f"<tierkit.Summarizer: {self.transactions} transactions, {self.customers} customers>"


def _restore_summarizer(state: bytes, settings: tuple[Any, ...]) -> Summarizer:
    options, names, return_rejects, output, kind, labels, dated = settings
    s = Summarizer.__new__(Summarizer)
    s._options = tuple(options)
    s._names = _Names(**names)
    s._return_rejects = return_rejects
    s._output = output
    s._core = _core.features.Summarizer.from_bytes(state)
    s._ids = _StreamIds(s._names.customer)
    s._ids.kind = kind
    if labels is not None:
        s._ids.labels = list(labels)
        s._ids.codes = {label: i for i, label in enumerate(labels)}
    s._dated = dated
    return s


_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".txt", ".tsv")


def summarize_files(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    customer: str = "customer",
    date: str = "date",
    amount: str = "amount",
    *,
    chunksize: int = 1_000_000,
    progress: bool | None = None,
    read_csv: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """:func:`summarize` over CSV and Parquet files read in chunks, so the
    transactions never have to fit in memory at once (the per-customer state does).

    Parameters
    ----------
    paths : path or list of paths
        ``.csv`` (also compressed, ``.tsv``/``.txt`` with ``read_csv={"sep": ...}``)
        read with ``pandas.read_csv(chunksize=...)``; ``.parquet``/``.pq`` read with
        ``pyarrow.parquet.ParquetFile.iter_batches``. Rows are numbered across the
        files in the order given, as if the files were one table.
    customer, date, amount, **kwargs
        As for :func:`summarize` (``margin``, ``as_of``, ``freq``, ``errors``,
        ``return_rejects``, ``output``...).
    chunksize : int
        Rows per chunk.
    progress : bool, optional
        Show a progress bar (rows read); by default only in an interactive session
        (see :mod:`tierkit.progress`).
    read_csv : dict, optional
        Extra keyword arguments for ``pandas.read_csv`` (``sep``, ``dtype``...).

    Returns
    -------
    The same table as ``summarize`` on the concatenated files.

    Examples
    --------
    >>> import os, tempfile, pandas as pd, tierkit as tk
    >>> tx = pd.DataFrame({"customer": [1, 2, 1], "date": ["2024-01-01", "2024-01-02", "2024-01-09"],
    ...                    "amount": [10.0, 5.0, 20.0]})
    >>> d = tempfile.mkdtemp()
    >>> tx.iloc[:2].to_csv(os.path.join(d, "a.csv"), index=False)
    >>> tx.iloc[2:].to_csv(os.path.join(d, "b.csv"), index=False)
    >>> f = tk.summarize_files([os.path.join(d, "a.csv"), os.path.join(d, "b.csv")], chunksize=1)
    >>> f.loc[1, ["frequency", "recency", "revenue"]].tolist()
    [1.0, 8.0, 30.0]
    """
    if isinstance(chunksize, bool) or not isinstance(chunksize, (int, np.integer)) or chunksize < 1:
        raise InvalidInputError(f"chunksize: must be a positive integer, got {chunksize!r}")
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = [Path(p) for p in paths]
    for p in files:
        if not _suffix_in(p, _PARQUET + _CSV):
            raise InvalidInputError(
                f"paths: {str(p)!r} is neither CSV ({', '.join(_CSV)}) nor Parquet ({', '.join(_PARQUET)})"
            )
        if not p.exists():
            raise InvalidInputError(f"paths: {str(p)!r} does not exist")
    s = Summarizer(customer, date, amount, **kwargs)
    columns = s._names.used()
    with bar(None, desc="summarize", unit="rows", enabled=progress) as b:
        for p in files:
            for chunk in _chunks(p, columns, int(chunksize), read_csv or {}):
                s.update(chunk)
                b.update(len(chunk))
    return s.finalize()


def _suffix_in(path: Path, suffixes: tuple[str, ...]) -> bool:
    name = path.name.lower()
    return any(name.endswith(x) for x in suffixes)


def _chunks(path: Path, columns: list[str], chunksize: int, read_csv: dict[str, Any]) -> Iterator[Any]:
    if _suffix_in(path, _PARQUET):
        import pyarrow.parquet as pq

        f = pq.ParquetFile(path)
        missing = [c for c in columns if c not in f.schema_arrow.names]
        if missing:
            raise InvalidInputError(
                f"{path}: unknown column '{missing[0]}'; available: {', '.join(f.schema_arrow.names)}"
            )
        yield from f.iter_batches(batch_size=chunksize, columns=columns)
        return
    options = {"usecols": lambda c: c in columns, **read_csv}
    with pd.read_csv(path, chunksize=chunksize, **options) as reader:
        yield from reader


def _name_columns(message: str, customer: str, date: str, amount: str, margin: str | None, quantity: str | None) -> str:
    """The core names its canonical columns; say the caller's names instead."""
    for canonical, actual in (
        ("customer", customer),
        ("date", date),
        ("amount", amount),
        ("margin", margin),
        ("quantity", quantity),
    ):
        if actual and actual != canonical:
            message = message.replace(f"column '{canonical}'", f"column '{actual}'")
    return message


def join(
    features: pd.DataFrame,
    attributes: pd.DataFrame,
    *,
    on: str | None = None,
    how: Literal["left", "inner", "outer"] = "left",
) -> pd.DataFrame:
    """Join attribute tables (credit rating, NPS, renewal rate...) to features by customer id.

    Parameters
    ----------
    features : DataFrame indexed by customer id (as ``summarize`` returns).
    attributes : DataFrame indexed by customer id, or with the id in column ``on``.
    how : {"left", "inner", "outer"}
        "left" keeps every customer of ``features``.

    Returns
    -------
    The joined DataFrame. ``attrs["join"]`` reports the ids found on one side only:
    ``only_in_features`` and ``only_in_attributes`` (lists) and their counts, so
    nothing is lost silently.

    Examples
    --------
    >>> import pandas as pd, tierkit as tk
    >>> f = pd.DataFrame({"revenue": [10.0, 20.0]}, index=pd.Index([1, 2], name="customer"))
    >>> a = pd.DataFrame({"nps": [9.0, 7.0]}, index=pd.Index([2, 3], name="customer"))
    >>> j = tk.join(f, a)
    >>> j.attrs["join"]["only_in_attributes"]
    [3]
    """
    if how not in ("left", "inner", "outer"):
        raise InvalidInputError(f"how: must be 'left', 'inner' or 'outer', got {how!r}")
    if on is not None:
        column(attributes, on, "on")
        attributes = attributes.set_index(on)
    if attributes.index.has_duplicates:
        dup = attributes.index[attributes.index.duplicated()].tolist()[0]
        raise InvalidInputError(f"attributes: customer id {dup!r} appears more than once")
    clash = [c for c in attributes.columns if c in features.columns]
    if clash:
        raise InvalidInputError(f"attributes: columns already in the features: {', '.join(map(str, clash))}")
    only_f = features.index.difference(attributes.index)
    only_a = attributes.index.difference(features.index)
    joined = features.join(attributes, how=how)
    joined.attrs["join"] = {
        "only_in_features": only_f.tolist(),
        "only_in_attributes": only_a.tolist(),
        "n_only_in_features": len(only_f),
        "n_only_in_attributes": len(only_a),
    }
    return joined
