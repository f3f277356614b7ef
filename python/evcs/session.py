"""Sessions (units of work) and transactions (docs/architecture.md), synchronous API."""

from __future__ import annotations

import json
import uuid
from types import TracebackType
from typing import TYPE_CHECKING
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Type, TypeVar, Union

from . import _native, frames
from .branching import (
    Branch,
    Commit,
    EntityDiff,
    MergeResult,
    Resolutions,
    Tag,
    _branches,
    _commit,
    _commits,
    _merge_options_json,
    _merge_result,
    _optional_commit,
    _resolutions_json,
    _tag,
    _tags,
)
from .repository import (
    AsOf,
    Columns,
    HistoryPoint,
    Repository,
    _columns_json,
    _constraints_json,
    _micros,
)
from .result import Result, _as_result

if TYPE_CHECKING:
    import pandas  # type: ignore[import]  # Debian's pandas ships no type information

    from .model import Model, ModelRepository

__all__ = ["Session", "Transaction", "Params"]


def _key_json(columns: Sequence[str]) -> str:
    """A unique key's columns as the C ABI takes them: a JSON array of names."""
    if isinstance(columns, (str, bytes)):
        raise TypeError(f'a unique key is a list of columns (e.g. ["org_id", "code"]), not {columns!r}')
    return json.dumps(list(columns))


def _point_json(point: HistoryPoint, what: str) -> str:
    """A state of history as the C ABI takes it: a JSON string (a commit) or integer (micros)."""
    if isinstance(point, str):
        return json.dumps(point)
    micros = _micros(point, what)
    if micros is None:
        raise TypeError(f"{what} must be a commit (a str) or an instant, not None")
    return json.dumps(micros)


#: Values for the statement's $1, $2, ... placeholders, in order (docs/python.md lists types).
Params = Optional[Sequence[Any]]

T = TypeVar("T")
M = TypeVar("M", bound="Model")


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

    def execute_frame(self, sql: str, params: Params = None) -> "pandas.DataFrame":
        """Runs one statement like ``execute`` and returns its rows as a pandas DataFrame made
        from typed columns (no row objects on the way), with the dtypes of
        ``Repository.find_frame`` (docs/python.md, "DataFrames")."""
        return frames.query_frame(self._native.execute_columns(sql, params))

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

    # ---- versioned entities (docs/versioning.md) ----------------------------------------------------

    def create_entity_type(
        self,
        name: str,
        columns: Columns,
        unique: Optional[Sequence[Sequence[str]]] = None,
        checks: Optional[Mapping[str, str]] = None,
    ) -> None:
        """Declares an entity type; ``columns`` is an ordered mapping {name: PostgreSQL type}
        (e.g. ``{"name": "text not null", "budget": "numeric(14,2)"}``), (name, type) pairs, or
        {"name": ..., "type": ...} mappings (the C ABI's form).

        A column that refers to an entity of another type (or of its own) is given as
        ``{"references": "project", "on_delete": "restrict" | "cascade" | "set null"}``: on every
        branch, a live entity never refers to one that is deleted or absent there; a delete of
        the entity referred to is refused (restrict, the default), or deletes the referrers
        (cascade) or clears their reference (set null) in the same commit. ``unique`` lists keys
        (each a list of columns) unique among the live entities of each branch; ``checks`` maps
        names to SQL boolean expressions every version keeps. A commit that breaks one raises
        ``IntegrityError`` and writes nothing. Transactional: it lands with the commit."""
        self._native.create_entity_type(
            name, _columns_json(columns), _constraints_json(unique, checks)
        )

    def repository(self, entity_type: str) -> Repository:
        """The repository of one entity type, on this session's branch and transaction."""
        return Repository(self._native.repository(entity_type), entity_type)

    def models(self, model: Type[M]) -> "ModelRepository[M]":
        """The repository of a typed model's entity type (``evcs.Model``, docs/python.md):
        reads return instances of ``model``."""
        from .model import models  # imported on use: evcs.model imports engine, which imports us

        return models(self, model)

    def create_model(self, model: Type["Model"]) -> None:
        """Declares the entity type of a typed model (``create_entity_type`` with the columns,
        unique keys and checks the class declares). Transactional."""
        from .model import create_model  # on use, as in models()

        create_model(self, model)

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

    # Relation changes of an existing entity type (docs/relations.md). A rule added must hold
    # for the data already there, or IntegrityError names an entity that breaks it and nothing
    # changes. A new referencing column is add_column(type, column, "uuid") + add_reference.

    def add_reference(
        self, entity_type: str, column: str, references: str, on_delete: str = "restrict"
    ) -> None:
        """Makes a uuid column refer to entities of ``references``: every live entity of every
        branch must refer to an entity live there, and every version's value must name an
        entity of that type. ``on_delete``: "restrict", "cascade" or "set null". Transactional."""
        self._native.add_reference(entity_type, column, references, on_delete)

    def drop_reference(self, entity_type: str, column: str) -> None:
        """The column stays, holding its values, and no longer refers to anything."""
        self._native.drop_reference(entity_type, column)

    def alter_reference(self, entity_type: str, column: str, on_delete: str) -> None:
        """Changes what a delete of the entity referred to does to the entities referring to it."""
        self._native.alter_reference(entity_type, column, on_delete)

    def add_unique_key(self, entity_type: str, columns: Sequence[str]) -> None:
        """Adds a key unique among the live entities of each branch; refused when some branch
        already has two live entities sharing it."""
        self._native.add_unique_key(entity_type, _key_json(columns))

    def drop_unique_key(self, entity_type: str, columns: Sequence[str]) -> None:
        """Drops the unique key of exactly these columns, in this order."""
        self._native.drop_unique_key(entity_type, _key_json(columns))

    def add_check(self, entity_type: str, name: str, expression: str) -> None:
        """Adds a named check (a SQL boolean expression over the columns) every version keeps,
        history included; refused when a version breaks it. To change one, drop and add it."""
        self._native.add_check(entity_type, name, expression)

    def drop_check(self, entity_type: str, name: str) -> None:
        """Drops a check."""
        self._native.drop_check(entity_type, name)

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
        resolutions: Optional[Resolutions] = None,
    ) -> MergeResult:
        """Three-way merge of ``source``'s head into ``into`` (default: its parent; any branch
        sharing history with it: a parent into its branch, siblings), against the merge base of
        the two heads in the commit graph, committed as one transaction with ``message``
        (default "merge <source>"). ``resolutions`` settle conflicts one by one
        (``evcs.Resolution`` or mappings; one that meets no conflict is InvalidArgument and
        nothing is written); strategy "fail" raises MergeConflict (``.conflicts``) for any
        left and writes nothing, "theirs" / "ours" settle them toward the source / the target.
        ``commit`` of the result is None when there was nothing new to merge."""
        options = _merge_options_json(into, strategy, message, resolutions)
        return _merge_result(self._native.merge(source, options))

    def merge_preview(
        self,
        source: str,
        into: Optional[str] = None,
        strategy: str = "fail",
        resolutions: Optional[Resolutions] = None,
    ) -> MergeResult:
        """What ``merge`` with these arguments would write and the conflicts (each with its
        ``resolution``), writing nothing."""
        options = _merge_options_json(into, strategy, None, resolutions)
        return _merge_result(self._native.merge_preview(source, options))

    # ---- staged merges: conflicts one by one ----------------------------------------------

    def merge_start(
        self,
        source: str,
        into: Optional[str] = None,
        strategy: str = "fail",
        message: Optional[str] = None,
        resolutions: Optional[Resolutions] = None,
    ) -> MergeResult:
        """Starts a staged merge of ``source`` into ``into`` (default: its parent), pinned to
        the source's head: it is recorded (one per target branch, committed) and writes no
        version. Settle its conflicts with ``merge_resolve``, then ``merge_continue``, or
        ``merge_abort``. The result is the plan, as ``merge_status`` gives it."""
        options = _merge_options_json(into, strategy, message, resolutions)
        return _merge_result(self._native.merge_start(source, options))

    def merge_status(self, target: Optional[str] = None) -> MergeResult:
        """The staged merge into ``target`` (default: the session's branch) planned again
        against the target now: its changes, conflicts and their resolutions."""
        return _merge_result(self._native.merge_status(target))

    def merge_resolve(self, resolutions: Resolutions, target: Optional[str] = None) -> MergeResult:
        """Adds resolutions to the staged merge into ``target`` (default: the session's branch),
        replacing earlier ones for the same conflicts; each must meet a conflict found when the
        merge started (InvalidArgument otherwise, and nothing is recorded). Returns those
        conflicts with how each is now settled (the changes: ``merge_status``)."""
        return _merge_result(self._native.merge_resolve(_resolutions_json(resolutions), target))

    def merge_continue(
        self, target: Optional[str] = None, message: Optional[str] = None
    ) -> MergeResult:
        """Commits the staged merge into ``target`` (default: the session's branch) with
        ``message`` (default: the one given at start); MergeConflict while conflicts are
        unsettled (the staged merge stays)."""
        return _merge_result(self._native.merge_continue(target, message))

    def merge_abort(self, target: Optional[str] = None) -> None:
        """Forgets the staged merge into ``target`` (default: the session's branch); NotFound
        when there is none. Commits by itself, as the other staged-merge calls do."""
        self._native.merge_abort(target)

    # ---- the commit graph -------------------------------------------------------------------

    def commit_info(self, ref: str) -> Commit:
        """The commit ``ref`` names: its id, a unique prefix of at least four hex digits, a tag
        or a branch name (its head). NotFound for none."""
        return _commit(json.loads(self._native.commit_info(ref)))

    def merge_base(self, first: str, second: str) -> Optional[Commit]:
        """The merge base of two commits (refs): their nearest common ancestor in the commit
        graph, or None when they share no commit."""
        return _optional_commit(self._native.merge_base(first, second))

    def tag(self, name: str, commit: Optional[str] = None, message: Optional[str] = None) -> Tag:
        """Names ``commit`` (a ref; default: the head of the session's branch). A tag that
        exists is InvalidArgument (delete it first to move it). Transactional."""
        return _tag(json.loads(self._native.tag(name, commit, message)))

    def tags(self) -> List[Tag]:
        """Every tag, by name."""
        return _tags(self._native.tags())

    def delete_tag(self, name: str) -> None:
        """Removes a tag (NotFound for none); the commit stays. Transactional."""
        self._native.delete_tag(name)

    def revert_commit(
        self,
        commit: str,
        into: Optional[str] = None,
        strategy: str = "fail",
        message: Optional[str] = None,
        resolutions: Optional[Resolutions] = None,
    ) -> MergeResult:
        """A new commit on ``into`` (default: the session's branch) undoing ``commit`` field by
        field (a merge: relative to its first parent); fields changed since are conflicts,
        settled as a merge's. ``message`` default: "revert <id>: <its message>"."""
        options = _merge_options_json(into, strategy, message, resolutions)
        return _merge_result(self._native.revert_commit(commit, options))

    def cherry_pick(
        self,
        commit: str,
        into: Optional[str] = None,
        strategy: str = "fail",
        message: Optional[str] = None,
        resolutions: Optional[Resolutions] = None,
    ) -> MergeResult:
        """A new commit on ``into`` (default: the session's branch) applying ``commit``'s
        changes field by field; conflicts as a merge's. ``message`` default:
        "cherry-pick <id>: <its message>"."""
        options = _merge_options_json(into, strategy, message, resolutions)
        return _merge_result(self._native.cherry_pick(commit, options))

    def diff_history(
        self, from_: HistoryPoint, to: HistoryPoint, branch: Optional[str] = None
    ) -> List[EntityDiff]:
        """The entities that differ between two states of history, as ``diff`` gives them
        ("old" at ``from_``, "new" at ``to``). Each is a commit (a str: id, prefix, tag or
        branch) or an instant (aware datetime or UTC microseconds) of ``branch`` (default: the
        session's)."""
        return self._native.diff_history(
            _point_json(from_, "from_"), _point_json(to, "to"), branch
        )

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
