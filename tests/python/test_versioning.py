"""Versioned entities through Python: create/update/get/history, time travel at the boundary
instants, one version per transaction, delete/restore/revert, optimistic concurrency, find
filters (including injection attempts), count/exists, bad input, VersionList.to_pandas."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Iterator

import pytest

import evcs

UTC = datetime.timezone.utc
MICRO = datetime.timedelta(microseconds=1)


@pytest.fixture
def engine(empty_schema_engine: evcs.Engine) -> evcs.Engine:
    """A new engine per test on an emptied schema: the engine installs its catalog again."""
    return empty_schema_engine


@pytest.fixture
def s(engine: evcs.Engine) -> Iterator[evcs.Session]:
    with engine.session(author="alice") as setup:
        setup.create_entity_type(
            "project",
            {
                "name": "text not null",
                "budget": "numeric(14,2)",
                "status": "text",
                "tags": "text[]",
                "meta": "jsonb",
            },
        )
    with engine.session(author="alice") as session:
        yield session


def test_create_get_update_and_history(s: evcs.Session) -> None:
    repo = s.repository("project")
    created = repo.create(
        {"name": "Bridge", "budget": decimal.Decimal("1000.50"), "tags": ["a", "b"],
         "meta": {"k": [1, 2]}}
    )
    assert isinstance(created, evcs.Version)
    assert created.version == 1
    assert created.branch == "main"
    assert created.author == "alice"
    assert created.valid_from is None, "pending until the commit stamps it"
    assert created.deleted is False
    assert uuid.UUID(created.head_id).version == 4
    s.commit("create bridge")

    current = repo.get(created.head_id)
    assert current is not None
    assert dict(current) == {
        "name": "Bridge", "budget": decimal.Decimal("1000.50"), "status": None, "tags": ["a", "b"],
        "meta": {"k": [1, 2]},
    }
    assert list(current) == ["budget", "meta", "name", "status", "tags"], "ordered by name"
    assert list(current.fields) == ["budget", "meta", "name", "status", "tags"]
    assert type(current["budget"]) is decimal.Decimal
    assert current.valid_to is None
    assert isinstance(current.valid_from, datetime.datetime)
    assert current.valid_from.tzinfo is not None
    with pytest.raises(KeyError, match="nmae"):
        current["nmae"]

    updated = repo.update(uuid.UUID(created.head_id), {"budget": 1200, "status": "active"})
    assert updated.version == 2
    assert updated["name"] == "Bridge", "unchanged fields carry over"
    s.commit()

    history = repo.history(created.head_id)
    assert isinstance(history, evcs.VersionList)
    assert [v.version for v in history] == [1, 2]
    assert history[0].valid_to == history[1].valid_from
    assert history[1].changed == ["budget", "status"]
    assert history[1]["budget"] == decimal.Decimal("1200.00")
    assert history[1].parent_branch is None
    assert history[1].merged_from is None


def test_explicit_head_id_and_python_values(s: evcs.Session) -> None:
    repo = s.repository("project")
    head = uuid.UUID("6f1c0a8e-1111-4222-8333-444455556666")
    created = repo.create(
        {"name": "dated", "meta": {"when": "x"}, "budget": decimal.Decimal("0.10")}, head_id=head
    )
    assert created.head_id == str(head)
    assert created["budget"] == decimal.Decimal("0.10")
    with pytest.raises(evcs.InvalidArgument, match="naive datetime"):
        repo.update(head, {"status": datetime.datetime(2024, 1, 1)})
    with pytest.raises(TypeError, match="object"):
        repo.update(head, {"status": object()})
    stamped = repo.update(head, {"status": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)})
    assert stamped["status"] == "2024-01-02T03:04:05+00:00"


def test_as_of_reads_at_the_boundary_instants(s: evcs.Session) -> None:
    repo = s.repository("project")
    head = repo.create({"name": "v1"}).head_id
    s.commit()
    repo.update(head, {"name": "v2"})
    s.commit()
    first, second = repo.history(head)
    assert first.valid_from is not None and second.valid_from is not None
    assert repo.get(head, as_of=first.valid_from - MICRO) is None, "before creation"
    at_first = repo.get(head, as_of=first.valid_from)
    assert at_first is not None and at_first["name"] == "v1", "valid_from is inclusive"
    just_before = repo.get(head, as_of=second.valid_from - MICRO)
    assert just_before is not None and just_before["name"] == "v1"
    at_second = repo.get(head, as_of=second.valid_from)
    assert at_second is not None and at_second["name"] == "v2", "valid_to is exclusive"
    micros = (second.valid_from - datetime.datetime(1970, 1, 1, tzinfo=UTC)) // MICRO
    by_int = repo.get(head, as_of=micros - 1)
    assert by_int is not None and by_int["name"] == "v1", "int microseconds work too"
    other_zone = second.valid_from.astimezone(datetime.timezone(datetime.timedelta(hours=5)))
    in_zone = repo.get(head, as_of=other_zone)
    assert in_zone is not None and in_zone["name"] == "v2"
    with pytest.raises(evcs.InvalidArgument, match="naive datetime"):
        repo.get(head, as_of=datetime.datetime(2024, 1, 1))
    with pytest.raises(TypeError):
        repo.get(head, as_of=1.5)  # type: ignore[arg-type]
    with pytest.raises(evcs.NotFound, match="no commit, tag or branch"):
        repo.get(head, as_of="yesterday")  # a str names a commit (docs/python.md)
    s.rollback()


def test_writing_twice_in_one_transaction_makes_one_version(s: evcs.Session) -> None:
    repo = s.repository("project")
    head = repo.create({"name": "draft"}).head_id
    repo.update(head, {"budget": 5})
    s.commit()
    repo.update(head, {"status": "a"})
    again = repo.update(head, {"status": "b"})
    assert again.version == 2
    seen = repo.get(head)
    assert seen is not None and seen["status"] == "b", "reads see the transaction's own write"
    s.commit()
    history = repo.history(head)
    assert len(history) == 2
    assert history[0]["budget"] == decimal.Decimal("5.00")
    assert history[1]["status"] == "b"


def test_delete_restore_revert_and_optimistic_concurrency(s: evcs.Session) -> None:
    repo = s.repository("project")
    head = repo.create({"name": "v1", "budget": 10}).head_id
    s.commit()
    repo.update(head, {"name": "v2"}, expected_version=1)
    s.commit()
    with pytest.raises(evcs.ConcurrentModification) as stale:
        repo.update(head, {"name": "stale"}, expected_version=1)
    assert stale.value.sqlstate == "EVC01"
    assert isinstance(stale.value, evcs.Conflict)
    s.rollback()

    tombstone = repo.delete(head)
    assert tombstone.deleted is True
    assert tombstone.version == 3
    s.commit()
    assert repo.get(head) is None
    with pytest.raises(evcs.NotFound) as missing:
        repo.update(head, {"name": "x"})
    assert missing.value.sqlstate == "EVN01"
    s.rollback()

    restored = repo.restore(head)
    assert restored.version == 4
    assert restored["name"] == "v2"
    s.commit()
    reverted = repo.revert(head, to_version=1)
    assert reverted.version == 5
    assert reverted["name"] == "v1"
    s.commit()
    history = repo.history(head)
    assert len(history) == 5
    assert [v.deleted for v in history] == [False, False, True, False, False]
    as_of_v2 = history[1].valid_from
    assert repo.revert(head, as_of=as_of_v2)["name"] == "v2"
    s.commit()
    with pytest.raises(evcs.NotFound):
        repo.revert(head, to_version=99)
    s.rollback()
    with pytest.raises(evcs.InvalidArgument):
        repo.revert(head)
    with pytest.raises(evcs.InvalidArgument):
        repo.update(head, {"name": "x"}, expected_version=-1)


def test_find_count_exists_with_structured_filters(s: evcs.Session) -> None:
    repo = s.repository("project")
    repo.create({"name": "alpha", "budget": 50, "status": "active"})
    repo.create({"name": "beta", "budget": 150, "status": "active"})
    repo.create({"name": "gamma", "budget": 300, "status": "closed"})
    delta = repo.create({"name": "delta", "budget": 500}).head_id
    s.commit()
    before_delete = repo.history(delta)[-1].valid_from
    repo.delete(delta)
    s.commit()

    found = repo.find(where={"status": "active", "budget": {"gt": 100}})
    assert [v["name"] for v in found] == ["beta"]
    either = repo.find(
        where={"or": [{"status": "closed"}, {"name": {"in": ["alpha", "zeta"]}}]},
        order_by="-budget",
    )
    assert [v["name"] for v in either] == ["gamma", "alpha"]
    page = repo.find(order_by=["name"], limit=2, offset=1)
    assert [v["name"] for v in page] == ["beta", "gamma"]

    no_status = {"not": {"status": {"is_null": False}}}
    assert repo.count(where=no_status) == 0, "delta, the only one without status, is deleted"
    assert repo.count(where=no_status, as_of=before_delete) == 1, "but it existed before"
    assert repo.count() == 3
    assert repo.exists(where={"name": {"like": "%mm%"}}) is True

    # Injection attempts in values and names are parameters or refused, never SQL.
    assert repo.exists(where={"name": "x' OR '1'='1"}) is False
    assert repo.count(where={"name": "'; DROP TABLE project; --"}) == 0
    with pytest.raises(evcs.InvalidArgument):
        repo.find(where={"name; DROP TABLE project": "x"})
    with pytest.raises(evcs.InvalidArgument):
        repo.find(where={"nmae": "alpha"})
    with pytest.raises(evcs.InvalidArgument):
        repo.find(where={"budget": {"between": 1}})
    with pytest.raises(evcs.InvalidArgument):
        repo.find(order_by="name; DROP TABLE project")
    with pytest.raises(evcs.InvalidArgument):
        repo.find(limit=-1)
    s.rollback()
    assert repo.count() == 3, "the table survived"


def test_bad_input_is_refused_and_writes_nothing(s: evcs.Session) -> None:
    with pytest.raises(evcs.NotFound):
        s.repository("no_such_type")
    s.rollback()
    with pytest.raises(evcs.InvalidArgument):
        s.repository("project; DROP TABLE x")
    s.rollback()
    repo = s.repository("project")
    with pytest.raises(evcs.InvalidArgument):
        repo.create({"nmae": "typo"})
    with pytest.raises(evcs.InvalidArgument):
        repo.create({"version": 7})
    with pytest.raises(evcs.InvalidArgument) as wrong_type:
        repo.create({"name": "x", "budget": "not a number"})
    assert wrong_type.value.sqlstate == "22P02"
    s.rollback()
    with pytest.raises(evcs.IntegrityError):
        repo.create({"budget": 1})
    s.rollback()
    with pytest.raises(evcs.InvalidArgument):
        repo.update("not-a-uuid", {"name": "x"})
    s.rollback()
    with pytest.raises(evcs.NotFound):
        repo.update("00000000-0000-0000-0000-000000000000", {"name": "x"})
    s.rollback()
    with pytest.raises(evcs.InvalidArgument):
        repo.create(["name", "x"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cannot send a object as an entity field"):
        repo.create({"name": object()})
    assert repo.count() == 0

    with pytest.raises(evcs.InvalidArgument):
        s.create_entity_type("Bad-Name", {})
    s.rollback()
    with pytest.raises(evcs.InvalidArgument):
        s.create_entity_type("ok", {"x": "text); DROP TABLE project; --"})
    s.rollback()
    with pytest.raises(evcs.InvalidArgument):
        s.create_entity_type("ok", ["x text"])  # type: ignore[arg-type]
    assert s.scalar("SELECT to_regclass('ok_version')") is None


def test_columns_as_pairs_keep_their_order(s: evcs.Session) -> None:
    s.create_entity_type("task", [("title", "text not null"), ("due", "date"), ("done", "bool")])
    s.commit()
    columns = s.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'task_version' "
        "AND column_name IN ('title', 'due', 'done') ORDER BY ordinal_position"
    )
    assert [row[0] for row in columns] == ["title", "due", "done"]
    task = s.repository("task").create(
        {"title": "t", "due": datetime.date(2024, 2, 29), "done": False}
    )
    assert dict(task) == {"title": "t", "due": datetime.date(2024, 2, 29), "done": False}
    assert s.repository("task").fields == {"title": "text not null", "due": "date", "done": "bool"}


def test_columns_as_name_type_mappings_keep_their_order(s: evcs.Session) -> None:
    s.create_entity_type("ticket", [{"name": "name", "type": "text not null"},
                                    {"type": "int", "name": "points"}])
    s.commit()
    assert s.repository("ticket").fields == {"name": "text not null", "points": "int"}
    assert dict(s.repository("ticket").create({"name": "t", "points": 3})) == {
        "name": "t", "points": 3}
    for mapping in ({"name": "x", "kind": "text"}, {"name": "x"},
                    {"name": "x", "type": "text", "default": "y"}):
        with pytest.raises(evcs.InvalidArgument, match='needs the keys "name" and "type"'):
            s.create_entity_type("other", [mapping])
    with pytest.raises(evcs.InvalidArgument, match="must be str"):
        s.create_entity_type("other", [{"name": "x", "type": 5}])  # type: ignore[arg-type]
    assert s.scalar("SELECT to_regclass('other_version')") is None


def test_version_list_to_pandas_and_html(s: evcs.Session) -> None:
    repo = s.repository("project")
    for number in range(25):
        repo.create({"name": f"p{number:02}", "budget": number})
    s.commit()
    found = repo.find(order_by="name")
    frame = found.to_pandas()
    assert list(frame.columns) == [
        "head_id", "version", "valid_from", "valid_to", "deleted", "author", "branch",
        "budget", "meta", "name", "status", "tags",
    ], "fields in the order the JSON records carry them (by name)"
    assert frame.shape == (25, 12)
    assert list(frame["name"][:2]) == ["p00", "p01"]
    assert frame["budget"][3] == decimal.Decimal("3.00")
    markup = found._repr_html_()
    assert markup.count("<tr>") == 21, "header plus 20 rows"
    assert "<p>5 more rows</p>" in markup
    empty = repo.find(where={"name": "none"}).to_pandas()
    assert empty.shape == (0, 7)
