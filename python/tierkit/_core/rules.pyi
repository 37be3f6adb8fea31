# tierkit._core.rules: the registry of tier rules.
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

def rule_kinds() -> list[str]: ...
def register_python_rule(
    key: str,
    call: Callable[
        [npt.NDArray[np.int64], dict[str, npt.NDArray[np.float64]], npt.NDArray[np.float64]], npt.NDArray[np.int32]
    ],
    reasons: Sequence[str],
) -> None: ...

#: The rfm_segments rule's default table as policy "segments" entries:
#: {"name": str, "r"/"f"/"m"/"fm": (lo, hi)}.
def default_rfm_segments() -> list[dict[str, str | tuple[float, float]]]: ...
