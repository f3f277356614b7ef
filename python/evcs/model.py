"""Typed models: an annotated class declares an entity type, and its repository reads and writes
instances of that class.

::

    class Project(evcs.Model):
        title: str

    class Task(evcs.Model):
        title: str
        project: evcs.Ref[Project] = evcs.field(on_delete="cascade")
        due: datetime.date | None = None

    session.create_model(Project)
    tasks = session.models(Task)                  # a ModelRepository[Task]
    task = tasks.create(Task(title="roof", project=evcs.Ref.to(project)))
    tasks.get(evcs.Ref.to(task))                  # Task | None

This module only translates: a model instance becomes the values mapping of ``Repository`` and a
``Version`` becomes an instance again. Every read and write is the untyped ``Repository``'s, so
both APIs see the same entities with the same rules (docs/python.md, "Typed models").
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import decimal
import json
import os
import re
import sys
import types
import uuid
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    ClassVar,
    Dict,
    Generic,
    Iterable,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Type,
    TypeVar,
    Union,
    cast,
    dataclass_transform,
    get_args,
    get_origin,
    get_type_hints,
    overload,
)

from .autogenerate import AutogenerateResult, PathLike, autogenerate
from .errors import InvalidArgument
from .repository import (
    AsOf,
    CreatedEntities,
    HistoryPoint,
    OrderBy,
    Repository,
    Version,
    VersionList,
)

if TYPE_CHECKING:
    import pandas  # type: ignore[import]  # Debian's pandas ships no type information

    from .aio import AsyncSession
    from .engine import Engine
    from .session import Session

__all__ = [
    "Model",
    "Ref",
    "OnDelete",
    "field",
    "meta",
    "ModelList",
    "ModelRepository",
    "AsyncModelRepository",
    "schema_document",
    "autogenerate_models",
]

#: What deleting a referred entity does to its referrers (docs/relations.md).
OnDelete = Literal["restrict", "cascade", "set null"]

T = TypeVar("T")
M = TypeVar("M", bound="Model")
M_co = TypeVar("M_co", bound="Model", covariant=True)

#: Python types a field may be annotated with (looked up exactly: a subclass is not one), and
#: the PostgreSQL column type each maps to.
_COLUMN_TYPES: Dict[type, str] = {
    str: "text",
    int: "bigint",
    float: "double precision",
    bool: "boolean",
    decimal.Decimal: "numeric",
    datetime.datetime: "timestamptz",
    datetime.date: "date",
    uuid.UUID: "uuid",
    bytes: "bytea",
    dict: "jsonb",
    list: "jsonb",
}

_SUPPORTED = (
    "str, int, float, bool, decimal.Decimal, datetime.date, datetime.datetime, uuid.UUID, "
    "bytes, dict[...] and list[...] (jsonb), evcs.Ref[Model], each optionally `| None`"
)

#: Where an instance keeps the version it was read as; a dunder name never collides with a field.
_VERSION_KEY = "__evcs_version__"


class _Missing:
    """The absence of a default (None is a valid default)."""

    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Any = _Missing()


class FieldInfo:
    """What ``evcs.field(...)`` declares about one attribute. It stays the class attribute's
    value; an instance's own value shadows it."""

    __slots__ = ("default", "default_factory", "type", "on_delete")

    def __init__(
        self,
        default: object,
        default_factory: Optional[Callable[[], object]],
        type: Optional[str],
        on_delete: Optional[OnDelete],
    ) -> None:
        self.default = default
        self.default_factory = default_factory
        self.type = type
        self.on_delete = on_delete


@overload
def field(
    *, default: T, type: Optional[str] = None, on_delete: Optional[OnDelete] = None
) -> T: ...


@overload
def field(
    *,
    default_factory: Callable[[], T],
    type: Optional[str] = None,
    on_delete: Optional[OnDelete] = None,
) -> T: ...


@overload
def field(*, type: Optional[str] = None, on_delete: Optional[OnDelete] = None) -> Any: ...


def field(
    *,
    default: Any = _MISSING,
    default_factory: Optional[Callable[[], Any]] = None,
    type: Optional[str] = None,
    on_delete: Optional[OnDelete] = None,
) -> Any:
    """Options of one model attribute, given as its class-level value (as ``dataclasses.field``):
    ``default`` or ``default_factory`` (a new list or dict per instance), ``type`` (the PostgreSQL
    column type instead of the one the annotation maps to, e.g. ``"numeric(14,2)"``; nullability
    still comes from the annotation) and ``on_delete`` of an ``evcs.Ref`` attribute."""
    if default is not _MISSING and default_factory is not None:
        raise TypeError("evcs.field: give default or default_factory, not both")
    return FieldInfo(default, default_factory, type, on_delete)


class Ref(Generic[M_co]):
    """A reference to an entity of the model ``M_co``: the entity's head id, typed by what it
    refers to, so a ``Ref[User]`` is not accepted where a ``Ref[Project]`` is expected.

    It holds no entity and loads nothing: ``session.models(Project).get(task.project)`` reads
    the entity it refers to."""

    __slots__ = ("model", "head_id")

    model: Type[M_co]
    head_id: uuid.UUID

    def __init__(self, model: Type[M_co], head_id: Union[uuid.UUID, str]) -> None:
        if not (isinstance(model, type) and issubclass(model, Model)):
            raise TypeError(f"evcs.Ref: {model!r} is not an evcs.Model subclass")
        object.__setattr__(self, "model", model)
        object.__setattr__(
            self, "head_id", head_id if isinstance(head_id, uuid.UUID) else uuid.UUID(head_id)
        )

    @classmethod
    def to(cls, entity: M) -> "Ref[M]":
        """The reference to a stored entity (one read or written through a repository)."""
        return Ref(type(entity), meta(entity).head_id)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("evcs.Ref is immutable")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Ref):
            return (self.model, self.head_id) == (other.model, other.head_id)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.model, self.head_id))

    def __str__(self) -> str:
        return str(self.head_id)

    def __repr__(self) -> str:
        return f"Ref({self.model.__name__}, {str(self.head_id)!r})"


class _Field:
    """One attribute of a model, resolved from its annotation."""

    __slots__ = ("name", "python_type", "nullable", "column_type", "refers_to", "on_delete",
                 "default", "default_factory")

    def __init__(
        self,
        name: str,
        python_type: type,
        nullable: bool,
        column_type: str,
        refers_to: Optional[Type[Model]],
        on_delete: OnDelete,
        default: object,
        default_factory: Optional[Callable[[], object]],
    ) -> None:
        self.name = name
        self.python_type = python_type
        self.nullable = nullable
        self.column_type = column_type
        self.refers_to = refers_to
        self.on_delete = on_delete
        self.default = default
        self.default_factory = default_factory

    def column(self) -> Dict[str, str]:
        """The column as create_entity_type and the schema file take it."""
        if self.refers_to is not None:
            column = {"name": self.name, "references": self.refers_to.__entity_type__,
                      "on_delete": self.on_delete}
            if not self.nullable:
                column["type"] = "uuid not null"
            return column
        return {"name": self.name,
                "type": self.column_type + ("" if self.nullable else " not null")}

    def accepts(self, value: object) -> bool:
        if value is None:
            return self.nullable
        if self.refers_to is not None:
            return isinstance(value, Ref) and issubclass(value.model, self.refers_to)
        if self.python_type is float:  # an int is a float, as for type checkers
            return isinstance(value, (int, float))
        return isinstance(value, self.python_type)

    def from_stored(self, value: object) -> object:
        if self.refers_to is not None and value is not None:
            return Ref(self.refers_to, cast(Union[uuid.UUID, str], value))
        return value


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _annotation_name(annotation: object) -> str:
    if isinstance(annotation, type) and not get_args(annotation):
        module = annotation.__module__
        return annotation.__qualname__ if module == "builtins" else f"{module}.{annotation.__qualname__}"
    return repr(annotation)


def _resolve_field(model: Type[Model], name: str, annotation: object, declared: object) -> _Field:
    def unsupported(why: str) -> TypeError:
        return TypeError(
            f"{model.__name__}.{name}: {why}; a model attribute is one of {_SUPPORTED}"
        )

    options = declared if isinstance(declared, FieldInfo) else None
    default: object = declared if options is None else options.default
    nullable = False
    if get_origin(annotation) in (Union, types.UnionType):
        members = [member for member in get_args(annotation) if member is not type(None)]
        if len(members) != 1:
            raise unsupported(f"the union {_annotation_name(annotation)} has no column type")
        nullable = len(members) < len(get_args(annotation))
        annotation = members[0]
    refers_to: Optional[Type[Model]] = None
    python_type: type
    origin = get_origin(annotation)
    if origin is Ref:
        (target,) = get_args(annotation)
        if not (isinstance(target, type) and issubclass(target, Model)):
            raise unsupported(
                f"evcs.Ref takes an evcs.Model subclass, not {_annotation_name(target)}"
            )
        refers_to, python_type, column_type = target, Ref, "uuid"
    else:
        python_type = cast(type, origin if origin in (dict, list) else annotation)
        if python_type not in _COLUMN_TYPES:
            raise unsupported(f"{_annotation_name(annotation)} has no column type")
        column_type = _COLUMN_TYPES[python_type]
    if options is not None and options.type is not None:
        if refers_to is not None:
            raise unsupported("a reference is a uuid column: evcs.field(type=...) does not apply")
        column_type = options.type
    if options is not None and options.on_delete is not None and refers_to is None:
        raise unsupported("on_delete applies to evcs.Ref attributes only")
    on_delete: OnDelete = "restrict" if options is None or options.on_delete is None \
        else options.on_delete
    return _Field(name, python_type, nullable, column_type, refers_to, on_delete, default,
                  None if options is None else options.default_factory)


class _Schema:
    """A model class's entity type: its name, fields, unique keys and checks."""

    __slots__ = ("entity_type", "fields", "unique", "checks")

    def __init__(self, model: Type[Model]) -> None:
        self.entity_type = model.__entity_type__
        # NameError: an annotation names a class not defined yet.
        hints = get_type_hints(model, localns=model.__dict__.get("__evcs_namespace__"))
        self.fields: Dict[str, _Field] = {}
        for name, annotation in hints.items():
            if name.startswith("__") or get_origin(annotation) is ClassVar:
                continue
            declared = _MISSING
            for klass in model.__mro__:
                if name in vars(klass):
                    declared = vars(klass)[name]
                    break
            self.fields[name] = _resolve_field(model, name, annotation, declared)
        self.unique = [list(key) for key in model.__unique__]
        self.checks = dict(model.__checks__)
        for key in self.unique:
            if isinstance(key, str) or not set(key) <= set(self.fields):
                raise TypeError(
                    f"{model.__name__}.__unique__: each key is a tuple of field names "
                    f"({', '.join(self.fields)}), not {key!r}"
                )

    def document(self) -> Dict[str, object]:
        """The entity type as the schema file declares it (docs/migrations.md)."""
        declared: Dict[str, object] = {
            "columns": [one.column() for one in self.fields.values()]
        }
        if self.unique:
            declared["unique"] = self.unique
        if self.checks:
            declared["checks"] = self.checks
        return declared


def _schema(model: Type[Model]) -> _Schema:
    schema = model.__dict__.get("__evcs_schema__")
    if schema is None:
        try:
            schema = _Schema(model)
        except NameError as error:
            raise TypeError(
                f"{model.__name__}: an annotation names {error.name!r}, which is not defined in "
                f"the module of {model.__name__}; declare models at module level"
            ) from None
        setattr(model, "__evcs_schema__", schema)
    return cast(_Schema, schema)


@dataclass_transform(kw_only_default=True, field_specifiers=(field,))
class Model:
    """Base class of typed models: each annotated attribute is a column of the entity type.

    The entity type is named after the class in snake_case (``TaskItem`` -> ``task_item``)
    unless ``__entity_type__`` says otherwise; ``__unique__`` lists unique keys (tuples of
    attribute names) and ``__checks__`` maps names to SQL checks, as ``create_entity_type``'s
    ``unique=`` and ``checks=``. Instances are built with keyword arguments; one read from the
    database also carries its version (``evcs.meta(instance)``)."""

    __entity_type__: ClassVar[str]
    __unique__: ClassVar[Sequence[Sequence[str]]] = ()
    __checks__: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "__entity_type__" not in cls.__dict__:
            cls.__entity_type__ = _snake_case(cls.__name__)
        # Annotations are resolved in the namespace the class statement ran in (the frame that
        # called type.__new__, which calls this), kept live so that names defined after the
        # class count: a module's globals are not enough for a class declared in a function, or
        # in code run by exec() whose module is not in sys.modules.
        declaring = sys._getframe(1)
        scopes: List[Dict[str, Any]] = [{cls.__name__: cls}]
        if declaring.f_locals is not declaring.f_globals:
            scopes.append(declaring.f_locals)
        setattr(cls, "__evcs_namespace__", collections.ChainMap(*scopes, declaring.f_globals))
        # An unsupported annotation is reported where the class is declared. One naming a class
        # declared later (or the class itself: ``parent: evcs.Ref["Task"] | None``) cannot be
        # resolved yet: the fields are then resolved on first use.
        try:
            setattr(cls, "__evcs_schema__", _Schema(cls))
        except NameError:
            pass

    def __init__(self, **values: object) -> None:
        schema = _schema(type(self))
        unknown = set(values) - set(schema.fields)
        if unknown:
            raise TypeError(
                f"{type(self).__name__} has no field {sorted(unknown)[0]!r}; its fields: "
                f"{', '.join(schema.fields)}"
            )
        for name, declared in schema.fields.items():
            if name in values:
                value = values[name]
            elif declared.default_factory is not None:
                value = declared.default_factory()
            elif declared.default is not _MISSING:
                value = declared.default
            else:
                raise TypeError(f"{type(self).__name__}() needs the field {name!r}")
            _check(type(self), declared, value)
            self.__dict__[name] = value

    @classmethod
    def _from_version(cls: Type[M], version: Version) -> M:
        entity = cls.__new__(cls)
        for name, declared in _schema(cls).fields.items():
            entity.__dict__[name] = declared.from_stored(version.get(name))
        entity.__dict__[_VERSION_KEY] = version
        return entity

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(
            self.__dict__[name] == other.__dict__[name] for name in _schema(type(self)).fields
        )

    __hash__ = None  # type: ignore[assignment]  # mutable: not hashable, as a dataclass

    def __repr__(self) -> str:
        values = ", ".join(
            f"{name}={self.__dict__[name]!r}" for name in _schema(type(self)).fields
        )
        return f"{type(self).__name__}({values})"


def _check(model: Type[Model], declared: _Field, value: object) -> None:
    if not declared.accepts(value):
        expected = (
            f"evcs.Ref[{declared.refers_to.__name__}]" if declared.refers_to is not None
            else declared.python_type.__name__
        )
        raise TypeError(
            f"{model.__name__}.{declared.name} must be {expected}"
            f"{' or None' if declared.nullable else ''}, not {_described(value)}"
        )


def _described(value: object) -> str:
    return repr(value) if isinstance(value, Ref) else f"{type(value).__name__} {value!r}"


def meta(entity: Model) -> Version:
    """The version an instance was read as or written as: ``head_id``, ``version``, ``branch``,
    ``valid_from``, ``valid_to``, ``deleted``, ``author``, ``changed``, ... (``evcs.Version``).
    An instance built in Python and not written yet has none: InvalidArgument."""
    version = entity.__dict__.get(_VERSION_KEY)
    if version is None:
        raise InvalidArgument(
            f"{entity!r} was neither read nor written through a repository: it has no version"
        )
    return cast(Version, version)


def _stored(value: object) -> object:
    """A field value or a where filter as Repository takes it: references become head ids."""
    if isinstance(value, Ref):
        return value.head_id
    if isinstance(value, Model):
        return meta(value).head_id
    if isinstance(value, Mapping):
        return {key: _stored(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_stored(item) for item in value]
    return value


def _values(entity: Model) -> Dict[str, object]:
    model = type(entity)
    values: Dict[str, object] = {}
    for name, declared in _schema(model).fields.items():
        value = entity.__dict__[name]
        _check(model, declared, value)  # attributes may have been assigned since __init__
        values[name] = _stored(value)
    return values


#: An entity named by the instance, a reference to it, or its head id.
EntityKey = Union[M, Ref[M], uuid.UUID, str]


def _head_id(key: Union[Model, Ref[Model], uuid.UUID, str]) -> Union[uuid.UUID, str]:
    if isinstance(key, Model):
        return meta(key).head_id
    if isinstance(key, Ref):
        return key.head_id
    return key


class ModelList(List[M]):
    """The instances a find, history or versions returned (a list), with the page's ``cursor``
    (as ``VersionList.cursor``: pass it as ``after=`` for the next page) and ``versions``, the
    untyped versions they were built from (``to_pandas()`` is theirs)."""

    cursor: Optional[str] = None

    def __init__(self, model: Type[M], versions: VersionList) -> None:
        super().__init__(model._from_version(version) for version in versions)
        self.cursor = versions.cursor
        self.versions = versions

    def to_pandas(self) -> "pandas.DataFrame":
        """One row per version: the version's metadata, then the fields (VersionList's)."""
        return self.versions.to_pandas()


class ModelRepository(Generic[M]):
    """The entities of one model's type, as instances of the model: ``session.models(Task)``.

    Every method is ``Repository``'s (same parameters, same rules) with instances in place of
    values mappings and versions; ``repository`` is the untyped one it wraps."""

    def __init__(self, model: Type[M], repository: Repository) -> None:
        missing = [name for name in _schema(model).fields if name not in repository.fields]
        if missing:
            raise InvalidArgument(
                f"model {model.__name__} declares fields the entity type "
                f"{model.__entity_type__!r} lacks: {', '.join(missing)} (migrate the database: "
                "evcs.autogenerate_models)"
            )
        self.model = model
        self.repository = repository

    def _one(self, version: Version) -> M:
        return self.model._from_version(version)

    def _optional(self, version: Optional[Version]) -> Optional[M]:
        return None if version is None else self.model._from_version(version)

    def create(self, entity: M, head_id: Optional[Union[uuid.UUID, str]] = None) -> M:
        """Writes a new entity (version 1) and returns it as stored, with its version."""
        return self._one(self.repository.create(_values(entity), head_id))

    def create_many(self, entities: Iterable[M], message: Optional[str] = None) -> CreatedEntities:
        """Many new entities at once (``Repository.create_many``: COPY, one commit)."""
        return self.repository.create_many((_values(entity) for entity in entities), message)

    def update(self, entity: M, expected_version: Optional[int] = None) -> M:
        """Writes the next version of an entity read through a repository: the fields whose
        values differ from the version it was read as (so a field another writer changed since
        is not overwritten with a stale value). ``expected_version`` as in
        ``Repository.update``."""
        version = meta(entity)
        changes = {
            name: value for name, value in _values(entity).items() if value != version.get(name)
        }
        return self._one(self.repository.update(version.head_id, changes, expected_version))

    def delete(self, entity: EntityKey[M]) -> M:
        """A tombstone version (``meta(result).deleted``); get() then returns None."""
        return self._one(self.repository.delete(_head_id(entity)))

    def restore(self, entity: EntityKey[M]) -> M:
        """A new live version with the last live content."""
        return self._one(self.repository.restore(_head_id(entity)))

    def revert(
        self, entity: EntityKey[M], to_version: Optional[int] = None, as_of: Optional[AsOf] = None
    ) -> M:
        """A new version whose content is that of ``to_version`` (or of the state at ``as_of``)."""
        return self._one(self.repository.revert(_head_id(entity), to_version, as_of))

    def get(
        self,
        entity: EntityKey[M],
        as_of: Optional[HistoryPoint] = None,
        branch: Optional[str] = None,
    ) -> Optional[M]:
        """The entity as of ``as_of`` (an instant or a commit) on ``branch``, or None."""
        return self._optional(self.repository.get(_head_id(entity), as_of, branch))

    def get_at_commit(self, entity: EntityKey[M], commit: str) -> Optional[M]:
        """The entity as of ``commit`` (id, prefix, tag or branch name) on its branch, or None."""
        return self._optional(self.repository.get_at_commit(_head_id(entity), commit))

    def history(
        self,
        entity: EntityKey[M],
        branch: Optional[str] = None,
        limit: Optional[int] = None,
        after: Optional[str] = None,
    ) -> ModelList[M]:
        """Every version of the entity, oldest first (``meta(v).changed`` / ``previous`` say what
        each changed); with ``limit``, one page and its ``cursor``."""
        return ModelList(self.model, self.repository.history(_head_id(entity), branch, limit, after))

    def versions(
        self,
        from_: Optional[AsOf] = None,
        to: Optional[AsOf] = None,
        mode: str = "from_to",
        branch: Optional[str] = None,
        limit: Optional[int] = None,
        after: Optional[str] = None,
    ) -> ModelList[M]:
        """Every version of the type over a system-time range (``Repository.versions``)."""
        return ModelList(
            self.model, self.repository.versions(from_, to, mode, branch, limit, after)
        )

    def find(
        self,
        where: Optional[Mapping[str, object]] = None,
        order_by: Optional[OrderBy] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        as_of: Optional[HistoryPoint] = None,
        branch: Optional[str] = None,
        after: Optional[str] = None,
    ) -> ModelList[M]:
        """The entities matching ``where`` (a reference may be given as an ``evcs.Ref`` or an
        instance) as of ``as_of``; with ``limit``, one page and its ``cursor``
        (``Repository.find``)."""
        return ModelList(
            self.model,
            self.repository.find(
                _where(where), order_by, limit, offset, as_of, branch, after
            ),
        )

    def count(
        self,
        where: Optional[Mapping[str, object]] = None,
        as_of: Optional[HistoryPoint] = None,
        branch: Optional[str] = None,
    ) -> int:
        return self.repository.count(_where(where), as_of, branch)

    def exists(
        self,
        where: Optional[Mapping[str, object]] = None,
        as_of: Optional[HistoryPoint] = None,
        branch: Optional[str] = None,
    ) -> bool:
        return self.repository.exists(_where(where), as_of, branch)

    def __repr__(self) -> str:
        return f"<evcs.ModelRepository {self.model.__name__} ({self.model.__entity_type__!r})>"


def _where(where: Optional[Mapping[str, object]]) -> Optional[Dict[str, object]]:
    return None if where is None else {name: _stored(value) for name, value in where.items()}


class AsyncModelRepository(Generic[M]):
    """``await session.models(Task)`` on an AsyncSession: ModelRepository's methods as
    awaitables, each run on a worker thread as AsyncRepository's are."""

    def __init__(self, blocking: ModelRepository[M]) -> None:
        self._blocking = blocking

    @property
    def model(self) -> Type[M]:
        return self._blocking.model

    async def create(self, entity: M, head_id: Optional[Union[uuid.UUID, str]] = None) -> M:
        return await asyncio.to_thread(self._blocking.create, entity, head_id)

    async def create_many(
        self, entities: Iterable[M], message: Optional[str] = None
    ) -> CreatedEntities:
        return await asyncio.to_thread(self._blocking.create_many, list(entities), message)

    async def update(self, entity: M, expected_version: Optional[int] = None) -> M:
        return await asyncio.to_thread(self._blocking.update, entity, expected_version)

    async def delete(self, entity: EntityKey[M]) -> M:
        return await asyncio.to_thread(self._blocking.delete, entity)

    async def restore(self, entity: EntityKey[M]) -> M:
        return await asyncio.to_thread(self._blocking.restore, entity)

    async def revert(
        self, entity: EntityKey[M], to_version: Optional[int] = None, as_of: Optional[AsOf] = None
    ) -> M:
        return await asyncio.to_thread(self._blocking.revert, entity, to_version, as_of)

    async def get(
        self,
        entity: EntityKey[M],
        as_of: Optional[HistoryPoint] = None,
        branch: Optional[str] = None,
    ) -> Optional[M]:
        return await asyncio.to_thread(self._blocking.get, entity, as_of, branch)

    async def get_at_commit(self, entity: EntityKey[M], commit: str) -> Optional[M]:
        return await asyncio.to_thread(self._blocking.get_at_commit, entity, commit)

    async def history(
        self,
        entity: EntityKey[M],
        branch: Optional[str] = None,
        limit: Optional[int] = None,
        after: Optional[str] = None,
    ) -> ModelList[M]:
        return await asyncio.to_thread(self._blocking.history, entity, branch, limit, after)

    async def versions(
        self,
        from_: Optional[AsOf] = None,
        to: Optional[AsOf] = None,
        mode: str = "from_to",
        branch: Optional[str] = None,
        limit: Optional[int] = None,
        after: Optional[str] = None,
    ) -> ModelList[M]:
        return await asyncio.to_thread(
            self._blocking.versions, from_, to, mode, branch, limit, after
        )

    async def find(
        self,
        where: Optional[Mapping[str, object]] = None,
        order_by: Optional[OrderBy] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        as_of: Optional[HistoryPoint] = None,
        branch: Optional[str] = None,
        after: Optional[str] = None,
    ) -> ModelList[M]:
        return await asyncio.to_thread(
            self._blocking.find, where, order_by, limit, offset, as_of, branch, after
        )

    async def count(
        self,
        where: Optional[Mapping[str, object]] = None,
        as_of: Optional[HistoryPoint] = None,
        branch: Optional[str] = None,
    ) -> int:
        return await asyncio.to_thread(self._blocking.count, where, as_of, branch)

    async def exists(
        self,
        where: Optional[Mapping[str, object]] = None,
        as_of: Optional[HistoryPoint] = None,
        branch: Optional[str] = None,
    ) -> bool:
        return await asyncio.to_thread(self._blocking.exists, where, as_of, branch)

    def __repr__(self) -> str:
        return f"<evcs.AsyncModelRepository {self.model.__name__}>"


# ---- entity types from models ---------------------------------------------------------------


def create_model(session: "Session", model: Type[Model]) -> None:
    """``session.create_model(model)``: creates the model's entity type."""
    declared = _schema(model)
    session.create_entity_type(
        declared.entity_type,
        [one.column() for one in declared.fields.values()],
        unique=declared.unique or None,
        checks=declared.checks or None,
    )


def models(session: "Session", model: Type[M]) -> ModelRepository[M]:
    """``session.models(model)``: the typed repository of the model's entity type."""
    return ModelRepository(model, session.repository(_schema(model).entity_type))


async def async_models(session: "AsyncSession", model: Type[M]) -> AsyncModelRepository[M]:
    """``await async_session.models(model)``."""
    return AsyncModelRepository(
        ModelRepository(model, (await session.repository(_schema(model).entity_type))._blocking)
    )


def schema_document(
    models: Sequence[Type[Model]], schema: Optional[PathLike] = None
) -> Dict[str, object]:
    """The schema file's document (docs/migrations.md) declaring the models' entity types, and
    the tables and entity types of the schema file ``schema`` if given. An entity type declared
    twice (by two models, or by a model and the file) is InvalidArgument naming both."""
    document: Dict[str, Any] = {"version": 1}
    declared_by: Dict[str, str] = {}
    if schema is not None:
        with open(schema, encoding="utf-8") as file:
            document.update(json.load(file))
        for name in document.get("entity_types", {}):
            declared_by[name] = f"the schema file {os.fspath(schema)}"
    entity_types: Dict[str, object] = dict(document.get("entity_types", {}))
    for model in models:
        declared = _schema(model)
        if declared.entity_type in declared_by:
            raise InvalidArgument(
                f"the entity type {declared.entity_type!r} is declared twice: by "
                f"{declared_by[declared.entity_type]} and by the model {model.__qualname__}"
            )
        declared_by[declared.entity_type] = f"the model {model.__qualname__}"
        entity_types[declared.entity_type] = declared.document()
    document["entity_types"] = entity_types
    return document


def autogenerate_models(
    engine: "Engine",
    message: str,
    models: Sequence[Type[Model]],
    schema: Optional[PathLike] = None,
    directory: PathLike = "migrations",
) -> AutogenerateResult:
    """``evcs.autogenerate`` with the models' entity types declared: compares
    ``schema_document(models, schema)`` with the database and writes the next step pair.

    The document describes the whole schema, as the schema file does: tables that neither the
    file nor the models declare are dropped by the step, so pass ``schema`` for plain tables."""
    return autogenerate(engine, message, directory=directory,
                        document=schema_document(models, schema))

