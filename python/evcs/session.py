"""Sessions (units of work) and transactions (SPEC §2), synchronous API."""

from __future__ import annotations

import json
import uuid
from types import TracebackType
from typing import Any, Callable, Dict, List, Optional, Sequence, Type, TypeVar, Union

from . import _native
from .branching import (
    Branch,
    Commit,
    EntityDiff,
    MergeResult,
    _branches,
    _commits,
    _merge_result,
)
from .repository import AsOf, Columns, Repository, _columns_json, _micros
from .result import Result, _as_result

__all__ = ["Session", "Transaction", "Params"]

#: Values for the statement's $1, $2, ... placeholders, in order (docs/python.md lists types).
Params = Optional[Sequence[Any]]

T = TypeVar("T")


class Transaction:
    """An explicit transaction (``session.begin()``) or a savepoint (``begin_nested()``).

    As a context manager it commits when the block ends normally and rolls back when it raises;
    the exception still propagates.
    """

    def __init__(self, native: _native.Transaction) -> None:
        self._native = native

    @property
    def is_active(self) -> bool:
        return self._native.is_active

    def commit(self) -> None:
        self._native.commit()

    def rollback(self) -> None:
        self._native.rollback()

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        if not self._native.is_active:  # ended explicitly inside the block
            return
        if exc_type is None:
            self._native.commit()
        else:
            self._native.rollback()


class Session:
    """A unit of work on one branch. Belongs to one thread at a time (docs/python.md).

    The first statement checks out a connection and begins a transaction implicitly. As a
    context manager it commits when the block ends normally, rolls back when it raises, and
    always returns its connection to the pool.
    """

    def __init__(self, native: _native.Session) -> None:
        self._native = native

    def execute(self, sql: str, params: Params = None) -> Result:
        """Runs one statement with server-side parameters ($1, $2, ...)."""
        return _as_result(self._native.execute(sql, params))

    def scalar(self, sql: str, params: Params = None) -> Any:
        """The first column of the first row, or None when there are no rows."""
        return self._native.scalar(sql, params)

    def commit(self, message: Optional[str] = None) -> None:
        """Commits; ``message`` is recorded in the commit log when versions were written."""
        self._native.commit(message)

    def rollback(self) -> None:
        self._native.rollback()

    def close(self) -> None:
        """Rolls back anything uncommitted and returns the connection; the session stays usable."""
        self._native.close()

    def begin(self) -> Transaction:
        return Transaction(self._native.begin())

    def begin_nested(self) -> Transaction:
        return Transaction(self._native.begin_nested())

    def run_in_transaction(self, fn: Callable[["Session"], T], attempts: int = 3) -> T:
        """Runs ``fn(session)`` in a transaction and commits, re-running all of it on failures the
        engine deems retryable (serialization failure, deadlock, connection lost before the
        outcome was in doubt), ``attempts`` times in all. Returns what the successful ``fn``
        returned; an exception of ``fn`` that ends the call is re-raised unchanged.
        """
        outcome: List[T] = []

        def body() -> None:
            outcome[:] = [fn(self)]

        self._native.run_in_transaction(body, attempts)
        return outcome[0]

    # ---- versioned entities (SPEC §3) ----------------------------------------------------

    def create_entity_type(self, name: str, columns: Columns) -> None:
        """Declares an entity type; ``columns`` is an ordered mapping {name: PostgreSQL type}
        (e.g. ``{"name": "text not null", "budget": "numeric(14,2)"}``), (name, type) pairs, or
        {"name": ..., "type": ...} mappings (the C ABI's form).
        Transactional: it lands with the commit."""
        self._native.create_entity_type(name, _columns_json(columns))

    def repository(self, entity_type: str) -> Repository:
        """The repository of one entity type, on this session's branch and transaction."""
        return Repository(self._native.repository(entity_type), entity_type)

    def add_column(
        self, entity_type: str, column: str, type: str, default: Optional[str] = None
    ) -> None:
        """Adds a column to an entity type, keeping every version (usable in a migration).

        ``type`` is a PostgreSQL type, optionally followed by "not null". Versions written before
        the column read None in it; ``default`` (a literal of the type) is what entities created
        afterwards get when they leave it out, and is required for a "not null" column of a type
        that has versions (they are given it). Transactional: it lands with the commit."""
        self._native.add_column(entity_type, column, type, default)

    def drop_column(self, entity_type: str, column: str) -> None:
        """Removes a column (and its values) from every version of an entity type; the versions
        stay. Transactional."""
        self._native.drop_column(entity_type, column)

    def rename_column(self, entity_type: str, column: str, new_name: str) -> None:
        """Renames a column of an entity type in every version; values and history are kept.
        Transactional."""
        self._native.rename_column(entity_type, column, new_name)

    def create_branch(
        self,
        name: str,
        from_branch: str = "main",
        mode: str = "snapshot",
        as_of: Optional[AsOf] = None,
    ) -> None:
        """A new branch reading through to ``from_branch`` without copies; ``mode`` "snapshot"
        reads the parent as of the fork point, "live" as of the requested instant. ``as_of``
        (an aware datetime or UTC microseconds) puts a snapshot branch's fork point at that past
        instant instead of this commit."""
        self._native.create_branch(name, from_branch, mode, _micros(as_of))

    def branches(self) -> List[Branch]:
        return _branches(self._native.branches())

    def commit_log(
        self,
        branch: Optional[str] = None,
        entity_type: Optional[str] = None,
        head_id: Optional[Union[str, uuid.UUID]] = None,
        limit: Optional[int] = None,
    ) -> List[Commit]:
        """The commit log, newest first; ``head_id`` (with ``entity_type``) keeps the commits
        that wrote that entity."""
        options: Dict[str, Any] = {"branch": branch, "entity_type": entity_type, "limit": limit,
                                   "head_id": None if head_id is None else str(head_id)}
        return _commits(self._native.commit_log(json.dumps(options)))

    def lock_branch(self, name: str) -> None:
        """A locked branch rejects writes with BranchLocked; reads still work."""
        self._native.lock_branch(name)

    def unlock_branch(self, name: str) -> None:
        self._native.unlock_branch(name)

    def archive_branch(self, name: str) -> None:
        """An archived branch stays read-only for good."""
        self._native.archive_branch(name)

    def diff(
        self, source: str, target: str = "main", as_of: Optional[AsOf] = None
    ) -> List[EntityDiff]:
        """Every entity that differs, from the source's point of view: dicts with entity_type,
        head_id, kind ("added", "deleted", "modified") and fields {name: {"old", "new"}}, the
        values typed as version fields are."""
        return self._native.diff(source, target, _micros(as_of))

    def merge(
        self,
        source: str,
        into: Optional[str] = None,
        strategy: str = "fail",
        message: Optional[str] = None,
    ) -> MergeResult:
        """Three-way merge of ``source`` into ``into`` (default: its parent), committed as one
        transaction with ``message`` (default "merge <source>"). strategy "fail" raises
        MergeConflict (``.conflicts``) and writes nothing; "theirs" / "ours" resolve conflicts
        toward the source / the target."""
        return _merge_result(self._native.merge(source, into, strategy, message))

    def merge_preview(
        self, source: str, into: Optional[str] = None, strategy: str = "fail"
    ) -> MergeResult:
        """What ``merge`` with ``strategy`` would write and the conflicts, writing nothing."""
        return _merge_result(self._native.merge_preview(source, into, strategy))

    @property
    def in_transaction(self) -> bool:
        return self._native.in_transaction

    @property
    def autocommit(self) -> bool:
        """Autocommit mode (psycopg's ``autocommit``): outside ``begin()``, each statement is its
        own transaction and each repository write commits by itself in one round trip, stamped
        by the write and logged without a message. ``create_branch``, ``merge`` and
        ``create_many`` still land whole; ``begin()`` opens a transaction as usual. Setting it
        while a transaction is in progress raises MisuseError."""
        return self._native.autocommit

    @autocommit.setter
    def autocommit(self, on: bool) -> None:
        self._native.autocommit = on

    @property
    def branch(self) -> str:
        return self._native.branch

    @property
    def author(self) -> Optional[str]:
        return self._native.author

    @property
    def backend_pid(self) -> int:
        """The server process of the checked-out connection; 0 when none is checked out."""
        return self._native.backend_pid

    def __enter__(self) -> "Session":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        try:
            if exc_type is None:
                self._native.commit(None)
            else:
                self._native.rollback()
        finally:
            self._native.close()

    def __repr__(self) -> str:
        return f"<evcs.Session branch={self.branch!r} author={self.author!r}>"
