"""Column changes of an entity type through Python (docs/migrations.md): add, rename and drop keep every
version; bad changes raise the right error and change nothing; the SQL functions in a step."""

from __future__ import annotations

import decimal
from typing import Iterator

import pytest

import evcs


@pytest.fixture
def engine(empty_schema_engine: evcs.Engine) -> evcs.Engine:
    """A new engine per test on an emptied schema: the engine installs its catalog again."""
    return empty_schema_engine


@pytest.fixture
def s(engine: evcs.Engine) -> Iterator[evcs.Session]:
    with engine.session(author="alice") as setup:
        setup.create_entity_type("project", {"name": "text not null", "budget": "numeric(14,2)"})
    with engine.session(author="alice") as session:
        yield session


def catalog_columns(s: evcs.Session) -> object:
    return s.execute(
        "SELECT columns FROM evcs_entity_type WHERE name = 'project'"
    ).scalar()


def test_add_rename_and_drop_keep_the_history(s: evcs.Session) -> None:
    repo = s.repository("project")
    head = repo.create({"name": "Bridge", "budget": decimal.Decimal("10.00")}).head_id
    s.commit()
    repo.update(head, {"budget": decimal.Decimal("12.50")})
    s.commit()
    first = repo.history(head)[0]

    s.add_column("project", "status", "text", default="planned")
    s.commit()
    repo = s.repository("project")
    assert [dict(v) for v in repo.history(head)] == [
        {"name": "Bridge", "budget": decimal.Decimal("10.00"), "status": None},
        {"name": "Bridge", "budget": decimal.Decimal("12.50"), "status": None},
    ]
    assert dict(repo.get(head, as_of=first.valid_from)) == {  # type: ignore[arg-type]
        "name": "Bridge", "budget": decimal.Decimal("10.00"), "status": None}
    assert repo.create({"name": "Tunnel"})["status"] == "planned"
    assert repo.update(head, {"status": "built"})["status"] == "built"
    s.commit()

    s.rename_column("project", "budget", "cost")
    s.drop_column("project", "status")
    s.commit()
    repo = s.repository("project")
    history = repo.history(head)
    assert [dict(v) for v in history] == [
        {"name": "Bridge", "cost": decimal.Decimal("10.00")},
        {"name": "Bridge", "cost": decimal.Decimal("12.50")},
        {"name": "Bridge", "cost": decimal.Decimal("12.50")},
    ]
    assert [v.version for v in history] == [1, 2, 3]
    assert catalog_columns(s) == [{"name": "name", "type": "text not null"},
                                  {"name": "cost", "type": "numeric(14,2)"}]


def test_a_not_null_column_gives_existing_versions_its_default(s: evcs.Session) -> None:
    repo = s.repository("project")
    head = repo.create({"name": "Bridge"}).head_id
    s.commit()
    with pytest.raises(evcs.InvalidArgument) as missing:
        s.add_column("project", "rank", "int not null")
    assert missing.value.code == "invalid_argument"
    assert missing.value.sqlstate == "EVI01"
    assert "has no default" in str(missing.value)
    s.rollback()
    s.add_column("project", "rank", "int not null", "3")
    s.commit()
    assert s.repository("project").get(head)["rank"] == 3  # type: ignore[index]


@pytest.mark.parametrize(
    ("change", "error", "sqlstate", "message"),
    [
        (lambda s: s.add_column("nope", "x", "text"), evcs.NotFound, "EVN01",
         "unknown entity type 'nope'"),
        (lambda s: s.drop_column("project", "nope"), evcs.NotFound, "EVN01",
         "entity type 'project' has no column 'nope'"),
        (lambda s: s.rename_column("project", "nope", "x"), evcs.NotFound, "EVN01",
         "entity type 'project' has no column 'nope'"),
        (lambda s: s.add_column("project", "x", "text); DROP TABLE project; --"),
         evcs.InvalidArgument, "EVI01", "has an invalid type"),
        (lambda s: s.add_column("project", "Bad Name", "text"), evcs.InvalidArgument, "EVI01",
         "invalid column name 'Bad Name'"),
        (lambda s: s.rename_column("project", "name", "budget"), evcs.InvalidArgument, "EVI01",
         "already has a column 'budget'"),
        (lambda s: s.drop_column("project", "valid_from"), evcs.InvalidArgument, "EVI01",
         "column 'valid_from' is evcs's version metadata"),
    ],
)
def test_bad_changes_raise_and_change_nothing(
    s: evcs.Session, change: object, error: type, sqlstate: str, message: str
) -> None:
    before = catalog_columns(s)
    with pytest.raises(error) as raised:
        change(s)  # type: ignore[operator]
    assert raised.value.sqlstate == sqlstate  # type: ignore[attr-defined]
    assert message in str(raised.value)
    assert catalog_columns(s) == before


def test_the_sql_functions_run_in_a_statement(s: evcs.Session) -> None:
    s.execute("SELECT evcs_add_column('project', 'tags', 'text[]')")
    s.commit()
    created = s.repository("project").create({"name": "Dam", "tags": ["a", "b"]})
    assert created["tags"] == ["a", "b"]


def test_a_repository_opened_before_a_change_says_so(
    engine: evcs.Engine, s: evcs.Session
) -> None:
    head = s.repository("project").create({"name": "Bridge"}).head_id
    s.commit()
    with engine.session(author="bob", autocommit=True) as other:
        stale = other.repository("project")
        s.rename_column("project", "budget", "cost")
        s.commit()
        with pytest.raises(evcs.InvalidArgument) as raised:
            stale.update(head, {"name": "Tunnel"})
        assert raised.value.sqlstate == "42703"
        assert (
            "the definition of entity type 'project' changed since this repository was opened; "
            'open it again (repository("project"))'
        ) in str(raised.value)
        assert other.repository("project").update(head, {"name": "Tunnel"}).version == 2
