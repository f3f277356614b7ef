"""Engine (a connection pool, docs/architecture.md) and the embedded default server (docs/embedded.md)."""

from __future__ import annotations

import logging
from types import TracebackType
import asyncio
from typing import Any, List, NamedTuple, Optional, Tuple, Type, Union

from . import _native
from .aio import AsyncSession
from .result import Result, _as_result
from .session import Params, Session

__all__ = ["Engine", "PoolStatus", "EmbeddedServer", "embedded"]

#: Echoed statements (``Engine(echo=True)``) are logged here at INFO.
ENGINE_LOGGER = logging.getLogger("evcs.engine")


class PoolStatus(NamedTuple):
    size: int  #: connections kept (idle + in use)
    checked_out: int
    overflow: int  #: temporary connections beyond pool_size in use


def _option_text(value: Union[None, bool, int, float, str]) -> str:
    """The C ABI's text form of an option value; the C layer validates it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _echo_to_logger() -> None:
    # Like SQLAlchemy's echo=True: visible without any logging setup, configurable with it.
    if ENGINE_LOGGER.level == logging.NOTSET or ENGINE_LOGGER.level > logging.INFO:
        ENGINE_LOGGER.setLevel(logging.INFO)
    if not ENGINE_LOGGER.hasHandlers():
        ENGINE_LOGGER.addHandler(logging.StreamHandler())


class Engine:
    """A thread-safe connection pool. Without a URL: ``DATABASE_URL``, else the embedded server.

    Knobs are SQLAlchemy's: ``pool_size`` kept connections plus up to ``max_overflow``
    temporary ones; a checkout waits at most ``pool_timeout`` seconds (then PoolTimeout);
    ``pool_recycle`` seconds replaces old connections (None: never); ``pool_pre_ping`` checks a
    connection at checkout; ``echo`` logs each statement to the "evcs.engine" logger.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        *,
        pool_size: int = 10,
        max_overflow: int = 20,
        pool_timeout: float = 30.0,
        pool_recycle: Optional[float] = None,
        pool_pre_ping: bool = True,
        echo: bool = False,
        statement_cache_size: int = 100,
        application_name: str = "evcs",
    ) -> None:
        options: List[Tuple[str, str]] = [
            ("pool_size", _option_text(pool_size)),
            ("max_overflow", _option_text(max_overflow)),
            ("pool_timeout", _option_text(pool_timeout)),
            ("pool_recycle", _option_text(pool_recycle)),
            ("pool_pre_ping", _option_text(pool_pre_ping)),
            ("echo", _option_text(echo)),
            ("statement_cache_size", _option_text(statement_cache_size)),
            ("application_name", _option_text(application_name)),
        ]
        if url is not None:
            options.insert(0, ("url", url))
        self._native = _native.Engine(options)
        if echo:
            _echo_to_logger()
            self._native.set_log_sink(ENGINE_LOGGER.info)

    @property
    def url(self) -> str:
        """The URL connected to, password masked."""
        return self._native.url

    def session(self, branch: str = "main", author: Optional[str] = None,
                autocommit: bool = False) -> Session:
        session = Session(self._native.session(branch, author))
        if autocommit:
            session.autocommit = True
        return session

    def async_session(self, branch: str = "main", author: Optional[str] = None) -> AsyncSession:
        return AsyncSession(self._native.session(branch, author))

    def execute(self, sql: str, params: Params = None) -> Result:
        """Runs one statement in autocommit mode, outside any session: a pooled connection runs
        it in its own transaction (one round trip, no BEGIN/COMMIT) and goes straight back to
        the pool. For one-off reads and self-contained writes; a unit of work of several
        statements belongs in a session."""
        return _as_result(self._native.execute(sql, params))

    def scalar(self, sql: str, params: Params = None) -> Any:
        """``execute`` returning the first column of the first row (None without rows)."""
        return self._native.scalar(sql, params)

    async def async_execute(self, sql: str, params: Params = None) -> Result:
        """``execute`` as an awaitable: the checkout and the statement never block the event
        loop, and any number may be in flight at once, sharing the pool (asyncpg's
        ``pool.fetch``)."""
        future = asyncio.get_running_loop().create_future()
        self._native.execute_async(sql, params, future.get_loop(), future)
        return _as_result(await future)

    async def async_scalar(self, sql: str, params: Params = None) -> Any:
        """``scalar`` as an awaitable (asyncpg's ``pool.fetchval``)."""
        future = asyncio.get_running_loop().create_future()
        self._native.scalar_async(sql, params, future.get_loop(), future)
        return await future

    def pool_status(self) -> PoolStatus:
        size, checked_out, overflow = self._native.pool_status()
        return PoolStatus(size, checked_out, overflow)

    def dispose(self) -> None:
        """Closes every idle pooled connection (in-use ones close when returned)."""
        self._native.dispose()

    def close(self) -> None:
        """Closes idle connections and releases the engine; open sessions keep working until
        they are closed. Idempotent."""
        self._native.close()

    @property
    def closed(self) -> bool:
        return self._native.closed

    def __enter__(self) -> "Engine":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return "<evcs.Engine (closed)>"
        return f"<evcs.Engine url={self.url!r}>"


class EmbeddedServer:
    """The process's embedded PostgreSQL server; it stops when its last user releases it."""

    def __init__(self, native: _native.Embedded) -> None:
        self._native = native

    @property
    def url(self) -> str:
        return self._native.url

    @property
    def data_dir(self) -> str:
        return self._native.data_dir

    @property
    def persist(self) -> bool:
        return self._native.persist

    def close(self) -> None:
        self._native.close()

    def __enter__(self) -> "EmbeddedServer":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()


def embedded(data_dir: Optional[str] = None, persist: bool = False) -> EmbeddedServer:
    """Starts (or joins) the embedded server. ``persist`` keeps ``data_dir`` after it stops."""
    options: List[Tuple[str, str]] = [("persist", _option_text(persist))]
    if data_dir is not None:
        options.append(("data_dir", data_dir))
    return EmbeddedServer(_native.Embedded(options))
