"""Backup and verified restore (docs/backup.md): ``backup``, ``restore``, ``verify_restore``.

``backup`` writes a pg_dump custom-format archive plus ``ARCHIVE.manifest.json``: the row count
and a checksum of every version table and evcs catalog table, taken in the archive's snapshot.
``restore`` loads it into an existing, empty database in one transaction and checks the
manifest; ``verify_restore`` checks it again. The engine does the work (docs/backup.md).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import List, Union

from . import _native

__all__ = ["BackupManifest", "TableChecksum", "backup", "restore", "verify_restore"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclasses.dataclass(frozen=True)
class TableChecksum:
    table: str  #: schema-qualified, e.g. "public.project_version"
    rows: int
    md5: str  #: over the md5 of each row's text form, in a fixed order


@dataclasses.dataclass(frozen=True)
class BackupManifest:
    archive: str  #: the archive's file name (the manifest sits next to it)
    server_version_num: int
    tables: List[TableChecksum]


def _manifest(text: str) -> BackupManifest:
    record = json.loads(text)
    return BackupManifest(
        archive=record["archive"],
        server_version_num=record["server_version_num"],
        tables=[TableChecksum(**table) for table in record["tables"]],
    )


def backup(url: str, archive: PathLike) -> BackupManifest:
    """Dumps the database at ``url`` into ``archive`` (overwritten) and writes its manifest."""
    return _manifest(_native.backup(url, os.fspath(archive)))


def restore(archive: PathLike, target_url: str) -> BackupManifest:
    """Restores ``archive`` into the empty database at ``target_url`` and verifies it;
    ``InvalidArgument`` when that database is not empty, ``Error`` naming the first table that
    does not match the manifest."""
    return _manifest(_native.restore(os.fspath(archive), target_url))


def verify_restore(archive: PathLike, target_url: str) -> BackupManifest:
    """Checks the database at ``target_url`` against the manifest of ``archive``."""
    return _manifest(_native.verify_restore(os.fspath(archive), target_url))
