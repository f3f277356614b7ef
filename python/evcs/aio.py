"""Async sessions (docs/architecture.md): the same operations as awaitables.

Statements, commits and rollbacks queue work on the engine's I/O thread and await an asyncio
future. Completions are queued for the loop and wake it through an eventfd it watches
(``loop.add_reader``); the loop settles them in batches. The versioned operations (repositories,
entity types, branches, diff, merges, commits and tags) have no native async form yet: they run the
session's blocking call on a worker thread (``asyncio.to_thread``), which releases the GIL while it
waits. Either way the event loop never waits for the database. A pending call keeps the session in use: a second concurrent call on the same
session raises MisuseError (use one session per task). Cancelling the awaiting task does not
stop the statement already sent; the session stays in use until it finishes.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING
from typing import Any, Callable, Concatenate, Coroutine, Dict, Optional, ParamSpec, Type, TypeVar

from . import _native, frames
from .repository import Reference, Repository
from .result import Result, _as_result
from .session import Params, Session

if TYPE_CHECKING:
    import pandas  # type: ignore[import]  # Debian's pandas ships no type information

    from .model import AsyncModelRepository, Model

__all__ = ["AsyncSession", "AsyncTransaction", "AsyncRepository"]

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound="Model")


def _in_worker_thread(
    method: Callable[Concatenate[Any, P], R]
) -> Callable[Concatenate[Any, P], Coroutine[Any, Any, R]]:
    """The awaitable form of a blocking method of ``self._blocking`` (a Session or Repository):
    the same parameters, run on a worker thread."""

    async def call(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(lambda: method(self._blocking, *args, **kwargs))

    call.__name__ = method.__name__
    call.__qualname__ = method.__qualname__
    call.__doc__ = method.__doc__
    return call


class AsyncRepository:
    """The repository of an AsyncSession: Repository's operations as awaitables."""

    def __init__(self, blocking: Repository) -> None:
        self._blocking = blocking

    @property
    def entity_type(self) -> str:
        return self._blocking.entity_type

    @property
    def fields(self) -> Dict[str, str]:
        return self._blocking.fields

    @property
    def references(self) -> Dict[str, Reference]:
        return self._blocking.references

    create = _in_worker_thread(Repository.create)
    create_many = _in_worker_thread(Repository.create_many)
    update = _in_worker_thread(Repository.update)
    update_many = _in_worker_thread(Repository.update_many)
    delete = _in_worker_thread(Repository.delete)
    restore = _in_worker_thread(Repository.restore)
    revert = _in_worker_thread(Repository.revert)
    get = _in_worker_thread(Repository.get)
    get_at_commit = _in_worker_thread(Repository.get_at_commit)
    history = _in_worker_thread(Repository.history)
    versions = _in_worker_thread(Repository.versions)
    find = _in_worker_thread(Repository.find)
    find_frame = _in_worker_thread(Repository.find_frame)
    count = _in_worker_thread(Repository.count)
    exists = _in_worker_thread(Repository.exists)

    def __repr__(self) -> str:
        return f"<evcs.AsyncRepository {self.entity_type!r}>"


def _resolve(
    future: "asyncio.Future[Any]", exception: Optional[BaseException], value: Any, owner: object
) -> None:
    """Settles a future on its loop's thread (called by evcs._native's completion queue).

    ``owner`` is the native session or transaction of the call; it is passed only so that its
    last reference, if this is it, is dropped on this thread rather than the engine's.
    """
    if future.cancelled():
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(value)


_native.set_future_resolver(_resolve)


async def _completion(start: Callable[[asyncio.AbstractEventLoop, "asyncio.Future[Any]"], None]) -> Any:
    loop = asyncio.get_running_loop()
    future: "asyncio.Future[Any]" = loop.create_future()
    start(loop, future)
    return await future


class AsyncTransaction:
    """``async with session.begin():`` / ``begin_nested()``: commits on normal exit, rolls back
    when the block raises (the exception still propagates)."""

    def __init__(self, native: _native.Transaction) -> None:
        self._native = native

    @property
    def is_active(self) -> bool:
        return self._native.is_active

    async def commit(self) -> None:
        await _completion(self._native.commit_async)

    async def rollback(self) -> None:
        await _completion(self._native.rollback_async)

    async def __aenter__(self) -> "AsyncTransaction":
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        if not self._native.is_active:  # ended explicitly inside the block
            return
        if exc_type is None:
            await self.commit()
        else:
            await self.rollback()


class AsyncSession:
    """The async form of Session; belongs to one task at a time."""

    def __init__(self, native: _native.Session) -> None:
        self._native = native
        self._blocking = Session(native)

    async def repository(self, entity_type: str) -> AsyncRepository:
        """The repository of one entity type, on this session's branch and transaction."""
        return AsyncRepository(await asyncio.to_thread(self._blocking.repository, entity_type))

    async def models(self, model: Type[M]) -> "AsyncModelRepository[M]":
        """The repository of a typed model's entity type, its reads returning instances."""
        from .model import async_models  # imported on use, as in Session.models()

        return await async_models(self, model)

    create_model = _in_worker_thread(Session.create_model)
    create_entity_type = _in_worker_thread(Session.create_entity_type)
    add_column = _in_worker_thread(Session.add_column)
    drop_column = _in_worker_thread(Session.drop_column)
    rename_column = _in_worker_thread(Session.rename_column)
    add_reference = _in_worker_thread(Session.add_reference)
    drop_reference = _in_worker_thread(Session.drop_reference)
    alter_reference = _in_worker_thread(Session.alter_reference)
    add_unique_key = _in_worker_thread(Session.add_unique_key)
    drop_unique_key = _in_worker_thread(Session.drop_unique_key)
    add_check = _in_worker_thread(Session.add_check)
    drop_check = _in_worker_thread(Session.drop_check)
    create_branch = _in_worker_thread(Session.create_branch)
    branches = _in_worker_thread(Session.branches)
    lock_branch = _in_worker_thread(Session.lock_branch)
    unlock_branch = _in_worker_thread(Session.unlock_branch)
    archive_branch = _in_worker_thread(Session.archive_branch)
    diff = _in_worker_thread(Session.diff)
    merge = _in_worker_thread(Session.merge)
    merge_preview = _in_worker_thread(Session.merge_preview)
    merge_start = _in_worker_thread(Session.merge_start)
    merge_status = _in_worker_thread(Session.merge_status)
    merge_resolve = _in_worker_thread(Session.merge_resolve)
    merge_continue = _in_worker_thread(Session.merge_continue)
    merge_abort = _in_worker_thread(Session.merge_abort)
    commit_log = _in_worker_thread(Session.commit_log)
    commit_info = _in_worker_thread(Session.commit_info)
    merge_base = _in_worker_thread(Session.merge_base)
    tag = _in_worker_thread(Session.tag)
    tags = _in_worker_thread(Session.tags)
    delete_tag = _in_worker_thread(Session.delete_tag)
    revert_commit = _in_worker_thread(Session.revert_commit)
    cherry_pick = _in_worker_thread(Session.cherry_pick)
    diff_history = _in_worker_thread(Session.diff_history)

    @property
    def autocommit(self) -> bool:
        """Session.autocommit: outside begin(), each write commits by itself."""
        return self._blocking.autocommit

    @autocommit.setter
    def autocommit(self, on: bool) -> None:
        self._blocking.autocommit = on

    async def execute(self, sql: str, params: Params = None) -> Result:
        future = asyncio.get_running_loop().create_future()
        self._native.execute_async(sql, params, future.get_loop(), future)
        return _as_result(await future)

    async def execute_frame(self, sql: str, params: Params = None) -> "pandas.DataFrame":
        """Session.execute_frame as an awaitable (run on a worker thread)."""
        native = self._native
        return frames.query_frame(await asyncio.to_thread(native.execute_columns, sql, params))

    async def scalar(self, sql: str, params: Params = None) -> Any:
        """The first column of the first row, or None when there are no rows."""
        future = asyncio.get_running_loop().create_future()
        self._native.scalar_async(sql, params, future.get_loop(), future)
        return await future

    async def commit(self, message: Optional[str] = None) -> None:
        native = self._native
        await _completion(lambda loop, future: native.commit_async(message, loop, future))

    async def rollback(self) -> None:
        await _completion(self._native.rollback_async)

    async def close(self) -> None:
        await _completion(self._native.close_async)

    def begin(self) -> AsyncTransaction:
        # BEGIN is sent lazily with the next statement, so starting a transaction never waits.
        return AsyncTransaction(self._native.begin())

    def begin_nested(self) -> AsyncTransaction:
        return AsyncTransaction(self._native.begin_nested())

    @property
    def in_transaction(self) -> bool:
        return self._native.in_transaction

    @property
    def branch(self) -> str:
        return self._native.branch

    @property
    def author(self) -> Optional[str]:
        return self._native.author

    @property
    def backend_pid(self) -> int:
        return self._native.backend_pid

    async def __aenter__(self) -> "AsyncSession":
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        # A commit or rollback that succeeds has already returned the connection (the engine
        # ends the unit of work there), so close() is only needed when it failed.
        try:
            if exc_type is None:
                await self.commit()
            else:
                await self.rollback()
        except BaseException:
            await self.close()
            raise

    def __repr__(self) -> str:
        return f"<evcs.AsyncSession branch={self.branch!r} author={self.author!r}>"
