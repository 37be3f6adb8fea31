"""Arrow in and out through the Arrow PyCapsule interface, without linking Arrow.

Design notes
------------
- Intake: any object with ``__arrow_c_stream__`` (pyarrow Table and
  RecordBatchReader, polars DataFrame, DuckDB results...) or ``__arrow_c_array__``
  (pyarrow RecordBatch, struct arrays...). With pyarrow importable it imports the
  object (``pa.table``); without it, the Arrow C data interface structs behind the
  capsules are read here with ctypes (``engine="capsule"`` forces that path).
- Zero-copy: a numeric column held in one chunk without nulls becomes a read-only
  numpy view of the Arrow buffer. The view keeps the Arrow memory alive; the
  producer's release callback runs when the last view is gone. Strings,
  dictionaries, dates, columns with nulls or several chunks are converted once
  (a copy): ids and dates are small next to the numeric columns.
- Both engines give the same pandas dtypes: integers with nulls become float64
  with NaN, booleans with nulls object, date32 ``datetime64[ms]``, timestamps keep
  their unit and time zone, dictionaries become categoricals (ordered when the
  Arrow type is).
- Output: pandas by default; ``output="polars"`` builds a polars DataFrame from the
  numpy columns (ordered categoricals such as tiers become ``pl.Enum`` so the tier
  order survives), ``output="pyarrow"`` a ``pyarrow.Table``. A named or non-range
  index becomes the first column.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
import pandas as pd

from ._errors import InvalidInputError

__all__ = ["OUTPUTS", "as_frame", "convert_output", "is_arrow", "to_pandas"]

OUTPUTS = ("pandas", "polars", "pyarrow")


def is_arrow(obj: Any) -> bool:
    """Whether ``obj`` exports Arrow data through the PyCapsule interface.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from tierkit._arrow import is_arrow
    >>> is_arrow(pa.table({"a": [1.0]})), is_arrow([1.0])
    (True, False)
    """
    return hasattr(obj, "__arrow_c_stream__") or hasattr(obj, "__arrow_c_array__")


def _have_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def to_pandas(data: Any, *, index: str | None = None, engine: str = "auto") -> pd.DataFrame:
    """A pandas DataFrame from an Arrow PyCapsule exporter, numeric columns zero-copy.

    Parameters
    ----------
    data : object with ``__arrow_c_stream__`` or ``__arrow_c_array__``
        A pyarrow Table or RecordBatch, a polars DataFrame, a DuckDB result...
    index : str, optional
        Column to use as the index (it is removed from the columns) when present.
    engine : {"auto", "pyarrow", "capsule"}
        ``"auto"`` uses pyarrow when it is importable, else reads the C data
        interface structs directly (``"capsule"``).

    Returns
    -------
    DataFrame whose float/integer columns without nulls share the Arrow buffers
    (read-only views).

    Raises
    ------
    tierkit.InvalidInputError
        When ``data`` exports no Arrow data, or a column has a type tierkit cannot
        read (the message names the column and its Arrow format).

    Examples
    --------
    >>> import pyarrow as pa
    >>> from tierkit._arrow import to_pandas
    >>> t = pa.table({"customer": ["a", "b"], "revenue": [10.0, 20.0]})
    >>> df = to_pandas(t, index="customer", engine="capsule")
    >>> df["revenue"].tolist(), df.index.tolist()
    ([10.0, 20.0], ['a', 'b'])
    """
    if engine not in ("auto", "pyarrow", "capsule"):
        raise InvalidInputError(f"engine: must be 'auto', 'pyarrow' or 'capsule', got {engine!r}")
    if not is_arrow(data):
        raise InvalidInputError(
            f"data: expected an object with __arrow_c_stream__ or __arrow_c_array__, got {type(data).__name__}"
        )
    if engine == "pyarrow" or (engine == "auto" and _have_pyarrow()):
        columns = _columns_pyarrow(data)
    else:
        columns = _columns_capsule(data)
    frame = pd.DataFrame(dict(columns), copy=False) if columns else pd.DataFrame()
    if index is not None and index in frame.columns:
        frame = frame.set_index(index)
    return frame


def as_frame(data: Any, role: str, *, index: str | None = "customer") -> pd.DataFrame:
    """``data`` as a pandas DataFrame: DataFrames pass through unchanged; Arrow
    exporters (pyarrow, polars, DuckDB) are read zero-copy where possible, with the
    column ``index`` (default ``customer``) as the index; numpy structured arrays
    and dicts of columns are wrapped.

    Raises
    ------
    tierkit.InvalidInputError
        For anything else, naming ``role`` and the type received.

    Examples
    --------
    >>> import numpy as np
    >>> from tierkit._arrow import as_frame
    >>> rec = np.array([(1, 10.0), (2, 20.0)], dtype=[("customer", "i8"), ("revenue", "f8")])
    >>> as_frame(rec, "features")["revenue"].tolist()
    [10.0, 20.0]
    """
    if isinstance(data, pd.DataFrame):
        return data
    if is_arrow(data):
        return to_pandas(data, index=index)
    if isinstance(data, np.ndarray) and data.dtype.names:
        return pd.DataFrame(data)
    if isinstance(data, dict):
        return pd.DataFrame(data)
    raise InvalidInputError(
        f"{role}: expected a pandas DataFrame, an Arrow table (pyarrow, polars, DuckDB), a numpy structured "
        f"array or a dict of columns, got {type(data).__name__}"
    )


def convert_output(frame: pd.DataFrame, output: str | None) -> Any:
    """``frame`` as pandas (unchanged), polars or pyarrow.

    Raises
    ------
    tierkit.InvalidInputError
        For an unknown ``output``.
    ImportError
        When the requested library is not installed.

    Examples
    --------
    >>> import pandas as pd
    >>> from tierkit._arrow import convert_output
    >>> df = pd.DataFrame({"score": [1.0]}, index=pd.Index(["a"], name="customer"))
    >>> convert_output(df, "polars").columns
    ['customer', 'score']
    """
    if output is None or output == "pandas":
        return frame
    if output not in OUTPUTS:
        raise InvalidInputError(f"output: must be one of {', '.join(OUTPUTS)}, got {output!r}")
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    if output == "pyarrow":
        try:
            import pyarrow as pa
        except ImportError as exc:
            raise ImportError("output='pyarrow' needs pyarrow: pip install pyarrow") from exc
        return pa.Table.from_pandas(frame, preserve_index=False)
    try:
        import polars as pl
    except ImportError as exc:
        raise ImportError("output='polars' needs polars: pip install polars") from exc
    return pl.DataFrame([_polars_series(pl, str(name), frame[name]) for name in frame.columns])


def _polars_series(pl: Any, name: str, s: pd.Series) -> Any:
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = [str(c) for c in s.cat.categories]
        values = [None if c < 0 else cats[c] for c in s.cat.codes.to_numpy()]
        return pl.Series(name, values, dtype=pl.Enum(cats) if s.cat.ordered else pl.Categorical)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return (
            pl.Series(name, s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy())
            .dt.replace_time_zone("UTC")
            .dt.convert_time_zone(str(s.dt.tz))
        )
    if s.dtype.kind in "biufM":
        return pl.Series(name, s.to_numpy())
    return pl.Series(
        name, [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in s.astype(object).tolist()]
    )


# ---------------------------------------------------------------------------------
# pyarrow engine


def _columns_pyarrow(data: Any) -> list[tuple[str, Any]]:
    import pyarrow as pa

    if hasattr(data, "__arrow_c_stream__"):
        table = pa.table(data)
    else:
        table = pa.table(pa.record_batch(data))
    out = []
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        if (pa.types.is_integer(t) or pa.types.is_floating(t)) and col.null_count == 0:
            # One chunk: a read-only view of the Arrow buffer; several: one concatenation.
            values = col.chunk(0).to_numpy(zero_copy_only=True) if col.num_chunks == 1 else col.to_numpy()
            if col.num_chunks == 0:
                values = np.empty(0, dtype=t.to_pandas_dtype())
            out.append((name, values))
        else:
            try:
                out.append((name, col.to_pandas(date_as_object=False)))
            except (pa.ArrowNotImplementedError, pa.ArrowInvalid, TypeError) as exc:
                raise InvalidInputError(f"column '{name}': cannot read Arrow type {t} ({exc})") from None
    return out


# ---------------------------------------------------------------------------------
# capsule engine: the Arrow C data interface read with ctypes


class _ArrowSchema(ctypes.Structure):
    pass


class _ArrowArray(ctypes.Structure):
    pass


_ArrowSchema._fields_ = [
    ("format", ctypes.c_char_p),
    ("name", ctypes.c_char_p),
    ("metadata", ctypes.c_void_p),
    ("flags", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("children", ctypes.POINTER(ctypes.POINTER(_ArrowSchema))),
    ("dictionary", ctypes.POINTER(_ArrowSchema)),
    ("release", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
    ("private_data", ctypes.c_void_p),
]
_ArrowArray._fields_ = [
    ("length", ctypes.c_int64),
    ("null_count", ctypes.c_int64),
    ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)),
    ("children", ctypes.POINTER(ctypes.POINTER(_ArrowArray))),
    ("dictionary", ctypes.POINTER(_ArrowArray)),
    ("release", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
    ("private_data", ctypes.c_void_p),
]


class _ArrowArrayStream(ctypes.Structure):
    _fields_ = [
        ("get_schema", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)),
        ("get_next", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)),
        ("get_last_error", ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.c_void_p)),
        ("release", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
        ("private_data", ctypes.c_void_p),
    ]


_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]

_DICTIONARY_ORDERED = 1
_NUMERIC = {
    "c": np.int8,
    "C": np.uint8,
    "s": np.int16,
    "S": np.uint16,
    "i": np.int32,
    "I": np.uint32,
    "l": np.int64,
    "L": np.uint64,
    "e": np.float16,
    "f": np.float32,
    "g": np.float64,
}
_TIME_UNITS = {"s": "s", "m": "ms", "u": "us", "n": "ns"}
_STRINGS = ("u", "U", "vu")
# pandas' own dtype for strings ("str" from pandas 3, object before), as pyarrow's to_pandas gives.
_STRING_DTYPE = pd.Series(np.array(["a"], dtype=object)).dtype


def _move(capsule: Any, name: bytes, struct: Any) -> Any:
    """Take the struct out of a capsule (bitwise move, then mark the source
    released so the capsule's destructor leaves it alone), as the PyCapsule
    interface asks of a consumer that keeps the data."""
    address = _capsule_pointer(capsule, name)
    moved = struct()
    ctypes.memmove(ctypes.addressof(moved), address, ctypes.sizeof(struct))
    ctypes.memset(address + struct.release.offset, 0, ctypes.sizeof(ctypes.c_void_p))
    return moved


class _Owner:
    """Owns one moved ArrowArray; numpy views of its buffers hold a reference to it,
    so the producer's memory is released only when the last view is gone."""

    def __init__(self, array: _ArrowArray) -> None:
        self.array = array

    def __del__(self) -> None:
        if self.array.release:
            self.array.release(ctypes.addressof(self.array))


def _columns_capsule(data: Any) -> list[tuple[str, Any]]:
    if hasattr(data, "__arrow_c_stream__"):
        schema, chunks = _read_stream(data.__arrow_c_stream__())
    else:
        schema_capsule, array_capsule = data.__arrow_c_array__()
        schema = _ArrowSchema.from_address(_capsule_pointer(schema_capsule, b"arrow_schema"))
        chunks = [_Owner(_move(array_capsule, b"arrow_array", _ArrowArray))]
        return _struct_columns(schema, chunks)  # schema_capsule stays referenced until here
    try:
        return _struct_columns(schema, chunks)
    finally:
        if schema.release:
            schema.release(ctypes.addressof(schema))


def _read_stream(capsule: Any) -> tuple[_ArrowSchema, list[_Owner]]:
    stream = _move(capsule, b"arrow_array_stream", _ArrowArrayStream)
    address = ctypes.addressof(stream)

    def check(code: int, what: str) -> None:
        if code != 0:
            message = stream.get_last_error(address) if stream.get_last_error else None
            detail = message.decode("utf-8", "replace") if message else f"error code {code}"
            raise InvalidInputError(f"Arrow stream: {what} failed: {detail}")

    try:
        schema = _ArrowSchema()
        check(stream.get_schema(address, ctypes.addressof(schema)), "get_schema")
        chunks = []
        while True:
            array = _ArrowArray()
            check(stream.get_next(address, ctypes.addressof(array)), "get_next")
            if not array.release:
                break
            chunks.append(_Owner(array))
    finally:
        stream.release(address)
    return schema, chunks


def _struct_columns(schema: _ArrowSchema, chunks: list[_Owner]) -> list[tuple[str, Any]]:
    fmt = schema.format.decode()
    if fmt != "+s":
        raise InvalidInputError(f"Arrow data: expected a table (struct format '+s'), got format {fmt!r}")
    columns = []
    for j in range(schema.n_children):
        child = schema.children[j].contents
        name = child.name.decode() if child.name else str(j)
        parts = []
        for owner in chunks:
            top = owner.array
            if top.null_count > 0:
                raise InvalidInputError("Arrow data: the table has null rows at the top level")
            parts.append(_convert(child, top.children[j].contents, top.offset, top.length, owner, name))
        columns.append((name, _concat(parts, child, name)))
    return columns


def _concat(parts: list[Any], schema: _ArrowSchema, name: str) -> Any:
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return _convert_empty(schema, name)
    if all(isinstance(p, np.ndarray) for p in parts):
        return np.concatenate(parts)
    if all(isinstance(p, pd.Categorical) for p in parts):
        first = parts[0]
        if all(list(p.categories) == list(first.categories) for p in parts):
            codes = np.concatenate([p.codes for p in parts])
            return pd.Categorical.from_codes(codes, categories=first.categories, ordered=first.ordered)
        return pd.api.types.union_categoricals(parts, ignore_order=True)
    return pd.concat([pd.Series(p) for p in parts], ignore_index=True)


def _convert_empty(schema: _ArrowSchema, name: str) -> Any:
    fmt = schema.format.decode()
    if fmt in _NUMERIC:
        return np.empty(0, dtype=_NUMERIC[fmt])
    if fmt in _STRINGS:
        return pd.Series([], dtype=_STRING_DTYPE).array
    return pd.Series([], dtype=object)


def _buffer(array: _ArrowArray, i: int, owner: _Owner, dtype: Any, start: int, count: int) -> np.ndarray:
    """A read-only numpy view of ``count`` items of buffer ``i`` from item ``start``."""
    itemsize = np.dtype(dtype).itemsize
    address = array.buffers[i]
    if count == 0 or not address:
        return np.zeros(count, dtype=dtype)
    raw = (ctypes.c_char * ((start + count) * itemsize)).from_address(address)
    raw._tierkit_owner = owner  # keeps the Arrow memory alive
    view = np.frombuffer(raw, dtype=dtype, count=count, offset=start * itemsize)
    view.flags.writeable = False
    return view


def _bits(array: _ArrowArray, i: int, owner: _Owner, start: int, count: int) -> np.ndarray:
    first, last = start // 8, (start + count + 7) // 8
    raw = _buffer(array, i, owner, np.uint8, first, last - first)
    return np.unpackbits(raw, bitorder="little")[start - 8 * first : start - 8 * first + count].astype(bool)


def _valid(array: _ArrowArray, owner: _Owner, start: int, count: int) -> np.ndarray | None:
    """The validity mask, or None when every value is present."""
    if array.null_count == 0 or not array.buffers[0]:
        return None
    mask = _bits(array, 0, owner, start, count)
    return None if mask.all() else mask


def _convert(
    schema: _ArrowSchema, array: _ArrowArray, parent_offset: int, length: int, owner: _Owner, name: str
) -> Any:
    fmt = schema.format.decode()
    start = parent_offset + array.offset
    if schema.dictionary:
        codes = _convert_plain(fmt, array, start, length, owner, name)
        codes = np.where(np.isnan(codes), -1, codes).astype(np.int64) if codes.dtype.kind == "f" else codes
        dictionary = array.dictionary.contents
        values = _convert(schema.dictionary.contents, dictionary, 0, dictionary.length, owner, name)
        categories = pd.Index(np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values)
        return pd.Categorical.from_codes(
            np.asarray(codes, dtype=np.int64), categories=categories, ordered=bool(schema.flags & _DICTIONARY_ORDERED)
        )
    return _convert_plain(fmt, array, start, length, owner, name)


def _convert_plain(fmt: str, array: _ArrowArray, start: int, length: int, owner: _Owner, name: str) -> Any:
    valid = _valid(array, owner, start, length)
    if fmt in _NUMERIC:
        values = _buffer(array, 1, owner, _NUMERIC[fmt], start, length)
        if valid is None:
            return values
        out = values.astype(np.float64)
        out[~valid] = np.nan
        return out
    if fmt == "b":
        values = _bits(array, 1, owner, start, length)
        if valid is None:
            return values
        obj = values.astype(object)
        obj[~valid] = None
        return obj
    if fmt == "n":
        return np.full(length, None, dtype=object)
    if fmt in _STRINGS:
        strings = _strings(fmt, array, start, length, owner)
        if valid is not None:
            strings[~valid] = None
        return pd.Series(strings, dtype=_STRING_DTYPE).array
    if fmt in ("tdD", "tdm"):
        raw = _buffer(array, 1, owner, np.int32 if fmt == "tdD" else np.int64, start, length)
        values = raw.astype("datetime64[D]" if fmt == "tdD" else "datetime64[ms]").astype("datetime64[ms]")
        return _with_nat(values, valid)
    if fmt.startswith("ts") and len(fmt) >= 4 and fmt[2] in _TIME_UNITS and fmt[3] == ":":
        unit = _TIME_UNITS[fmt[2]]
        values = _with_nat(_buffer(array, 1, owner, np.int64, start, length).astype(f"datetime64[{unit}]"), valid)
        tz = fmt[4:]
        if not tz:
            return values
        return pd.Series(values).dt.tz_localize("UTC").dt.tz_convert(tz).array
    raise InvalidInputError(
        f"column '{name}': Arrow format {fmt!r} is not supported (numbers, booleans, "
        "strings, dictionaries, dates and timestamps are)"
    )


def _with_nat(values: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    if valid is None:
        return values
    out = values.copy()
    out[~valid] = np.datetime64("NaT")
    return out


def _strings(fmt: str, array: _ArrowArray, start: int, length: int, owner: _Owner) -> np.ndarray:
    out = np.empty(length, dtype=object)
    if length == 0:
        return out
    if fmt in ("u", "U"):
        offsets = _buffer(array, 1, owner, np.int32 if fmt == "u" else np.int64, start, length + 1)
        end = int(offsets[-1])
        data = ctypes.string_at(array.buffers[2], end) if end else b""
        for k in range(length):
            out[k] = data[offsets[k] : offsets[k + 1]].decode("utf-8")
        return out
    # string view: 16-byte views; short strings inline, long ones in variadic buffers.
    views = _buffer(array, 1, owner, np.uint8, 16 * start, 16 * length).reshape(length, 16)
    lengths = views[:, 0:4].copy().view(np.int32).ravel()
    buffer_index = views[:, 8:12].copy().view(np.int32).ravel()
    buffer_offset = views[:, 12:16].copy().view(np.int32).ravel()
    n_data = array.n_buffers - 3
    sizes: Any = _buffer(array, array.n_buffers - 1, owner, np.int64, 0, n_data) if n_data > 0 else []
    data_buffers = [ctypes.string_at(array.buffers[2 + b], int(sizes[b])) if sizes[b] else b"" for b in range(n_data)]
    for k in range(length):
        n = int(lengths[k])
        if n <= 12:
            out[k] = views[k, 4 : 4 + n].tobytes().decode("utf-8")
        else:
            o = int(buffer_offset[k])
            out[k] = data_buffers[int(buffer_index[k])][o : o + n].decode("utf-8")
    return out
