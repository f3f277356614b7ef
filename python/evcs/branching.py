"""Branches, diff, merge and the commit graph (docs/versioning.md): ``Branch``,
``Commit``, ``Tag``, ``MergeResult``, its conflicts and the ``Resolution`` that settles one.

The engine returns them as JSON text; this module gives them Python shapes (timestamps as aware
UTC datetimes) and adds no behaviour. evcs._native has already given the field values of diffs
and merges the Python types of their columns, as versions have them.
"""

from __future__ import annotations

import dataclasses
import datetime
import html
import json
import uuid
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterable,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Union,
)

from .errors import InvalidArgument
from .repository import _datetime, _dumps

if TYPE_CHECKING:
    import pandas  # type: ignore[import]  # Debian's pandas ships no type information

__all__ = [
    "Branch",
    "Commit",
    "Tag",
    "MergeResult",
    "EntityDiff",
    "MergeConflictInfo",
    "ConflictList",
    "Resolution",
    "Resolutions",
]

#: One entity that differs: {"entity_type", "head_id", "kind" ("added", "deleted",
#: "modified"), "fields": {name: {"old": target's value, "new": source's value}}}; values are
#: typed by the field's column (numeric → Decimal, uuid → UUID, ...), as in a Version.
EntityDiff = Dict[str, Any]

#: Rows shown by ConflictList._repr_html_ before the "N more rows" footer.
HTML_ROW_LIMIT = 20


class Branch(NamedTuple):
    name: str
    parent: Optional[str]
    mode: str  # "snapshot" or "live"
    #: The instant the branch was forked from its parent at.
    fork_stamp: Optional[datetime.datetime]
    status: str  # "active", "locked" or "archived"
    created_at: datetime.datetime
    created_by: str
    #: The branch's last commit (before its first: the commit it was forked from), or None.
    head: Optional[str] = None
    #: The merge base with its parent: the fork point or the last merge in either direction.
    base: Optional[str] = None
    #: The stamp of ``base``.
    base_stamp: Optional[datetime.datetime] = None


class Commit(NamedTuple):
    """One commit of the commit graph (docs/versioning.md): a transaction that wrote versions or merged.

    Anything that takes a commit takes its ``id``, a unique prefix of at least four of its hex
    digits, a tag or a branch name (the branch's head)."""

    id: str  #: 40 hex digits
    #: The previous commit of its branch (or the commit the branch was forked from), then for a
    #: merge the source's head it merged.
    parents: List[str]
    stamp: datetime.datetime  #: the valid_from of every version the commit wrote
    branch: str
    author: str
    message: str
    changes: int  #: versions written
    merged_from: Optional[str]  #: for a merge, the branch merged into ``branch``


@dataclasses.dataclass(frozen=True)
class Tag:
    """A name for a commit (``Session.tag``); usable wherever a commit is."""

    name: str
    commit: str
    message: str
    created_at: datetime.datetime
    created_by: str


@dataclasses.dataclass(frozen=True, init=False)
class Resolution:
    """How to settle one conflict of a merge, revert or cherry-pick.

    ``take`` is "ours" (the target's value), "theirs" (the source's) or "value" (``value``,
    converted for the field's type as writes are: Decimal, UUID, date, aware datetime, bytes,
    ...). The pseudo-field "deleted" (delete versus modify) takes "ours" or "theirs". A
    violation (a reference, unique key or check the merged entity breaks) is settled by a
    resolution naming that entity and any of its fields, or "deleted" with "ours" / "theirs"
    (the whole entity as that side has it: "ours" does not bring it). ``head_id`` may be given
    as a ``uuid.UUID``; it is kept as its text."""

    entity_type: str
    head_id: str
    field: str
    take: str
    value: Any

    def __init__(
        self,
        entity_type: str,
        head_id: Union[str, uuid.UUID],
        field: str,
        take: str,
        value: Any = None,
    ) -> None:
        object.__setattr__(self, "entity_type", entity_type)
        text_id = str(head_id) if isinstance(head_id, uuid.UUID) else head_id
        object.__setattr__(self, "head_id", text_id)
        object.__setattr__(self, "field", field)
        object.__setattr__(self, "take", take)
        object.__setattr__(self, "value", value)

    def _record(self) -> Dict[str, Any]:
        record: Dict[str, Any] = {
            "entity_type": self.entity_type,
            "head_id": self.head_id,
            "field": self.field,
            "take": self.take,
        }
        if self.take == "value":
            record["value"] = self.value
        return record

    def _label(self) -> str:
        """The short form a conflicts table shows: "ours", "theirs" or "value <value>"."""
        if self.take != "value":
            return self.take
        return f"value {self.value!r}" if isinstance(self.value, str) else f"value {self.value}"


#: Resolutions as the merge methods take them: ``Resolution`` objects or mappings with the keys
#: entity_type, head_id, field, take and (for take "value") value.
Resolutions = Iterable[Union[Resolution, Mapping[str, Any]]]


def _resolution_records(resolutions: Resolutions) -> List[Dict[str, Any]]:
    if isinstance(resolutions, (str, bytes, Mapping, Resolution)):
        raise InvalidArgument(
            "resolutions must be an iterable of evcs.Resolution or mappings, not a single "
            f"{type(resolutions).__name__}"
        )
    records: List[Dict[str, Any]] = []
    for index, resolution in enumerate(resolutions):
        if isinstance(resolution, Resolution):
            records.append(resolution._record())
        elif isinstance(resolution, Mapping):
            record = dict(resolution)
            if isinstance(record.get("head_id"), uuid.UUID):
                record["head_id"] = str(record["head_id"])
            records.append(record)
        else:
            raise InvalidArgument(
                f"resolution {index} must be an evcs.Resolution or a mapping with entity_type, "
                f"head_id, field, take and value, not {type(resolution).__name__}"
            )
    return records


def _resolutions_json(resolutions: Resolutions) -> str:
    return _dumps(_resolution_records(resolutions))


def _merge_options_json(
    into: Optional[str],
    strategy: str,
    message: Optional[str],
    resolutions: Optional[Resolutions],
) -> str:
    """The merge options of the C ABI; resolution values go through the writes' encoder."""
    options: Dict[str, Any] = {"strategy": strategy}
    if into is not None:
        options["into"] = into
    if message is not None:
        options["message"] = message
    if resolutions is not None:
        options["resolutions"] = _resolution_records(resolutions)
    return _dumps(options)


class MergeConflictInfo(Dict[str, Any]):
    """One conflict: a dict {"entity_type", "head_id", "field" (a field, or "deleted" for
    delete-versus-modify), "base", "ours" (the target's value), "theirs" (the source's value),
    "resolution" (a ``Resolution``, or None while nothing settles it), "kind", "constraint",
    "other_type", "other_head_id"}, the same keys also as attributes. Values are typed by the
    field's column.

    ``kind`` is "field" (both sides changed the field), "delete" (delete versus modify), or a
    violation of the merged result: "reference" (the entity refers to one deleted or absent on
    the target), "referenced" (the entity is gone but others still refer to it, on_delete
    restrict), "unique" or "check". A violation names its ``constraint`` (the reference column,
    the key's columns, the check's name) and the other entity involved; a resolution naming the
    entity and any of its fields, or "deleted" (the whole entity as one side has it), settles
    it when the result it gives breaks no rule (docs/relations.md)."""

    __slots__ = ()

    @property
    def entity_type(self) -> str:
        return str(self["entity_type"])

    @property
    def head_id(self) -> str:
        return str(self["head_id"])

    @property
    def field(self) -> str:
        return str(self["field"])

    @property
    def base(self) -> Any:
        return self["base"]

    @property
    def ours(self) -> Any:
        return self["ours"]

    @property
    def theirs(self) -> Any:
        return self["theirs"]

    @property
    def resolution(self) -> Optional[Resolution]:
        resolution = self.get("resolution")
        return resolution if isinstance(resolution, Resolution) else None

    @property
    def kind(self) -> str:
        kind = self.get("kind")
        if kind is None:  # a conflict recorded before kinds existed
            return "delete" if self.get("field") == "deleted" else "field"
        return str(kind)

    @property
    def violation(self) -> bool:
        """Whether the merged result breaks a reference, a unique key or a check."""
        return self.kind not in ("field", "delete")

    @property
    def constraint(self) -> Optional[str]:
        return self.get("constraint")

    @property
    def other_type(self) -> Optional[str]:
        return self.get("other_type")

    @property
    def other_head_id(self) -> Optional[str]:
        return self.get("other_head_id")

    def _row(self) -> List[Any]:
        resolution = self.resolution
        return [
            self.get("entity_type"),
            self.get("head_id"),
            self.get("field"),
            self.get("base"),
            self.get("ours"),
            self.get("theirs"),
            None if resolution is None else resolution._label(),
            self.kind,
            self.constraint,
            self.other_type,
            self.other_head_id,
        ]


#: Columns of ConflictList.to_pandas.
_CONFLICT_COLUMNS = ["entity_type", "head_id", "field", "base", "ours", "theirs", "resolution",
                     "kind", "constraint", "other_type", "other_head_id"]


class ConflictList(List[MergeConflictInfo]):
    """The conflicts of a merge, with ``to_pandas()`` and notebook display (one row each; the
    resolution column reads "ours", "theirs", "value <value>" or None)."""

    def to_pandas(self) -> "pandas.DataFrame":
        import pandas

        return pandas.DataFrame.from_records(
            [conflict._row() for conflict in self], columns=_CONFLICT_COLUMNS
        )

    def _repr_html_(self) -> str:
        header = "".join(f"<th>{html.escape(name)}</th>" for name in _CONFLICT_COLUMNS)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td>{'' if cell is None else html.escape(str(cell))}</td>"
                for cell in conflict._row()
            )
            + "</tr>"
            for conflict in self[:HTML_ROW_LIMIT]
        )
        hidden = len(self) - HTML_ROW_LIMIT
        footer = f"<p>{hidden} more rows</p>" if hidden > 0 else ""
        return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>{footer}"


def _conflict(record: Mapping[str, Any]) -> MergeConflictInfo:
    conflict = MergeConflictInfo(record)
    resolution = conflict.get("resolution")
    if isinstance(resolution, Mapping):
        conflict["resolution"] = Resolution(
            entity_type=resolution["entity_type"],
            head_id=resolution["head_id"],
            field=resolution["field"],
            take=resolution["take"],
            value=resolution.get("value"),
        )
    return conflict


def _conflicts(records: Iterable[Mapping[str, Any]]) -> ConflictList:
    return ConflictList(_conflict(record) for record in records)


class MergeResult:
    """What a merge, revert or cherry-pick wrote (or a preview or staged merge would write)
    into ``target``, and the conflicts.

    ``stamp`` and ``commit`` are those of the commit written; None for a preview, a staged merge
    and a merge with nothing to do. ``source_commit`` is the commit merged (a merge: the
    source's head; a revert or cherry-pick: the commit applied), ``base_commit`` the merge base
    (None: the empty state), ``unresolved`` the number of conflicts nothing settles.
    """

    __slots__ = (
        "changes",
        "conflicts",
        "stamp",
        "target",
        "source_commit",
        "base_commit",
        "commit",
        "unresolved",
    )

    def __init__(
        self,
        changes: List[EntityDiff],
        conflicts: Iterable[Mapping[str, Any]],
        stamp: Optional[datetime.datetime],
        target: str = "",
        source_commit: Optional[str] = None,
        base_commit: Optional[str] = None,
        commit: Optional[str] = None,
        unresolved: Optional[int] = None,
    ) -> None:
        self.changes = changes
        self.conflicts: ConflictList = _conflicts(conflicts)
        self.stamp = stamp
        self.target = target
        self.source_commit = source_commit
        self.base_commit = base_commit
        self.commit = commit
        self.unresolved: int = (
            sum(1 for conflict in self.conflicts if conflict.resolution is None)
            if unresolved is None
            else unresolved
        )

    def conflicts_frame(self) -> "pandas.DataFrame":
        """The conflicts as a pandas DataFrame: entity_type, head_id, field, base, ours,
        theirs, resolution."""
        return self.conflicts.to_pandas()

    def _summary(self) -> str:
        written = f"commit {self.commit[:12]}" if self.commit else "no commit"
        return (
            f"into {self.target or '?'}: {len(self.changes)} change(s), "
            f"{len(self.conflicts)} conflict(s), {self.unresolved} unresolved, {written}"
        )

    def _repr_html_(self) -> str:
        summary = f"<p>evcs.MergeResult {html.escape(self._summary())}</p>"
        if not self.conflicts:
            return summary
        return summary + self.conflicts._repr_html_()

    def __repr__(self) -> str:
        return (
            f"<evcs.MergeResult target={self.target!r} changes={len(self.changes)} "
            f"conflicts={len(self.conflicts)} unresolved={self.unresolved} "
            f"commit={self.commit!r} stamp={self.stamp!r}>"
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
                head=record.get("head"),
                base=record.get("base"),
                base_stamp=_datetime(record.get("base_stamp")),
            )
        )
    return branches


def _commit(record: Mapping[str, Any]) -> Commit:
    stamp = _datetime(record["stamp"])
    assert stamp is not None
    return Commit(
        id=record["id"],
        parents=list(record["parents"]),
        stamp=stamp,
        branch=record["branch"],
        author=record["author"],
        message=record["message"],
        changes=record["changes"],
        merged_from=record["merged_from"],
    )


def _commits(text: str) -> List[Commit]:
    return [_commit(record) for record in json.loads(text)]


def _optional_commit(text: str) -> Optional[Commit]:
    record = json.loads(text)
    return None if record is None else _commit(record)


def _tag(record: Mapping[str, Any]) -> Tag:
    created_at = _datetime(record["created_at"])
    assert created_at is not None
    return Tag(
        name=record["name"],
        commit=record["commit"],
        message=record["message"],
        created_at=created_at,
        created_by=record["created_by"],
    )


def _tags(text: str) -> List[Tag]:
    return [_tag(record) for record in json.loads(text)]


def _merge_result(record: Dict[str, Any]) -> MergeResult:
    return MergeResult(
        record["changes"],
        record["conflicts"],
        _datetime(record["stamp"]),
        target=record.get("target", ""),
        source_commit=record.get("source_commit"),
        base_commit=record.get("base_commit"),
        commit=record.get("commit"),
        unresolved=record.get("unresolved"),
    )
