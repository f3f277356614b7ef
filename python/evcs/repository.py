"""Versioned entities (docs/versioning.md): ``Repository``, ``Version`` and ``VersionList``.

Records cross the C ABI as JSON text; this module converts Python values to that text, and
evcs._native parses the records it returns and gives every field the Python type of its column
(the same types as query results, docs/python.md): ``numeric`` is ``decimal.Decimal``, ``uuid``
``uuid.UUID``, ``date`` ``datetime.date``, ``timestamptz`` an aware UTC ``datetime``, ``bytea``
``bytes``, ``text[]`` and ``int[]`` lists, ``jsonb`` dicts and lists. The module adds no
behaviour of its own.
"""

from __future__ import annotations

import datetime
import decimal
import html
import json
import math
import uuid
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from . import _native, frames
from .errors import InvalidArgument

if TYPE_CHECKING:
    import pandas  # type: ignore[import]  # Debian's pandas ships no type information

__all__ = [
    "Reference",
    "Repository",
    "Version",
    "VersionList",
    "CreatedEntities",
    "UpdatedEntities",
    "Columns",
    "AsOf",
    "HistoryPoint",
    "OrderBy",
]

#: Columns of an entity type: an ordered mapping name -> PostgreSQL type, (name, type) pairs, or
#: {"name": ..., "type": ...} mappings (the C ABI's form).
#: A column's type ("text not null"), or a reference to an entity type:
#: ``{"references": "project", "on_delete": "cascade"}`` (type uuid unless "type" says
#: "uuid not null"; on_delete "restrict" unless given, or "cascade", "set null").
ColumnSpec = Union[str, Mapping[str, str]]
Columns = Union[
    Mapping[str, ColumnSpec], Sequence[Tuple[str, ColumnSpec]], Sequence[Mapping[str, str]]
]
#: An instant: an aware datetime, or UTC microseconds since 1970-01-01.
AsOf = Union[datetime.datetime, int]
#: A state of history: a commit (a str: its id, a unique prefix of at least four hex digits, a
#: tag or a branch name, meaning its head) or an instant (an aware datetime, UTC microseconds).
HistoryPoint = Union[str, datetime.datetime, int]
#: A field name or a list of them; "-field" sorts descending.
OrderBy = Union[str, Sequence[str]]

#: Rows shown by VersionList._repr_html_ before the "N more rows" footer.
HTML_ROW_LIMIT = 20

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_MICROSECOND = datetime.timedelta(microseconds=1)
#: valid_from of a version still pending in an uncommitted transaction.
_PENDING = 2**63 - 1


def _micros(value: Optional[AsOf], what: str = "as_of") -> Optional[int]:
    """An instant as UTC microseconds; naive datetimes are refused, as in statement parameters."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an aware datetime or int microseconds, not bool")
    if isinstance(value, int):
        return value
    if isinstance(value, datetime.datetime):
        if value.utcoffset() is None:
            raise InvalidArgument(
                f"{what}: a naive datetime has no time zone; attach one, e.g. "
                "value.replace(tzinfo=datetime.timezone.utc)"
            )
        return (value - _EPOCH) // _MICROSECOND
    raise TypeError(
        f"{what} must be an aware datetime or int microseconds, not {type(value).__name__}"
    )


def _datetime(micros: Optional[int]) -> Optional[datetime.datetime]:
    """UTC microseconds as an aware datetime; None for none and for a pending version."""
    if micros is None or micros == _PENDING:
        return None
    return _EPOCH + datetime.timedelta(microseconds=micros)


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)  # exact: the server parses the text
    if isinstance(value, datetime.datetime):
        if value.utcoffset() is None:
            raise InvalidArgument(
                "a naive datetime has no time zone; attach one, e.g. "
                "value.replace(tzinfo=datetime.timezone.utc)"
            )
        return value.isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()  # bytea's hex input format
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(
        f"cannot send a {type(value).__name__} as an entity field: use str, int, float, bool, "
        "None, Decimal, datetime (aware), date, UUID, bytes, dict or list"
    )


# One encoder for every call: json.dumps with options builds a new one each time, which costs
# more than encoding the values of an update.
_ENCODER = json.JSONEncoder(default=_json_default, ensure_ascii=False, allow_nan=False)


def _dumps(value: Any) -> str:
    try:
        return _ENCODER.encode(value)
    except ValueError:
        # JSON has no NaN or infinities: they go as PostgreSQL's text for them, which the engine
        # hands to the column (and reads back the same way). Any other ValueError recurs.
        return _ENCODER.encode(_non_finite_as_text(value))


def _non_finite_as_text(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _non_finite_as_text(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_non_finite_as_text(item) for item in value]
    return value


_COLUMN_FORMS = (
    "columns must be an ordered mapping {name: type or reference}, a list of (name, type) pairs "
    'or a list of {"name": name, "type": type} mappings'
)


_REFERENCE_KEYS = {"type", "references", "on_delete"}


class Reference(NamedTuple):
    """What a reference field refers to: an entity type, and what a delete there does to the
    referrers ("restrict", "cascade" or "set null")."""

    entity_type: str
    on_delete: str


def _column_entry(column: Any) -> Dict[str, Any]:
    """One column as the C ABI takes it: {"name", "type"} or {"name", "references", ...}."""
    if isinstance(column, Mapping):
        if "name" not in column or not set(column) - {"name"} <= _REFERENCE_KEYS or not (
            "type" in column or "references" in column
        ):
            raise InvalidArgument(
                f'a column given as a mapping needs the keys "name" and "type" (or '
                f'"references"), not {column!r} ({_COLUMN_FORMS})'
            )
        entry = dict(column)
    elif isinstance(column, (str, bytes)) or len(column) != 2:
        raise InvalidArgument(f"{_COLUMN_FORMS}, not {column!r}")
    else:
        name, spec = column
        if isinstance(spec, Mapping):
            if "references" not in spec or not set(spec) <= _REFERENCE_KEYS:
                raise InvalidArgument(
                    f'a reference column is {{"references": type, "on_delete": ...}}, not '
                    f"{spec!r}"
                )
            entry = {"name": name, **spec}
        else:
            entry = {"name": name, "type": spec}
    if not all(isinstance(value, str) for value in entry.values()):
        raise InvalidArgument(f"a column's name, type and reference must be str, not {column!r}")
    return entry


def _columns_json(columns: Columns) -> str:
    listed_columns: Iterable[Any] = columns.items() if isinstance(columns, Mapping) else columns
    return _dumps([_column_entry(column) for column in listed_columns])


def _constraints_json(
    unique: Optional[Sequence[Sequence[str]]], checks: Optional[Mapping[str, str]]
) -> str:
    constraints: Dict[str, Any] = {}
    if unique:
        if isinstance(unique, (str, bytes)) or any(isinstance(key, (str, bytes)) for key in unique):
            raise InvalidArgument(
                f'unique is a list of keys, each a list of columns (e.g. [["email"]]), not {unique!r}'
            )
        constraints["unique"] = [list(key) for key in unique]
    if checks:
        constraints["checks"] = dict(checks)
    return _dumps(constraints)


def _values_json(values: Mapping[str, Any]) -> str:
    if not isinstance(values, Mapping):
        raise InvalidArgument(
            f"values must be a mapping of field names to values, not {type(values).__name__}"
        )
    return _dumps(dict(values))


def _options_json(
    where: Optional[Mapping[str, Any]] = None,
    order_by: Optional[OrderBy] = None,
    limit: Optional[int] = None,
    offset: Optional[int] = None,
    as_of: Optional[HistoryPoint] = None,
    branch: Optional[str] = None,
    after: Optional[str] = None,
    include: Optional[Union[str, Sequence[str]]] = None,
) -> str:
    options: Dict[str, Any] = {}
    if where is not None:
        options["where"] = where
    if order_by is not None:
        options["order_by"] = order_by if isinstance(order_by, str) else list(order_by)
    if limit is not None:
        options["limit"] = limit
    if offset is not None:
        options["offset"] = offset
    if isinstance(as_of, str):
        options["as_of_commit"] = as_of
    elif as_of is not None:
        options["as_of"] = _micros(as_of)
    if branch is not None:
        options["branch"] = branch
    if after is not None:
        options["after"] = after
    if include is not None:
        options["include"] = include if isinstance(include, str) else list(include)
    return _dumps(options)


def _range_json(
    from_: Optional[AsOf],
    to: Optional[AsOf],
    mode: str,
    branch: Optional[str],
    limit: Optional[int],
    after: Optional[str],
) -> str:
    range_: Dict[str, Any] = {"mode": mode}
    if from_ is not None:
        range_["from"] = _micros(from_, "from_")
    if to is not None:
        range_["to"] = _micros(to, "to")
    if branch is not None:
        range_["branch"] = branch
    if limit is not None:
        range_["limit"] = limit
    if after is not None:
        range_["after"] = after
    return _dumps(range_)


class Version(Mapping[str, Any]):
    """One immutable version of an entity: a read-only mapping of its fields, plus attributes.

    ``valid_from`` is None while the version is pending in an uncommitted transaction;
    ``valid_to`` is None for the current version. ``changed`` (histories) names the fields that
    differ from the previous version and ``previous`` gives their values before it.
    """

    __slots__ = ("_record", "_included")

    def __init__(self, record: Dict[str, Any]) -> None:
        self._record = record
        self._included: Dict[str, Union["Version", None, "VersionList"]] = {}

    @property
    def included(self) -> Dict[str, Union["Version", None, "VersionList"]]:
        """What ``find(include=...)`` loaded for this version, by relation name: the related
        Version (or None) of a many-to-one relation, the VersionList of a one-to-many one."""
        return dict(self._included)

    def related(self, relation: str) -> "VersionList":
        """The included relation's versions as a list (at most one for many-to-one)."""
        related = self._included_relation(relation)
        if isinstance(related, VersionList):
            return related
        return VersionList([] if related is None else [related])

    def related_one(self, relation: str) -> Optional["Version"]:
        """The included many-to-one relation's version, None when the reference is null (or
        names no live entity)."""
        related = self._included_relation(relation)
        if isinstance(related, VersionList):
            raise TypeError(f"{relation!r} is a one-to-many relation: use related({relation!r})")
        return related

    def _included_relation(self, relation: str) -> Union["Version", None, "VersionList"]:
        try:
            return self._included[relation]
        except KeyError:
            raise KeyError(
                f"the read did not include {relation!r}; included: {list(self._included)}"
            ) from None

    @property
    def fields(self) -> Dict[str, Any]:
        """A copy of the entity's fields, ordered by name."""
        return dict(self._record["fields"])

    @property
    def head_id(self) -> str:
        return str(self._record["head_id"])

    @property
    def version(self) -> int:
        return int(self._record["version"])

    @property
    def branch(self) -> str:
        return str(self._record["branch"])

    @property
    def valid_from(self) -> Optional[datetime.datetime]:
        return _datetime(self._record["valid_from"])

    @property
    def valid_to(self) -> Optional[datetime.datetime]:
        return _datetime(self._record["valid_to"])

    @property
    def deleted(self) -> bool:
        return bool(self._record["deleted"])

    @property
    def author(self) -> str:
        """Who wrote the version; "" when the session had no author (as in C++)."""
        return str(self._record["author"] or "")

    @property
    def parent_branch(self) -> Optional[str]:
        value = self._record["parent_branch"]
        return None if value is None else str(value)

    @property
    def parent_version(self) -> Optional[int]:
        value = self._record["parent_version"]
        return None if value is None else int(value)

    @property
    def merged_from(self) -> Optional[str]:
        value = self._record["merged_from"]
        return None if value is None else str(value)

    @property
    def changed(self) -> List[str]:
        return list(self._record.get("changed", ()))

    @property
    def previous(self) -> Dict[str, Any]:
        """The ``changed`` fields' values before this version (typed as ``fields`` are; None
        for a first version's); empty outside histories."""
        previous = self._record.get("previous")
        return dict(previous) if isinstance(previous, dict) else {}

    def __getitem__(self, field: str) -> Any:
        try:
            return self._record["fields"][field]
        except KeyError:
            raise KeyError(
                f"no field named {field!r}; fields: {list(self._record['fields'])}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._record["fields"])

    def __len__(self) -> int:
        return len(self._record["fields"])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Version):
            return self._record == other._record
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]  # mutable fields inside: not hashable

    def _row(self, fields: Sequence[str]) -> Tuple[Any, ...]:
        record = self._record
        return (
            self.head_id,
            self.version,
            self.valid_from,
            self.valid_to,
            self.deleted,
            self.author,
            self.branch,
        ) + tuple(record["fields"].get(field) for field in fields)

    def __repr__(self) -> str:
        state = " deleted" if self.deleted else ""
        return (
            f"<evcs.Version {self.head_id} v{self.version} on {self.branch!r}{state} "
            f"{self._record['fields']!r}>"
        )


#: Columns of VersionList.to_pandas before the entity's fields.
_META_COLUMNS = ["head_id", "version", "valid_from", "valid_to", "deleted", "author", "branch"]


class VersionList(List[Version]):
    """The versions a find or history returned, with ``to_pandas()`` and notebook display.

    ``cursor`` continues a read with a ``limit``: pass it as ``after=`` with the same query for
    the next page; None when no row follows (or the read had no limit)."""

    cursor: Optional[str] = None

    def _fields(self) -> List[str]:
        names: Dict[str, None] = {}
        for version in self:
            for field in version:
                names.setdefault(field, None)
        return list(names)

    def to_pandas(self) -> "pandas.DataFrame":
        """One row per version: head_id, version, valid_from, valid_to, deleted, author, branch,
        then the fields."""
        import pandas

        fields = self._fields()
        return pandas.DataFrame.from_records(
            [version._row(fields) for version in self], columns=_META_COLUMNS + fields
        )

    def _repr_html_(self) -> str:
        fields = self._fields()
        header = "".join(f"<th>{html.escape(name)}</th>" for name in _META_COLUMNS + fields)
        body = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in version._row(fields))
            + "</tr>"
            for version in self[:HTML_ROW_LIMIT]
        )
        hidden = len(self) - HTML_ROW_LIMIT
        footer = f"<p>{hidden} more rows</p>" if hidden > 0 else ""
        return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>{footer}"


def _version(record: Optional[Dict[str, Any]]) -> Optional[Version]:
    return None if record is None else Version(record)


def _link_included(
    versions: List[Version],
    records: List[Dict[str, Any]],
    relations: Mapping[str, Mapping[str, Any]],
) -> None:
    """Gives each version what find(include=...) loaded for it. A page holds one record per
    related entity, however many versions refer to it: each such record becomes one Version
    (keyed by the record's identity), shared by all of them."""
    made: Dict[int, Version] = {}

    def version_of(item: Dict[str, Any]) -> Version:
        found = made.get(id(item))
        if found is None:
            found = made[id(item)] = Version(item)
        return found

    for name, description in relations.items():
        if description["to_one"]:
            for version, record in zip(versions, records):
                related = record["included"][name]
                version._included[name] = version_of(related[0]) if related else None
        else:
            for version, record in zip(versions, records):
                version._included[name] = VersionList(
                    [version_of(item) for item in record["included"][name]]
                )


def _page(
    page: Tuple[List[Dict[str, Any]], Optional[str], Optional[Dict[str, Dict[str, Any]]]]
) -> VersionList:
    records, cursor, relations = page
    versions = VersionList(map(Version, records))
    if relations:
        _link_included(versions, records, relations)
    versions.cursor = cursor
    return versions


def _head_id(head_id: Union[str, uuid.UUID]) -> str:
    return str(head_id) if isinstance(head_id, uuid.UUID) else head_id


class _WrittenEntities:
    """What a bulk write wrote, per row in row order: ``head_ids``; ``branch``, ``author`` and
    ``valid_from``, the commit stamp (None while pending inside ``begin()``)."""

    __slots__ = ("head_ids", "branch", "valid_from", "author")

    def __init__(self, record: Dict[str, Any]) -> None:
        self.head_ids: List[str] = list(record["head_ids"])
        self.branch: str = str(record["branch"])
        self.valid_from: Optional[datetime.datetime] = _datetime(record["valid_from"])
        self.author: str = str(record["author"])

    def __len__(self) -> int:
        return len(self.head_ids)

    def __repr__(self) -> str:
        return f"<evcs.{type(self).__name__} {len(self.head_ids)} on {self.branch!r}>"


class CreatedEntities(_WrittenEntities):
    """What ``Repository.create_many`` wrote: version 1 of one new entity per row.

    ``head_ids`` are in the order of the rows; ``valid_from`` is the commit stamp (None while
    pending inside ``begin()``).
    """

    __slots__ = ()


class UpdatedEntities(_WrittenEntities):
    """What ``Repository.update_many`` wrote: per row, in row order, the entity (``head_ids``)
    and the version it has now (``versions``: the same as before for a row that changed
    nothing). ``valid_from`` is the commit stamp (None while pending inside ``begin()``, or when
    no row changed anything and nothing was committed)."""

    __slots__ = ("versions",)

    def __init__(self, record: Dict[str, Any]) -> None:
        super().__init__(record)
        self.versions: List[int] = list(record["versions"])


def _update_rows(
    rows: Iterable[Union[Mapping[str, Any], Tuple[Union[str, uuid.UUID], Mapping[str, Any]]]]
) -> List[Dict[str, Any]]:
    """update_many's rows as mappings with their head_id: a (head_id, values) pair becomes
    values plus "head_id"."""
    listed: List[Dict[str, Any]] = []
    for index, row in enumerate(rows):
        if isinstance(row, tuple) and len(row) == 2 and isinstance(row[1], Mapping):
            listed.append({**row[1], "head_id": _head_id(row[0])})
        elif isinstance(row, Mapping):
            listed.append(dict(row))
        else:
            raise InvalidArgument(
                f"row {index} must be a (head_id, values) pair or a mapping with a head_id, "
                f"not {type(row).__name__}"
            )
    return listed


def _rows_json(rows: Iterable[Mapping[str, Any]]) -> str:
    listed: List[Dict[str, Any]] = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InvalidArgument(
                f"row {index} must be a mapping of field names to values, not "
                f"{type(row).__name__}"
            )
        listed.append(dict(row))
    return _dumps(listed)


class Repository:
    """The versions of one entity type, read and written through the session that opened it
    (its branch, its transaction, its author). See docs/versioning.md for filters."""

    def __init__(self, native: _native.Repository, entity_type: str) -> None:
        self._native = native
        self._entity_type = entity_type

    @property
    def entity_type(self) -> str:
        return self._entity_type

    @property
    def fields(self) -> Dict[str, str]:
        """The entity's fields in column order, each with its declared PostgreSQL type."""
        return {field["name"]: field["type"] for field in self._native.fields}

    @property
    def references(self) -> Dict[str, Reference]:
        """The fields that refer to entities, each with the type referred to and its on_delete."""
        return {
            field["name"]: Reference(field["references"], field["on_delete"])
            for field in self._native.fields
            if "references" in field
        }

    def create(
        self, values: Mapping[str, Any], head_id: Optional[Union[str, uuid.UUID]] = None
    ) -> Version:
        """A new entity: version 1 on the session's branch (head_id: a new uuid by default)."""
        return Version(
            self._native.create(
                _values_json(values), None if head_id is None else _head_id(head_id)
            )
        )

    def create_many(
        self, rows: Iterable[Mapping[str, Any]], message: Optional[str] = None
    ) -> CreatedEntities:
        """Many new entities at once (COPY); a row may carry ``head_id`` to choose its id.

        Outside ``begin()`` this writes the rows and commits them with ``message``, as one
        commit with one stamp (uncommitted versions in the session are MisuseError: commit
        them first). Inside ``begin()`` it joins that transaction. Bad input writes nothing.
        """
        return CreatedEntities(json.loads(self._native.create_many(_rows_json(rows), message)))

    def update_many(
        self,
        rows: Iterable[Union[Mapping[str, Any], Tuple[Union[str, uuid.UUID], Mapping[str, Any]]]],
        message: Optional[str] = None,
    ) -> UpdatedEntities:
        """Many entities updated at once: ``rows`` are ``(head_id, values)`` pairs or mappings
        with a ``head_id``, the values merged over each entity's current version.

        Outside ``begin()`` this is one commit with ``message`` and one stamp, written set by set
        (one UPDATE closes the current versions, one COPY brings in the new ones); a row that
        changes nothing writes nothing (uncommitted versions in the session are MisuseError).
        Inside ``begin()`` it joins that transaction. NotFound for an entity the branch does not
        show or shows deleted; anything refused writes nothing."""
        return UpdatedEntities(
            json.loads(self._native.update_many(_rows_json(_update_rows(rows)), message))
        )

    def update(
        self,
        head_id: Union[str, uuid.UUID],
        values: Mapping[str, Any],
        expected_version: Optional[int] = None,
    ) -> Version:
        """A new version with ``values`` merged over the current ones; ConcurrentModification
        when ``expected_version`` is given and is not the current version."""
        return Version(
            self._native.update(_head_id(head_id), _values_json(values), expected_version)
        )

    def delete(self, head_id: Union[str, uuid.UUID]) -> Version:
        """A tombstone version: get() then returns None; the history keeps everything."""
        return Version(self._native.delete(_head_id(head_id)))

    def restore(self, head_id: Union[str, uuid.UUID]) -> Version:
        """A new live version with the last live content."""
        return Version(self._native.restore(_head_id(head_id)))

    def revert(
        self,
        head_id: Union[str, uuid.UUID],
        to_version: Optional[int] = None,
        as_of: Optional[AsOf] = None,
    ) -> Version:
        """A new version whose content is that of ``to_version`` (or of the state at ``as_of``)."""
        return Version(self._native.revert(_head_id(head_id), to_version, _micros(as_of)))

    def get(
        self,
        head_id: Union[str, uuid.UUID],
        as_of: Optional[HistoryPoint] = None,
        branch: Optional[str] = None,
    ) -> Optional[Version]:
        """The version visible at ``as_of`` (default: now) on ``branch`` (default: the
        session's), or None. ``as_of`` may be a commit (a str: id, prefix, tag or branch):
        then the version visible at that commit on the commit's branch, and ``branch`` must be
        left out (``get_at_commit``)."""
        if isinstance(as_of, str):
            if branch is not None:
                raise InvalidArgument(
                    "get: as_of names a commit, which reads the commit's own branch; leave "
                    "branch out"
                )
            return self.get_at_commit(head_id, as_of)
        return _version(self._native.get(_head_id(head_id), _micros(as_of), branch))

    def get_at_commit(self, head_id: Union[str, uuid.UUID], commit: str) -> Optional[Version]:
        """The version visible at ``commit`` (its id, a unique prefix of at least four hex
        digits, a tag or a branch name) on the commit's branch, or None."""
        return _version(self._native.get_at_commit(_head_id(head_id), commit))

    def history(
        self,
        head_id: Union[str, uuid.UUID],
        branch: Optional[str] = None,
        limit: Optional[int] = None,
        after: Optional[str] = None,
    ) -> VersionList:
        """Every version on the branch, oldest first (by valid_from, branch, version), each with
        the fields it ``changed`` and their ``previous`` values. With ``limit``, one page and
        its ``cursor``; ``after=page.cursor`` continues (the history as of the first page)."""
        options: Dict[str, Any] = {"branch": branch, "limit": limit, "after": after}
        return _page(self._native.history(_head_id(head_id), _dumps(options)))

    def versions(
        self,
        from_: Optional[AsOf] = None,
        to: Optional[AsOf] = None,
        mode: str = "from_to",
        branch: Optional[str] = None,
        limit: Optional[int] = None,
        after: Optional[str] = None,
    ) -> VersionList:
        """Every version of the entity type on ``branch`` (default: the session's) over a
        system-time range, oldest first (by valid_from, head_id). ``mode`` "from_to": valid at
        some instant of [from_, to); "between": of [from_, to]; "contained_in": began and ended
        within [from_, to]. An unset bound is open. With ``limit``, one page and its
        ``cursor``; ``after=page.cursor`` continues."""
        return _page(self._native.versions(_range_json(from_, to, mode, branch, limit, after)))

    def find(
        self,
        where: Optional[Mapping[str, Any]] = None,
        order_by: Optional[OrderBy] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        as_of: Optional[HistoryPoint] = None,
        branch: Optional[str] = None,
        after: Optional[str] = None,
        include: Optional[Union[str, Sequence[str]]] = None,
    ) -> VersionList:
        """The state at ``as_of`` of every entity matching ``where`` (always parameterised).
        ``as_of`` may be a commit (a str): the state of the commit's branch at the commit.

        ``include`` loads related entities with them, each relation in one more query, as of
        the same instant on the same branch (``Version.included``): a referencing field
        (``"project_id"`` or ``"project"``), or a type referring to this one (``"task"``,
        ``"tasks"`` or ``"task.project_id"``).

        With ``limit``, the result's ``cursor`` continues the walk: ``after=page.cursor`` with
        the same where, order_by and branch returns the next page (keyset pagination: no rows
        skipped, so any page costs what the first does). The first page pins an instant (its
        ``as_of``, else the latest commit as it was read) and every later page reads as of it,
        so a walk while others commit sees every entity once, as it was then."""
        return _page(
            self._native.find(
                _options_json(where, order_by, limit, offset, as_of, branch, after, include)
            )
        )

    def find_frame(
        self,
        where: Optional[Mapping[str, Any]] = None,
        order_by: Optional[OrderBy] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        as_of: Optional[HistoryPoint] = None,
        branch: Optional[str] = None,
        after: Optional[str] = None,
    ) -> "pandas.DataFrame":
        """``find`` as a pandas DataFrame, made from typed columns (no ``Version`` per row):
        the columns of ``VersionList.to_pandas()`` (head_id, version, valid_from, valid_to,
        deleted, author, branch, then the fields by name), with NULL-keeping dtypes
        (docs/python.md, "DataFrames"). With ``limit``, ``frame.attrs["cursor"]`` continues the
        walk as ``find``'s cursor does."""
        fields = sorted(self.fields)
        wanted = [(name, True) for name in _META_COLUMNS] + [(name, False) for name in fields]
        columns, cursor = self._native.find_columns(
            _options_json(where, order_by, limit, offset, as_of, branch, after, None), wanted
        )
        result = frames.frame(columns, _META_COLUMNS + fields)
        result["author"] = result["author"].fillna("")
        result.attrs["cursor"] = cursor
        return result

    def count(
        self,
        where: Optional[Mapping[str, Any]] = None,
        as_of: Optional[HistoryPoint] = None,
        branch: Optional[str] = None,
    ) -> int:
        return self._native.count(_options_json(where, as_of=as_of, branch=branch))

    def exists(
        self,
        where: Optional[Mapping[str, Any]] = None,
        as_of: Optional[HistoryPoint] = None,
        branch: Optional[str] = None,
    ) -> bool:
        return self._native.exists(_options_json(where, as_of=as_of, branch=branch))

    def __repr__(self) -> str:
        return f"<evcs.Repository {self._entity_type!r}>"
