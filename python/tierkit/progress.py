"""Progress bars for long work driven from Python.

One switch for the whole package: the ``progress`` argument of a function when
given, else the environment variable ``TIERKIT_PROGRESS`` (``1``/``true``/``on``
or ``0``/``false``/``off``), else on only in an interactive session (a Jupyter
kernel, or a terminal on standard error). Scripts, CI logs and tests therefore
stay quiet unless asked. Bars are tqdm's (a widget in Jupyter,
text in a terminal or without ipywidgets); without tqdm installed, work runs
without a bar.

Examples
--------
>>> from tierkit.progress import progress
>>> sum(progress(range(4), desc="chunks", enabled=False))
6
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, Callable, TypeVar

from ._errors import InvalidInputError

__all__ = ["ENV", "StageBars", "bar", "enabled", "progress"]

ENV = "TIERKIT_PROGRESS"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

T = TypeVar("T")


def _in_jupyter() -> bool:
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipykernel always brings IPython
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _interactive() -> bool:
    if _in_jupyter():
        return True
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


def enabled(progress: bool | None = None) -> bool:
    """Whether to show progress bars: ``progress`` if given, else the environment
    variable ``TIERKIT_PROGRESS``, else whether the session is interactive.

    Raises
    ------
    tierkit.InvalidInputError
        When ``TIERKIT_PROGRESS`` holds something other than a yes/no word.

    Examples
    --------
    >>> import os
    >>> from tierkit.progress import enabled
    >>> os.environ["TIERKIT_PROGRESS"] = "1"
    >>> enabled(), enabled(False)
    (True, False)
    >>> del os.environ["TIERKIT_PROGRESS"]
    """
    if progress is not None:
        return bool(progress)
    value = os.environ.get(ENV)
    if value is not None:
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise InvalidInputError(
            f"environment variable {ENV}: expected 1/0, true/false, yes/no or on/off, got {value!r}"
        )
    return _interactive()


def _tqdm() -> Any:
    """tqdm's widget bar in Jupyter when ipywidgets is there, else its text bar
    (``tqdm.auto`` would warn about the missing widgets instead)."""
    try:
        from tqdm.std import tqdm
    except ImportError:
        return None
    if _in_jupyter():
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm as notebook_tqdm
        except ImportError:
            return tqdm
        return notebook_tqdm
    return tqdm


class _Silent:
    """The bar interface when no bar is shown."""

    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        pass

    def set_description(self, text: str, refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def progress(
    iterable: Iterable[T],
    *,
    total: int | None = None,
    desc: str | None = None,
    unit: str = "it",
    enabled: bool | None = None,
) -> Iterator[T]:
    """Iterate over ``iterable``, showing a bar when progress is enabled.

    Parameters
    ----------
    iterable : iterable
        The work items (chunks, periods, partitions...).
    total : int, optional
        Number of items when ``len(iterable)`` is not defined.
    desc, unit : str
        Label and unit shown on the bar.
    enabled : bool, optional
        Force the bar on or off; by default see :func:`enabled`.

    Returns
    -------
    An iterator over the same items.

    Examples
    --------
    >>> from tierkit.progress import progress
    >>> [x * 2 for x in progress([1, 2, 3], enabled=False)]
    [2, 4, 6]
    """
    tqdm = _tqdm() if _resolve(enabled) else None
    if tqdm is None:
        return iter(iterable)
    return iter(tqdm(iterable, total=total, desc=desc, unit=unit, leave=False))


def bar(
    total: int | float | None = None, *, desc: str | None = None, unit: str = "it", enabled: bool | None = None
) -> Any:
    """A bar to advance by hand (``with bar(n) as b: b.update(k)``), for work
    that is not a loop over items (bytes read, customers scored).

    Returns
    -------
    A tqdm bar, or a silent object with the same ``update``/``close`` methods.

    Examples
    --------
    >>> from tierkit.progress import bar
    >>> with bar(10, enabled=False) as b:
    ...     b.update(4)
    ...     b.update(6)
    >>> b.n
    10
    """
    tqdm = _tqdm() if _resolve(enabled) else None
    if tqdm is None:
        return _Silent()
    return tqdm(total=total, desc=desc, unit=unit, leave=False)


def _resolve(flag: bool | None) -> bool:
    return enabled(flag)


class StageBars:
    """Bars for the reports of a fit running in the C++ core: the ``progress``
    callable of ``tierkit._core`` fits, called after every iteration as
    ``callback(stage, done, total, values)``. Each stage (``"clv bg/nbd"``,
    ``"clv gamma-gamma"``, ``"kmeans"``) gets its own bar, advanced to ``done``
    out of ``total`` (the most iterations the stage may take: iterative fits
    usually stop earlier, when they converge), with ``values`` (the inertia and
    centroid shift of k-means, the log-likelihood of a CLV fit) as its postfix.

    Parameters
    ----------
    enabled : bool, optional
        Show the bars; by default see :func:`enabled`. When off, :attr:`callback`
        is None and the core makes no reports at all.
    make : callable, optional
        Builds a bar as :func:`bar` does (the default); ``make(total, desc=...,
        unit=..., enabled=True)``.

    Attributes
    ----------
    bars : list
        The bars made so far, one per stage, in order.

    Examples
    --------
    >>> from tierkit.progress import StageBars
    >>> with StageBars(enabled=False) as bars:
    ...     bars.callback is None
    True
    >>> with StageBars(enabled=True, make=lambda total, **kw: bar(total, enabled=False)) as bars:
    ...     for k in range(1, 4):
    ...         bars.callback("kmeans", k, 300, {"inertia": 10.0 / k, "shift": 0.0})
    >>> [b.n for b in bars.bars]
    [3]
    """

    def __init__(self, enabled: bool | None = None, *, make: Callable[..., Any] | None = None) -> None:
        self.enabled = _resolve(enabled)
        self._make = make if make is not None else bar
        self._stage: str | None = None
        self.bars: list[Any] = []

    @property
    def callback(self) -> Callable[[str, float, float, dict[str, float]], None] | None:
        """What to pass as ``progress=`` to the core: this object when enabled, else None."""
        return self if self.enabled else None

    def __call__(self, stage: str, done: float, total: float, values: dict[str, float]) -> None:
        if stage != self._stage:
            self.close()
            self._stage = stage
            self.bars.append(self._make(int(total) if total else None, desc=stage, unit="it", enabled=True))
        current = self.bars[-1]
        if total and getattr(current, "total", None) != int(total):
            current.total = int(total)  # a CLV fit moved on to another starting point, or the next group's kmeans
        if values:
            current.set_postfix_str(", ".join(f"{name}={value:.6g}" for name, value in values.items()), refresh=False)
        step = int(done) - current.n
        if step > 0:
            current.update(step)

    def close(self) -> None:
        """Close the bar of the current stage (the next report opens a new one).

        >>> bars = StageBars(enabled=True, make=lambda total, **kw: bar(total, enabled=False))
        >>> bars("kmeans", 1, 300, {})
        >>> bars.close()
        >>> bars("kmeans", 1, 300, {})
        >>> len(bars.bars)
        2
        """
        if self.bars and self._stage is not None:
            self.bars[-1].close()
        self._stage = None

    def __enter__(self) -> StageBars:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
