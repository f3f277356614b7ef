"""The evcs error hierarchy (docs/errors.md), one class per C status code.

Every error carries ``code`` (a stable short name such as ``"pool_timeout"``), ``sqlstate``
(the server's SQLSTATE, or None), ``retryable`` (whether re-running the whole transaction may
succeed) and ``detail`` (parsed JSON, e.g. a merge conflict list, or None).

PEP 249 names are aliases of the class that matches their meaning; docs/python.md lists them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar, Dict, Optional, Type

from . import _native

if TYPE_CHECKING:
    from .branching import ConflictList

__all__ = [
    "Error",
    "NotFound",
    "Conflict",
    "MergeConflict",
    "ConcurrentModification",
    "BranchLocked",
    "IntegrityError",
    "InvalidArgument",
    "PoolTimeout",
    "ConnectionLost",
    "SerializationFailure",
    "MigrationError",
    "MisuseError",
    "DatabaseError",
    "OperationalError",
    "ProgrammingError",
    "DataError",
    "InterfaceError",
]


class Error(Exception):
    """Base class of every evcs failure."""

    #: The C status code of the class; run_in_transaction reports it back to the engine.
    _status: ClassVar[int] = _native.ERROR
    code: str = "error"
    #: Whether re-running the whole transaction may succeed, unless the engine says otherwise.
    _retryable_by_default: ClassVar[bool] = False

    def __init__(
        self,
        message: str = "",
        *,
        sqlstate: Optional[str] = None,
        retryable: Optional[bool] = None,
        detail: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.retryable = self._retryable_by_default if retryable is None else retryable
        self.detail = detail

    def __str__(self) -> str:
        if self.sqlstate:
            return f"{self.message} [{self.code}, SQLSTATE {self.sqlstate}]"
        return f"{self.message} [{self.code}]"


class NotFound(Error):
    _status = _native.ENOTFOUND
    code = "not_found"


class Conflict(Error):
    _status = _native.ECONFLICT
    code = "conflict"


class MergeConflict(Conflict):
    """A merge (revert, cherry-pick, continued staged merge) met conflicts that neither a
    resolution nor the strategy settles; ``detail`` lists them."""

    _status = _native.EMERGECONFLICT
    code = "merge_conflict"

    @property
    def conflicts(self) -> "ConflictList":
        """The conflicts nothing settles, one ``MergeConflictInfo`` (a dict: entity_type,
        head_id, field, base, ours, theirs, resolution, kind, constraint, other_type,
        other_head_id) each, violations of references, unique keys and checks among them;
        ``.to_pandas()`` gives a table."""
        from .branching import _conflicts  # branching imports this module

        if isinstance(self.detail, dict):
            return _conflicts(self.detail.get("conflicts", []))
        return _conflicts([])


class ConcurrentModification(Conflict):
    _status = _native.ECONCURRENT
    code = "concurrent_modification"


class BranchLocked(Error):
    _status = _native.ELOCKED
    code = "branch_locked"


class IntegrityError(Error):
    _status = _native.EINTEGRITY
    code = "integrity_error"


class InvalidArgument(Error, ValueError):
    _status = _native.EINVALID
    code = "invalid_argument"


class PoolTimeout(Error, TimeoutError):
    _status = _native.ETIMEOUT
    code = "pool_timeout"


class ConnectionLost(Error, ConnectionError):
    _status = _native.ECONNLOST
    code = "connection_lost"


class SerializationFailure(Error):
    _status = _native.ESERIALIZATION
    code = "serialization_failure"
    _retryable_by_default = True


class MigrationError(Error):
    _status = _native.EMIGRATION
    code = "migration_error"


class MisuseError(Error):
    """The API was used against its contract, e.g. one session from two threads at once."""

    _status = _native.EMISUSE
    code = "misuse"


# PEP 249 names, each an alias of the evcs class with that meaning.
DatabaseError = Error
OperationalError = ConnectionLost
ProgrammingError = InvalidArgument
DataError = InvalidArgument
InterfaceError = MisuseError

_CLASS_BY_STATUS: Dict[int, Type[Error]] = {
    cls._status: cls
    for cls in (
        Error,
        NotFound,
        Conflict,
        MergeConflict,
        ConcurrentModification,
        BranchLocked,
        IntegrityError,
        InvalidArgument,
        PoolTimeout,
        ConnectionLost,
        SerializationFailure,
        MigrationError,
        MisuseError,
    )
}


def _make_error(
    status: int,
    code: str,
    message: str,
    sqlstate: Optional[str],
    detail_json: str,
    retryable: bool,
) -> Error:
    """Builds the exception for a failed C call (called by evcs._native)."""
    cls = _CLASS_BY_STATUS.get(status, Error)
    error = cls(message, sqlstate=sqlstate, retryable=retryable, detail=json.loads(detail_json))
    error.code = code
    return error


_native.set_error_factory(_make_error)
