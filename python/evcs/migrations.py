"""Versioned schema migrations (docs/migrations.md): ``MigrationRunner`` and the shapes it returns.

A migrations directory holds numbered steps ``NNNN_slug.up.sql`` + ``NNNN_slug.down.sql``
(docs/migrations.md). The engine does the work; this module gives its JSON records Python
shapes (dataclasses, timestamps as aware UTC datetimes) and adds the optional progress bar.

Example::

    runner = evcs.MigrationRunner(engine, "migrations", author="alice")
    runner.upgrade()            # -> [MigrationStep(version=1, ...), ...]
    print(runner.upgrade_sql()) # offline: the SQL an upgrade would run, nothing changes
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import warnings
from types import TracebackType
from typing import Any, Callable, Dict, List, Optional, Type, Union

from . import _native
from .engine import Engine
from .repository import _datetime

__all__ = ["MigrationRunner", "MigrationStep", "AppliedMigration", "BatchProgress"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclasses.dataclass(frozen=True)
class MigrationStep:
    """A step of the migrations directory."""

    version: int
    slug: str
    name: str  #: "0003_create_task"
    up_path: str
    down_path: str
    checksum: str  #: SHA-256 (hex) of the up file, what the database records


@dataclasses.dataclass(frozen=True)
class AppliedMigration:
    """A step recorded as applied in the database (``evcs_migration``)."""

    version: int
    slug: str
    checksum: str
    applied_at: datetime.datetime
    duration_ms: int
    applied_by: str  #: the database user, plus " (author)" when the runner had one


@dataclasses.dataclass(frozen=True)
class BatchProgress:
    """Reported after every batch of a batched step (``-- evcs: batch``) that affected rows."""

    file: str  #: the step's file
    batch: int  #: from 1
    rows: int  #: rows of this batch
    total_rows: int  #: rows of the step so far


def _steps(text: str) -> List[MigrationStep]:
    return [MigrationStep(**record) for record in json.loads(text)]


def _applied(record: Dict[str, Any]) -> AppliedMigration:
    applied_at = _datetime(record["applied_at"])
    assert applied_at is not None
    return AppliedMigration(
        version=record["version"],
        slug=record["slug"],
        checksum=record["checksum"],
        applied_at=applied_at,
        duration_ms=record["duration_ms"],
        applied_by=record["applied_by"],
    )


class _ProgressBars:
    """One tqdm bar per batched step, counting rows; nothing at all when tqdm is absent."""

    def __init__(self) -> None:
        try:
            with warnings.catch_warnings():
                # Without ipywidgets, tqdm.auto warns in a notebook and falls back to the text
                # bar; the text bar is fine here, so the warning is noise.
                warnings.simplefilter("ignore")
                from tqdm.auto import tqdm  # type: ignore[import]
        except ImportError:
            self._tqdm: Optional[Callable[..., Any]] = None
        else:
            self._tqdm = tqdm
        self._bar: Any = None
        self._file: Optional[str] = None

    def update(self, progress: BatchProgress) -> None:
        if self._tqdm is None:
            return
        if progress.file != self._file:
            self.close()
            self._file = progress.file
            self._bar = self._tqdm(desc=os.path.basename(progress.file), unit=" rows")
        self._bar.update(progress.rows)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar = None
        self._file = None


class MigrationRunner:
    """Applies the steps of ``directory`` to ``engine``'s database.

    The directory is read and checked when the runner is made (``MigrationError`` naming the
    file otherwise). ``author`` is recorded next to the database user. ``on_batch`` is called
    with a :class:`BatchProgress` after every batch of a batched step; ``progress=True`` also
    shows a tqdm bar per batched step (silently none without tqdm); ``on_batch`` may also be
    set later as an attribute. An exception raised by ``on_batch`` (or Ctrl-C) stops the run:
    the batches committed so far stay, the step stays pending, and the exception propagates. Runners on one database are serialised by an advisory lock, across processes.
    The runner keeps the engine's connection pool alive until it is closed.
    """

    def __init__(
        self,
        engine: Engine,
        directory: PathLike,
        *,
        author: Optional[str] = None,
        on_batch: Optional[Callable[[BatchProgress], None]] = None,
        progress: bool = False,
    ) -> None:
        self._open(engine, os.fspath(directory), author, on_batch, progress)

    @classmethod
    def catalog(cls, engine: Engine, *, author: Optional[str] = None) -> "MigrationRunner":
        """The SDK's own catalog as a runner: its steps are compiled into the engine, recorded
        in ``evcs_catalog_migration`` apart from your own ``evcs_migration``, and every engine
        applies the pending ones on first use. ``current()`` is the catalog's version;
        ``directory`` is "evcs:catalog" and the steps' paths "evcs:catalog/NNNN_slug.up.sql"."""
        runner = cls.__new__(cls)
        runner._open(engine, None, author, None, False)
        return runner

    def _open(
        self,
        engine: Engine,
        directory: Optional[str],
        author: Optional[str],
        on_batch: Optional[Callable[[BatchProgress], None]],
        progress: bool,
    ) -> None:
        self._native = _native.MigrationRunner(engine._native, directory, author)
        self._on_batch = on_batch
        self._bars = _ProgressBars() if progress else None
        self._native.set_on_batch(self._report)

    def _report(self, file: str, batch: int, rows: int, total_rows: int) -> None:
        progress = BatchProgress(file, batch, rows, total_rows)
        if self._bars is not None:
            self._bars.update(progress)
        if self._on_batch is not None:
            self._on_batch(progress)

    @property
    def on_batch(self) -> Optional[Callable[[BatchProgress], None]]:
        """Called with a :class:`BatchProgress` after every batch of a batched step."""
        return self._on_batch

    @on_batch.setter
    def on_batch(self, callback: Optional[Callable[[BatchProgress], None]]) -> None:
        self._on_batch = callback

    @property
    def directory(self) -> str:
        return self._native.directory

    @property
    def steps(self) -> List[MigrationStep]:
        """Every step of the directory, in order."""
        return _steps(self._native.steps())

    def upgrade(self, target: Union[str, int] = "head") -> List[MigrationStep]:
        """Applies the steps after the current one up to ``target`` ("head", a version such as
        3 or "0003", or "+N"); returns the steps applied (none when already there)."""
        try:
            return _steps(self._native.upgrade(str(target)))
        finally:
            if self._bars is not None:
                self._bars.close()

    def downgrade(self, target: Union[str, int]) -> List[MigrationStep]:
        """Reverts applied steps, newest first, down to ``target`` ("base", a version, or
        "-N"); returns the steps reverted."""
        try:
            return _steps(self._native.downgrade(str(target)))
        finally:
            if self._bars is not None:
                self._bars.close()

    def upgrade_sql(self, target: Union[str, int] = "head") -> str:
        """Offline mode: exactly the SQL ``upgrade(target)`` would run now; changes nothing."""
        return self._native.upgrade_sql(str(target))

    def downgrade_sql(self, target: Union[str, int]) -> str:
        """Offline mode: exactly the SQL ``downgrade(target)`` would run now."""
        return self._native.downgrade_sql(str(target))

    def current(self) -> Optional[int]:
        """The newest applied version; None at base."""
        return self._native.current()

    def history(self) -> List[AppliedMigration]:
        """Applied steps, oldest first."""
        return [_applied(record) for record in json.loads(self._native.history())]

    def pending(self) -> List[MigrationStep]:
        """Steps not applied yet, in order."""
        return _steps(self._native.pending())

    def verify(self) -> None:
        """Raises ``MigrationError`` naming the file of an applied step that was edited or
        removed: applied migrations are never edited."""
        self._native.verify()

    def stamp(self, target: Union[str, int]) -> None:
        """Records ``target`` ("head", "base", a version) as current without running a step."""
        self._native.stamp(str(target))

    @staticmethod
    def new_step(directory: PathLike, message: str) -> str:
        """Writes the next-numbered empty pair for ``message`` into ``directory`` (created if
        missing) and returns the path of the up file; the slug is the message lowercased."""
        return _native.new_migration_step(os.fspath(directory), message)

    def close(self) -> None:
        """Releases the runner (and its hold on the engine). Idempotent."""
        self._native.close()

    @property
    def closed(self) -> bool:
        return self._native.closed

    def __enter__(self) -> "MigrationRunner":
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
            return "<evcs.MigrationRunner (closed)>"
        return f"<evcs.MigrationRunner directory={self.directory!r}>"

