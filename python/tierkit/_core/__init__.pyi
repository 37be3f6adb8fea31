# Type stubs for the C++ extension (the public API is the tierkit package): one
# module whose submodules pybind11 registers in sys.modules, so each has its stub.
from collections.abc import Callable

from . import clv as clv
from . import features as features
from . import fitting as fitting
from . import lifecycle as lifecycle
from . import model as model
from . import rules as rules
from . import scoring as scoring

#: ``progress(stage, done, total, values)``: called after every iteration of a long
#: fit (see tierkit/core/progress.hpp and tierkit.progress.StageBars); raising stops
#: the fit. A name of the stubs only (the extension takes any callable).
_ProgressCallback = Callable[[str, float, float, dict[str, float]], None]

class _Pybind11Type(type):
    """pybind11_builtins.pybind11_type: the metaclass of the classes the submodules define."""

#: tierkit's version, from tierkit/core/version.hpp.
__version__: str

class TierkitError(ValueError): ...
class InvalidInputError(TierkitError): ...
class ColumnNotFoundError(TierkitError, KeyError): ...
class PolicyError(TierkitError): ...
class FormatError(TierkitError): ...
class NumericError(TierkitError): ...
