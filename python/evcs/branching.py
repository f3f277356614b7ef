"""Branches, diff and merge (SPEC §3.4, §3.5): ``Branch`` and ``MergeResult``.

The engine returns them as JSON text; this module gives them Python shapes (timestamps as aware
UTC datetimes) and adds no behaviour. evcs._native has already given the field values of diffs
and merges the Python types of their columns, as versions have them.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Dict, List, NamedTuple, Optional

from .repository import _datetime

__all__ = ["Branch", "Commit", "MergeResult", "EntityDiff", "MergeConflictInfo"]

#: One entity that differs: {"entity_type", "head_id", "kind" ("added", "deleted",
#: "modified"), "fields": {name: {"old": target's value, "new": source's value}}}; values are
#: typed by the field's column (numeric → Decimal, uuid → UUID, ...), as in a Version.
EntityDiff = Dict[str, Any]
#: {"entity_type", "head_id", "field" (a field, or "deleted" for delete-versus-modify),
#: "base", "ours" (the target's value), "theirs" (the source's value)}.
MergeConflictInfo = Dict[str, Any]


class Branch(NamedTuple):
    name: str
    parent: Optional[str]
    mode: str  # "snapshot" or "live"
    #: The instant of the parent a snapshot branch reads through to (moved by merges).
    fork_stamp: Optional[datetime.datetime]
    status: str  # "active", "locked" or "archived"
    created_at: datetime.datetime
    created_by: str


class Commit(NamedTuple):
    """One row of the commit log (SPEC §3.3): a transaction that wrote versions, created a
    branch or merged one."""

    id: int
    stamp: datetime.datetime  #: the valid_from of every version the commit wrote
    branch: str
    author: str
    message: str
    changes: int  #: versions written
    merged_from: Optional[str]  #: for a merge, the branch merged into ``branch``


class MergeResult:
    """What a merge wrote (or a preview would write) into the target, and the conflicts.

    ``stamp`` is the commit stamp of the merged versions; None for a preview.
    """

    __slots__ = ("changes", "conflicts", "stamp")

    def __init__(
        self,
        changes: List[EntityDiff],
        conflicts: List[MergeConflictInfo],
        stamp: Optional[datetime.datetime],
    ) -> None:
        self.changes = changes
        self.conflicts = conflicts
        self.stamp = stamp

    def __repr__(self) -> str:
        return (
            f"<evcs.MergeResult changes={len(self.changes)} conflicts={len(self.conflicts)} "
            f"stamp={self.stamp!r}>"
        )


def _branches(text: str) -> List[Branch]:
    branches: List[Branch] = []
    for record in json.loads(text):
        created_at = _datetime(record["created_at"])
        assert created_at is not None
        branches.append(
            Branch(
                name=record["name"],
                parent=record["parent"],
                mode=record["mode"],
                fork_stamp=_datetime(record["fork_stamp"]),
                status=record["status"],
                created_at=created_at,
                created_by=record["created_by"],
            )
        )
    return branches


def _commits(text: str) -> List[Commit]:
    commits: List[Commit] = []
    for record in json.loads(text):
        stamp = _datetime(record["stamp"])
        assert stamp is not None
        commits.append(Commit(record["id"], stamp, record["branch"], record["author"],
                              record["message"], record["changes"], record["merged_from"]))
    return commits


def _merge_result(record: Dict[str, Any]) -> MergeResult:
    return MergeResult(record["changes"], record["conflicts"], _datetime(record["stamp"]))
