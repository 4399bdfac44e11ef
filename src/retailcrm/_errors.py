"""The one exception family of retailcrm, and its warning class.

Every error the library raises on purpose derives from :class:`RetailCRMError`, and also from
the built-in class that describes it (``ValueError`` for bad columns, rows and arguments,
``TypeError`` for an unsupported kind of input, ``RuntimeError`` for a fit that fails), so
``except ValueError`` in existing code keeps working.
"""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "ColumnError",
    "ConvergenceError",
    "DataError",
    "InputTypeError",
    "MissingDependencyError",
    "RetailCRMError",
    "RetailCRMWarning",
]


class RetailCRMError(Exception):
    """Root of every error raised on purpose by retailcrm."""


class ColumnError(RetailCRMError, ValueError):
    """A column is missing, unknown, or of a dtype the function cannot use."""


class DataError(RetailCRMError, ValueError):
    """Rows hold values the function cannot use (nulls, NaN, impossible combinations)."""


class ArgumentError(RetailCRMError, ValueError):
    """A keyword argument is out of range or not one of the allowed choices."""


class InputTypeError(RetailCRMError, TypeError):
    """The object passed is not a kind of frame the function accepts."""


class MissingDependencyError(RetailCRMError, ImportError):
    """An optional dependency (an extra such as ``plot`` or ``spark``) is not installed."""


class ConvergenceError(RetailCRMError, RuntimeError):
    """A model fit did not converge."""


class RetailCRMWarning(UserWarning):
    """Something worth knowing about a result: empty score bins, a singular Hessian, ..."""
