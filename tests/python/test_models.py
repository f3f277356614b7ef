"""Typed models (evcs.Model): annotated classes declare entity types; their repositories read and
write instances, through the untyped Repository, on a real database."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import uuid
from typing import Iterator, Optional

import pytest

import evcs

UTC = datetime.timezone.utc


class Project(evcs.Model):
    title: str


class Person(evcs.Model):
    __unique__ = [("email",)]
    __checks__ = {"email_has_at": "email LIKE '%@%'"}

    email: str


class Task(evcs.Model):
    title: str
    project: evcs.Ref[Project] = evcs.field(on_delete="cascade")
    owner: evcs.Ref[Person] | None = evcs.field(default=None, on_delete="set null")
    blocker: evcs.Ref[Task] | None = None
    points: int = 1


class Everything(evcs.Model):
    """One attribute of every supported type, and nullable ones in both spellings."""

    title: str
    count: int
    ratio: float
    done: bool
    price: decimal.Decimal
    day: datetime.date
    moment: datetime.datetime
    token: uuid.UUID
    blob: bytes
    document: dict[str, object]
    items: list[object]
    note: str | None = None
    amount: Optional[decimal.Decimal] = None
    when: datetime.datetime | None = None


class Release(evcs.Model):
    __entity_type__ = "software_release"

    label: str
    owner: str
    shipped: bool = False


MODELS = [Project, Person, Task, Everything, Release]


@pytest.fixture(scope="module")
def models_engine(engine: evcs.Engine) -> Iterator[evcs.Engine]:
    with engine.session(author="setup") as s:
        for model in MODELS:
            s.create_model(model)
    yield engine


def everything(**changes: object) -> Everything:
    values: dict[str, object] = dict(
        title="all",
        count=2**62,
        ratio=0.25,
        done=True,
        price=decimal.Decimal("12.345"),
        day=datetime.date(2024, 2, 29),
        moment=datetime.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC),
        token=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        blob=b"\x00\xffbytes",
        document={"nested": {"list": [1, "two", None]}, "flag": False},
        items=[1, "two", {"three": 3}],
    )
    values.update(changes)
    return Everything(**values)


def test_every_type_maps_to_its_column(models_engine: evcs.Engine) -> None:
    with models_engine.session() as s:
        assert s.repository("everything").fields == {
            "title": "text not null",
            "count": "bigint not null",
            "ratio": "double precision not null",
            "done": "boolean not null",
            "price": "numeric not null",
            "day": "date not null",
            "moment": "timestamptz not null",
            "token": "uuid not null",
            "blob": "bytea not null",
            "document": "jsonb not null",
            "items": "jsonb not null",
            "note": "text",
            "amount": "numeric",
            "when": "timestamptz",
        }
    assert evcs.schema_document([Everything])["entity_types"] == {
        "everything": {
            "columns": [
                {"name": "title", "type": "text not null"},
                {"name": "count", "type": "bigint not null"},
                {"name": "ratio", "type": "double precision not null"},
                {"name": "done", "type": "boolean not null"},
                {"name": "price", "type": "numeric not null"},
                {"name": "day", "type": "date not null"},
                {"name": "moment", "type": "timestamptz not null"},
                {"name": "token", "type": "uuid not null"},
                {"name": "blob", "type": "bytea not null"},
                {"name": "document", "type": "jsonb not null"},
                {"name": "items", "type": "jsonb not null"},
                {"name": "note", "type": "text"},
                {"name": "amount", "type": "numeric"},
                {"name": "when", "type": "timestamptz"},
            ]
        }
    }


def test_every_type_round_trips_with_its_python_type(models_engine: evcs.Engine) -> None:
    written = everything(
        note="a note",
        amount=decimal.Decimal("-0.5"),
        when=datetime.datetime(2030, 1, 1, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
    )
    with models_engine.session() as s:
        stored = s.models(Everything).create(written)
        s.commit()
        read = s.models(Everything).get(stored)
    assert read is not None
    assert read == written == stored
    assert {name: type(value) for name, value in vars(read).items() if name[0] != "_"} == {
        "title": str,
        "count": int,
        "ratio": float,
        "done": bool,
        "price": decimal.Decimal,
        "day": datetime.date,
        "moment": datetime.datetime,
        "token": uuid.UUID,
        "blob": bytes,
        "document": dict,
        "items": list,
        "note": str,
        "amount": decimal.Decimal,
        "when": datetime.datetime,
    }
    assert read.when == datetime.datetime(2030, 1, 1, 10, tzinfo=UTC)
    assert read.when is not None and read.when.tzinfo == UTC


def test_none_round_trips_in_nullable_fields_and_is_refused_in_the_others(
    models_engine: evcs.Engine,
) -> None:
    with models_engine.session() as s:
        stored = s.models(Everything).create(everything(title="nulls"))
        s.commit()
        read = s.models(Everything).get(stored)
    assert read is not None
    assert (read.note, read.amount, read.when) == (None, None, None)
    with pytest.raises(TypeError) as raised:
        everything(title=None)
    assert str(raised.value) == "Everything.title must be str, not NoneType None"
    with pytest.raises(TypeError) as raised:
        everything(amount=1.5)
    assert str(raised.value) == "Everything.amount must be Decimal or None, not float 1.5"


def test_an_attribute_assigned_a_wrong_type_is_refused_before_writing(
    models_engine: evcs.Engine,
) -> None:
    with models_engine.session() as s:
        release = s.models(Release).create(Release(label="1.0", owner="ann"))
        release.label = 2  # type: ignore[assignment]  # mypy refuses it; so does the write
        with pytest.raises(TypeError) as raised:
            s.models(Release).update(release)
    assert str(raised.value) == "Release.label must be str, not int 2"


def test_the_version_metadata_is_kept_apart_from_the_fields(models_engine: evcs.Engine) -> None:
    with models_engine.session(author="ann") as s:
        releases = s.models(Release)
        release = releases.create(Release(label="2.0", owner="bob"))
        s.commit()
        read = releases.get(release)
    assert read is not None
    assert vars(read) == {
        "label": "2.0", "owner": "bob", "shipped": False, "__evcs_version__": evcs.meta(read)
    }
    info = evcs.meta(read)
    assert (info.version, info.author, info.deleted, info.branch) == (1, "ann", False, "main")
    assert info.head_id == evcs.meta(release).head_id
    assert Release.__entity_type__ == "software_release"
    assert repr(releases) == "<evcs.ModelRepository Release ('software_release')>"


def test_a_field_named_like_the_metadata_is_refused_by_the_engine(
    models_engine: evcs.Engine,
) -> None:
    class Clash(evcs.Model):
        version: str

    with models_engine.session() as s, pytest.raises(evcs.InvalidArgument) as raised:
        s.create_model(Clash)
    assert str(raised.value).startswith(
        "column name 'version' is reserved for evcs's version metadata"
    )


def test_references_unique_keys_and_checks_come_from_the_class(models_engine: evcs.Engine) -> None:
    with models_engine.session() as s:
        assert s.repository("task").references == {
            "project": evcs.Reference("project", "cascade"),
            "owner": evcs.Reference("person", "set null"),
            "blocker": evcs.Reference("task", "restrict"),
        }
        assert s.repository("task").fields["project"] == "uuid not null"
        people = s.models(Person)
        people.create(Person(email="ann@example.com"))
        s.commit()
        people.create(Person(email="ann@example.com"))
        with pytest.raises(evcs.IntegrityError) as raised:
            s.commit()
        assert "have the same email" in str(raised.value)
    with models_engine.session() as s:
        with pytest.raises(evcs.IntegrityError) as raised:
            s.models(Person).create(Person(email="no at sign"))
        s.rollback()
        assert raised.value.sqlstate == "23514"
        assert "person_check_email_has_at" in str(raised.value)


def test_a_ref_holds_the_head_id_and_resolves_through_a_repository(
    models_engine: evcs.Engine,
) -> None:
    with models_engine.session() as s:
        projects, tasks = s.models(Project), s.models(Task)
        bridge = projects.create(Project(title="bridge"))
        roof = tasks.create(Task(title="roof", project=evcs.Ref.to(bridge)))
        s.commit()

        read = tasks.get(evcs.Ref.to(roof))
        assert read is not None
        assert read.project == evcs.Ref(Project, evcs.meta(bridge).head_id)
        assert read.project.model is Project
        assert isinstance(read.project.head_id, uuid.UUID)
        assert str(read.project.head_id) == evcs.meta(bridge).head_id
        assert repr(read.project) == f"Ref(Project, '{evcs.meta(bridge).head_id}')"
        assert hash(read.project) == hash(evcs.Ref.to(bridge))
        resolved = projects.get(read.project)
        assert resolved is not None and resolved.title == "bridge"
        # A filter takes a reference as a Ref, an instance or the head id.
        for key in (evcs.Ref.to(bridge), bridge, evcs.meta(bridge).head_id):
            assert [task.title for task in tasks.find(where={"project": key})] == ["roof"]
        assert s.repository("task").get(evcs.meta(roof).head_id)["project"] == uuid.UUID(
            evcs.meta(bridge).head_id
        )

    with pytest.raises(TypeError) as raised:
        Task(title="x", project=evcs.Ref(Person, uuid.UUID(int=1)))
    assert str(raised.value) == (
        "Task.project must be evcs.Ref[Project], "
        "not Ref(Person, '00000000-0000-0000-0000-000000000001')"
    )


def test_deletes_follow_on_delete_declared_with_field(models_engine: evcs.Engine) -> None:
    with models_engine.session() as s:
        projects, people, tasks = s.models(Project), s.models(Person), s.models(Task)
        site = projects.create(Project(title="site"))
        bob = people.create(Person(email="bob@example.com"))
        dig = tasks.create(
            Task(title="dig", project=evcs.Ref.to(site), owner=evcs.Ref.to(bob), points=5)
        )
        pour = tasks.create(Task(title="pour", project=evcs.Ref.to(site), blocker=evcs.Ref.to(dig)))
        s.commit()

        people.delete(bob)  # set null
        s.commit()
        after = tasks.get(dig)
        assert after is not None and after.owner is None and after.points == 5

        tasks.delete(dig)  # restrict: pour is blocked by dig
        with pytest.raises(evcs.IntegrityError):
            s.commit()
    with models_engine.session() as s:
        projects, tasks = s.models(Project), s.models(Task)
        projects.delete(site)  # cascade: both tasks go
        s.commit()
        assert tasks.get(dig) is None and tasks.get(pour) is None
        assert evcs.meta(tasks.history(pour)[-1]).deleted


def test_reads_return_instances_with_their_versions(models_engine: evcs.Engine) -> None:
    with models_engine.session(author="ann") as s:
        projects = s.models(Project)
        tower = projects.create(Project(title="tower"))
        s.commit("tower")
        first = evcs.meta(projects.get(tower) or tower).valid_from
        assert first is not None
        tower.title = "tall tower"
        updated = projects.update(tower)
        assert evcs.meta(updated).version == 2
        s.commit("taller")
        s.tag("tall")
        s.create_branch("redesign")
    with models_engine.session(branch="redesign", author="bob") as s:
        current = s.models(Project).get(tower)
        assert current is not None
        current.title = "round tower"
        s.models(Project).update(current)
        s.commit("round")
    with models_engine.session(author="ann") as s:
        projects = s.models(Project)
        history = projects.history(tower)
        assert [(p.title, evcs.meta(p).version, evcs.meta(p).changed) for p in history] == [
            ("tower", 1, ["title"]),
            ("tall tower", 2, ["title"]),
        ]
        assert evcs.meta(history[1]).previous == {"title": "tower"}
        assert all(isinstance(p, Project) for p in history)
        as_first = projects.get(tower, as_of=first)
        assert as_first is not None and as_first.title == "tower"
        at_tag = projects.get_at_commit(tower, "tall")
        assert at_tag is not None and at_tag.title == "tall tower"
        assert (projects.get(tower, as_of="tall") or tower).title == "tall tower"
        on_branch = projects.get(tower, branch="redesign")
        assert on_branch is not None and on_branch.title == "round tower"
        assert evcs.meta(on_branch).branch == "redesign"
        assert [p.title for p in projects.find(where={"title": "round tower"}, branch="redesign")] == [
            "round tower"
        ]
        assert [p.title for p in projects.find(where={"title": "tower"}, as_of=first)] == ["tower"]
        assert projects.count(where={"title": "tall tower"}) == 1
        assert projects.exists(where={"title": "round tower"}, branch="redesign")
        assert not projects.exists(where={"title": "round tower"})
        ranged = projects.versions(from_=first)
        assert all(isinstance(p, Project) for p in ranged)
        assert [p.title for p in ranged if evcs.meta(p).head_id == evcs.meta(tower).head_id] == [
            "tower", "tall tower"
        ]
        assert list(projects.history(tower).to_pandas()["title"]) == ["tower", "tall tower"]


def test_pages_keep_the_cursor(models_engine: evcs.Engine) -> None:
    with models_engine.session() as s:
        releases = s.models(Release)
        created = releases.create_many(
            [Release(label=f"page {n}", owner="pager") for n in range(5)], "five releases"
        )
        assert len(created) == 5
        page = releases.find(where={"owner": "pager"}, order_by="label", limit=2)
        walked = [release.label for release in page]
        while page.cursor is not None:
            page = releases.find(
                where={"owner": "pager"}, order_by="label", limit=2, after=page.cursor
            )
            walked += [release.label for release in page]
        assert walked == [f"page {n}" for n in range(5)]
        assert isinstance(page, evcs.ModelList) and isinstance(page.versions, evcs.VersionList)


def test_update_writes_only_what_changed_since_the_read(models_engine: evcs.Engine) -> None:
    with models_engine.session() as s:
        projects, tasks = s.models(Project), s.models(Task)
        home = projects.create(Project(title="home"))
        wall = tasks.create(Task(title="wall", project=evcs.Ref.to(home), points=2))
        s.commit()
        mine = tasks.get(wall)
        theirs = tasks.get(wall)
        assert mine is not None and theirs is not None
        theirs.points = 8
        tasks.update(theirs)
        s.commit()
        mine.title = "brick wall"
        written = tasks.update(mine)
        assert (written.title, written.points) == ("brick wall", 8)
        s.commit()
        assert evcs.meta(tasks.history(wall)[-1]).changed == ["title"]
        stale = tasks.history(wall)[0]
        stale.title = "stone wall"
        with pytest.raises(evcs.ConcurrentModification):
            tasks.update(stale, expected_version=evcs.meta(stale).version)
        s.rollback()


def test_delete_restore_and_revert_return_instances(models_engine: evcs.Engine) -> None:
    with models_engine.session() as s:
        projects = s.models(Project)
        shed = projects.create(Project(title="shed"))
        s.commit()
        shed.title = "big shed"
        projects.update(shed)
        s.commit()
        tombstone = projects.delete(evcs.Ref.to(shed))
        assert isinstance(tombstone, Project) and evcs.meta(tombstone).deleted
        assert tombstone.title == "big shed"
        s.commit()
        assert projects.get(shed) is None
        restored = projects.restore(evcs.meta(shed).head_id)
        assert (restored.title, evcs.meta(restored).deleted) == ("big shed", False)
        s.commit()
        reverted = projects.revert(shed, to_version=1)
        assert reverted.title == "shed" and evcs.meta(reverted).version == 5


def test_the_async_twin(models_engine: evcs.Engine) -> None:
    async def scenario() -> list[object]:
        async with models_engine.async_session() as s:
            projects = await s.models(Project)
            tasks = await s.models(Task)
            lake = await projects.create(Project(title="lake"))
            swim = await tasks.create(Task(title="swim", project=evcs.Ref.to(lake)))
            await s.commit()
            swim.points = 3
            await tasks.update(swim)
            await s.commit()
            read = await tasks.get(swim)
            assert read is not None
            owner = await projects.get(read.project)
            assert owner is not None
            return [
                owner.title,
                read.points,
                [task.title for task in await tasks.find(where={"project": lake})],
                [task.points for task in await tasks.history(swim)],
                await tasks.count(where={"project": lake}),
                repr(tasks),
            ]

    assert asyncio.run(scenario()) == [
        "lake", 3, ["swim"], [1, 3], 1, "<evcs.AsyncModelRepository Task>"
    ]


def test_create_model_in_an_async_session(engine: evcs.Engine) -> None:
    class Gadget(evcs.Model):
        name: str

    async def scenario() -> list[str]:
        async with engine.async_session() as s:
            await s.create_model(Gadget)
        async with engine.async_session() as s:
            gadgets = await s.models(Gadget)
            await gadgets.create(Gadget(name="lever"))
            await s.commit()
            return [gadget.name for gadget in await gadgets.find()]

    assert asyncio.run(scenario()) == ["lever"]


def test_a_model_the_database_lags_behind_is_refused(models_engine: evcs.Engine) -> None:
    class Project(evcs.Model):  # the module's Project with a field the database lacks
        title: str
        budget: decimal.Decimal | None = None

    with models_engine.session() as s, pytest.raises(evcs.InvalidArgument) as raised:
        s.models(Project)
    assert str(raised.value).startswith(
        "model Project declares fields the entity type 'project' lacks: budget (migrate the "
        "database: evcs.autogenerate_models)"
    )


def test_constructor_errors_name_the_class_and_field() -> None:
    project = evcs.Ref(Project, uuid.UUID(int=7))
    with pytest.raises(TypeError) as raised:
        Task(title="x")
    assert str(raised.value) == "Task() needs the field 'project'"
    with pytest.raises(TypeError) as raised:
        Task(title="x", project=project, colour="red")
    assert str(raised.value) == (
        "Task has no field 'colour'; its fields: title, project, owner, blocker, points"
    )
    task = Task(title="x", project=project)
    assert repr(task) == (
        "Task(title='x', project=Ref(Project, '00000000-0000-0000-0000-000000000007'), "
        "owner=None, blocker=None, points=1)"
    )
    with pytest.raises(evcs.InvalidArgument) as meta_raised:
        evcs.meta(task)
    assert str(meta_raised.value).startswith(
        f"{task!r} was neither read nor written through a repository: it has no version"
    )


def test_unsupported_annotations_name_the_class_and_attribute() -> None:
    supported = (
        "a model attribute is one of str, int, float, bool, decimal.Decimal, datetime.date, "
        "datetime.datetime, uuid.UUID, bytes, dict[...] and list[...] (jsonb), evcs.Ref[Model], "
        "each optionally `| None`"
    )
    with pytest.raises(TypeError) as raised:

        class Alarm(evcs.Model):
            ring: datetime.time

    assert str(raised.value) == f"Alarm.ring: datetime.time has no column type; {supported}"
    with pytest.raises(TypeError) as raised:

        class Either(evcs.Model):
            value: int | str

    assert str(raised.value) == f"Either.value: the union int | str has no column type; {supported}"
    with pytest.raises(TypeError) as raised:

        class Pointer(evcs.Model):
            target: evcs.Ref[str]  # type: ignore[type-var]  # what mypy refuses

    assert str(raised.value) == (
        f"Pointer.target: evcs.Ref takes an evcs.Model subclass, not str; {supported}"
    )
    with pytest.raises(TypeError) as raised:

        class Misplaced(evcs.Model):
            title: str = evcs.field(on_delete="cascade")

    assert str(raised.value) == (
        f"Misplaced.title: on_delete applies to evcs.Ref attributes only; {supported}"
    )
    with pytest.raises(TypeError) as raised:

        class BadKey(evcs.Model):
            __unique__ = [("mail",)]
            email: str

    assert str(raised.value) == (
        "BadKey.__unique__: each key is a tuple of field names (email), not ['mail']"
    )


def test_names_and_forward_references() -> None:
    class HTTPRequestLog(evcs.Model):
        path: str

    assert HTTPRequestLog.__entity_type__ == "http_request_log"
    assert Task.__entity_type__ == "task"
    document = evcs.schema_document([Task])["entity_types"]
    assert document == {
        "task": {
            "columns": [
                {"name": "title", "type": "text not null"},
                {"name": "project", "references": "project", "on_delete": "cascade",
                 "type": "uuid not null"},
                {"name": "owner", "references": "person", "on_delete": "set null"},
                {"name": "blocker", "references": "task", "on_delete": "restrict"},
                {"name": "points", "type": "bigint not null"},
            ]
        }
    }
    assert evcs.schema_document([Person])["entity_types"] == {
        "person": {
            "columns": [{"name": "email", "type": "text not null"}],
            "unique": [["email"]],
            "checks": {"email_has_at": "email LIKE '%@%'"},
        }
    }
