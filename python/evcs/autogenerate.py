"""Migration autogenerate (docs/migrations.md): compare a declared schema file with the database and write
the next-numbered up/down step pair for review.

The schema file is JSON, the same file for every language (docs/migrations.md, "Autogenerate").
The engine does the comparison; this module gives its result a Python shape.

Example::

    result = evcs.autogenerate(engine, "add invoices", schema="schema.json")
    # or, from a document built in Python:
    result = evcs.autogenerate(engine, "add invoices", document={"entity_types": {...}})
    if result:                      # False when the database already matches: nothing written
        print(result.up_path)       # migrations/0004_add_invoices.up.sql
        for warning in result.warnings:
            print("review:", warning)
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, List, Mapping, Optional, Union

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
    engine: Engine,
    message: str,
    schema: Optional[PathLike] = None,
    directory: PathLike = "migrations",
    *,
    document: Union[Mapping[str, Any], str, None] = None,
) -> AutogenerateResult:
    """Compares the declared schema with ``engine``'s database and writes the next-numbered
    ``NNNN_slug.up.sql`` / ``.down.sql`` pair for ``message`` into ``directory``.

    The schema is the file at ``schema``, or ``document``: the same JSON document as a mapping
    (or its JSON text), e.g. built by a program from typed models. Give exactly one of them.

    Raises InvalidArgument naming the file (or "schema" for a document) and JSON path for a bad
    schema, and MigrationError when the database has not applied every step of ``directory``
    yet."""
    if (schema is None) == (document is None):
        raise TypeError("autogenerate() takes exactly one of schema (a file) and document")
    if document is not None:
        text = _native.migration_autogenerate_text(
            engine._native,
            message,
            document if isinstance(document, str) else json.dumps(document),
            os.fspath(directory),
        )
    else:
        assert schema is not None
        text = _native.migration_autogenerate(
            engine._native, message, os.fspath(schema), os.fspath(directory)
        )
    return AutogenerateResult(**json.loads(text))
