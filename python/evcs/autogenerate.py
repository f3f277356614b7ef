"""Migration autogenerate (SPEC §6): compare a declared schema file with the database and write
the next-numbered up/down step pair for review.

The schema file is JSON, the same file for every language (docs/migrations.md, "Autogenerate").
The engine does the comparison; this module gives its result a Python shape.

Example::

    result = evcs.autogenerate(engine, "add invoices", schema="schema.json")
    if result:                      # False when the database already matches: nothing written
        print(result.up_path)       # migrations/0004_add_invoices.up.sql
        for warning in result.warnings:
            print("review:", warning)
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import List, Optional, Union

from . import _native
from .engine import Engine

__all__ = ["AutogenerateResult", "autogenerate"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclasses.dataclass(frozen=True)
class AutogenerateResult:
    """What autogenerate found and wrote; falsy when nothing changed (and nothing was written)."""

    changes: List[str]  #: one line per change, in the order the up step applies them
    warnings: List[str]  #: things to review, e.g. a drop + add that may be a rename
    up_sql: str  #: the up step's content ("" when nothing changed)
    down_sql: str
    up_path: Optional[str]  #: the files written (None when nothing changed)
    down_path: Optional[str]

    def __bool__(self) -> bool:
        return bool(self.changes)


def autogenerate(
    engine: Engine, message: str, schema: PathLike, directory: PathLike = "migrations"
) -> AutogenerateResult:
    """Compares the declared ``schema`` file with ``engine``'s database and writes the
    next-numbered ``NNNN_slug.up.sql`` / ``.down.sql`` pair for ``message`` into ``directory``.

    Raises InvalidArgument naming the file and JSON path for a bad schema file, and
    MigrationError when the database has not applied every step of ``directory`` yet."""
    text = _native.migration_autogenerate(
        engine._native, message, os.fspath(schema), os.fspath(directory)
    )
    return AutogenerateResult(**json.loads(text))
