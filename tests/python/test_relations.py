"""References, unique keys and checks through Python: declared with create_entity_type, held per
branch by the database at every commit (IntegrityError, nothing written), deletes that cascade or
clear references in the same commit, plain SQL and concurrent writers that cannot break them."""

from __future__ import annotations

import asyncio
import datetime
import threading
from typing import Any, Dict, List, Optional

import pytest

import evcs
from conftest import run_docs_snippet

MICRO = datetime.timedelta(microseconds=1)


@pytest.fixture
def engine(empty_schema_engine: evcs.Engine) -> evcs.Engine:
    with empty_schema_engine.session() as s:
        s.create_entity_type("project", {"title": "text"})
        s.create_entity_type(
            "person", {"email": "text", "org": "text"},
            unique=[["email"], ["org", "email"]],
            checks={"email_has_at": "email LIKE '%@%'"},
        )
        s.create_entity_type("task", {
            "title": "text",
            "project_id": {"references": "project", "on_delete": "cascade", "type": "uuid not null"},
            "owner_id": {"references": "person", "on_delete": "set null"},
            "blocker_id": {"references": "task"},
        })
        s.commit()
    return empty_schema_engine


def make(engine: evcs.Engine) -> Dict[str, str]:
    """A project, a person and a task of both, committed on main."""
    with engine.session() as s:
        project = s.repository("project").create({"title": "p"}).head_id
        person = s.repository("person").create({"email": "a@x"}).head_id
        task = s.repository("task").create(
            {"title": "t", "project_id": project, "owner_id": person}).head_id
        s.commit("a project, its owner, a task")
    return {"project": str(project), "person": str(person), "task": str(task)}


def fields(engine: evcs.Engine, entity_type: str, head_id: str, branch: str = "main",
           as_of: Optional[datetime.datetime] = None) -> Any:
    with engine.session(branch) as s:
        version = s.repository(entity_type).get(head_id, as_of=as_of)
        if version is None:
            return "gone"
        return {k: (str(v) if v is not None else None) for k, v in version.fields.items()}


def test_the_repository_describes_its_references(engine: evcs.Engine) -> None:
    with engine.session() as s:
        repo = s.repository("task")
        assert repo.fields == {"title": "text", "project_id": "uuid not null",
                               "owner_id": "uuid", "blocker_id": "uuid"}
        assert repo.references == {
            "project_id": evcs.Reference("project", "cascade"),
            "owner_id": evcs.Reference("person", "set null"),
            "blocker_id": evcs.Reference("task", "restrict"),
        }
        assert s.repository("project").references == {}


def test_a_dangling_reference_is_refused_at_commit_and_writes_nothing(engine: evcs.Engine) -> None:
    ids = make(engine)
    with engine.session() as s:
        gone = s.repository("project").create({"title": "gone"}).head_id
        s.commit()
        s.repository("project").delete(gone)
        s.commit()
        count = s.scalar("SELECT count(*) FROM task_version")
        s.repository("task").create({"title": "dangling", "project_id": gone})
        with pytest.raises(evcs.IntegrityError, match=f"refers to project {gone} \\(field project_id\\)"):
            s.commit()
        assert s.scalar("SELECT count(*) FROM task_version") == count
        s.repository("task").create({"title": "fine", "project_id": ids["project"]})
        s.commit()
        assert s.scalar("SELECT count(*) FROM task_version") == count + 1


def test_restrict_refuses_deleting_what_is_referred_to(engine: evcs.Engine) -> None:
    ids = make(engine)
    with engine.session() as s:
        tasks = s.repository("task")
        blocker = tasks.create({"title": "blocker", "project_id": ids["project"]}).head_id
        tasks.update(ids["task"], {"blocker_id": blocker})
        s.commit()
        tasks.delete(blocker)
        with pytest.raises(evcs.IntegrityError, match="still refers to it \\(field blocker_id\\)"):
            s.commit()
        assert fields(engine, "task", str(blocker))["title"] == "blocker"


def test_cascade_and_set_null_are_versions_of_the_same_commit(engine: evcs.Engine) -> None:
    ids = make(engine)
    with engine.session() as s:
        s.repository("person").delete(ids["person"])
        s.commit("the owner leaves")
        cleared = s.commit_log(limit=1)[0]
        assert cleared.changes == 2
        assert fields(engine, "task", ids["task"])["owner_id"] is None
        assert fields(engine, "task", ids["task"], as_of=cleared.stamp - MICRO)["owner_id"] == ids["person"]
        s.repository("project").delete(ids["project"])
        s.commit("drop the project")
        dropped = s.commit_log(limit=1)[0]
        assert dropped.changes == 2
        history = s.repository("task").history(ids["task"])
        assert [v.deleted for v in history] == [False, False, True]
        assert history[-1].valid_from == dropped.stamp
    assert fields(engine, "task", ids["task"]) == "gone"


def test_rules_hold_per_branch_and_merges_respect_them(engine: evcs.Engine) -> None:
    ids = make(engine)
    with engine.session() as s:
        s.create_branch("b")
        s.commit()
    with engine.session("b") as b:
        b.repository("project").delete(ids["project"])
        b.commit("drop the project on b")
        theirs = str(b.repository("person").create({"email": "new@x"}).head_id)
        b.commit("new@x on b")
    assert fields(engine, "task", ids["task"], branch="b") == "gone"
    assert fields(engine, "task", ids["task"])["title"] == "t"
    with engine.session() as s:
        ours = str(s.repository("person").create({"email": "new@x"}).head_id)
        s.commit("new@x on main")
        versions = s.scalar("SELECT count(*) FROM person_version")
        with pytest.raises(evcs.MergeConflict) as refused:
            s.merge("b")
        assert [(c.kind, c.head_id, c.constraint, c.other_head_id)
                for c in refused.value.conflicts] == [("unique", theirs, "email", ours)]
        assert s.scalar("SELECT count(*) FROM person_version") == versions
    assert fields(engine, "task", ids["task"])["title"] == "t"
    # Without b's person, the merge brings the project's delete, which cascades to main's task.
    with engine.session() as s:
        s.merge("b", resolutions=[evcs.Resolution("person", theirs, "deleted", "ours")])
    assert fields(engine, "task", ids["task"]) == "gone"
    assert fields(engine, "person", theirs) == "gone"


def test_checks_and_bad_declarations(engine: evcs.Engine) -> None:
    with engine.session(autocommit=True) as s:
        with pytest.raises(evcs.IntegrityError, match="person_check_email_has_at"):
            s.repository("person").create({"email": "no at sign"})
        with pytest.raises(evcs.NotFound, match="unknown entity type 'nowhere'"):
            s.create_entity_type("a", {"x": {"references": "nowhere"}})
        with pytest.raises(evcs.InvalidArgument, match="on_delete"):
            s.create_entity_type("a", {"x": {"references": "project", "on_delete": "explode"}})
        with pytest.raises(evcs.InvalidArgument, match="reference column"):
            s.create_entity_type("a", {"x": {"references": "project", "bogus": "1"}})
        with pytest.raises(evcs.InvalidArgument, match="unique key column 'y'"):
            s.create_entity_type("a", {"x": "int"}, unique=[["y"]])
        with pytest.raises(evcs.InvalidArgument, match="list of keys"):
            s.create_entity_type("a", {"x": "int"}, unique=["x"])
        with pytest.raises(evcs.InvalidArgument, match="invalid check"):
            s.create_entity_type("a", {"x": "int"}, checks={"c": "x > 0; DROP TABLE task"})
        assert s.scalar("SELECT count(*) FROM evcs_entity_type WHERE name = 'a'") == 0


def test_concurrent_writers_of_one_email_leave_exactly_one(engine: evcs.Engine) -> None:
    outcomes: List[str] = []
    start = threading.Barrier(5)

    def write() -> None:
        with engine.session() as s:
            s.repository("person").create({"email": "race@x"})
            start.wait()
            try:
                s.commit()
                outcomes.append("committed")
            except evcs.IntegrityError:
                outcomes.append("refused")

    threads = [threading.Thread(target=write) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["committed"] + ["refused"] * 4
    with engine.session() as s:
        assert s.scalar("SELECT count(*) FROM person_version WHERE email = 'race@x'") == 1


def test_async_sessions_see_the_same_rules(engine: evcs.Engine) -> None:
    ids = make(engine)

    async def main() -> None:
        async with engine.async_session() as s:
            repo = await s.repository("task")
            assert repo.references["project_id"] == evcs.Reference("project", "cascade")
            await (await s.repository("project")).delete(ids["project"])
            await s.commit()
            assert await repo.get(ids["task"]) is None

    asyncio.run(main())


def test_the_docs_snippet_runs_and_prints_what_it_says(
    empty_schema_engine: evcs.Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_docs_snippet("References, unique keys and checks", database_url, monkeypatch)


def test_an_existing_types_rules_change_and_data_breaking_one_is_refused(
    empty_schema_engine: evcs.Engine,
) -> None:
    with empty_schema_engine.session() as s:
        s.create_entity_type("project", {"title": "text"})
        s.create_entity_type("note", {"body": "text", "project_id": "uuid", "qty": "int"})
        s.commit()
        project = s.repository("project").create({"title": "p"}).head_id
        first = s.repository("note").create({"body": "a", "project_id": project, "qty": 1}).head_id
        second = s.repository("note").create({"body": "a", "qty": 2}).head_id
        s.commit("two notes with the same body")

        s.add_reference("note", "project_id", "project", on_delete="cascade")
        s.add_check("note", "positive", "qty > 0")
        s.commit()
        assert s.scalar("SELECT constraints FROM evcs_entity_type WHERE name = 'note'") == {
            "checks": {"positive": "qty > 0"}
        }
        assert s.repository("note").references == {
            "project_id": evcs.Reference("project", "cascade")
        }

        with pytest.raises(evcs.IntegrityError) as refused:
            s.add_unique_key("note", ["body"])
        assert str(refused.value).startswith("cannot add the unique key (body) to note: note ")
        assert str(first) in str(refused.value) and str(second) in str(refused.value)
        assert 'on branch "main" have the same body' in str(refused.value)
        s.rollback()

        s.add_unique_key("note", ["body", "qty"])
        s.alter_reference("note", "project_id", "set null")
        s.commit()
        s.repository("project").delete(project)
        s.commit("the project goes; its note's reference is cleared")
        assert s.repository("note").get(first)["project_id"] is None

        s.drop_unique_key("note", ["body", "qty"])
        s.drop_check("note", "positive")
        s.drop_reference("note", "project_id")
        s.commit()
        assert s.scalar("SELECT constraints::text FROM evcs_entity_type WHERE name = 'note'") == "{}"
        with pytest.raises(TypeError, match="a unique key is a list of columns"):
            s.add_unique_key("note", "body")
        with pytest.raises(evcs.NotFound):
            s.drop_check("note", "positive")


def test_an_async_session_changes_rules_too(empty_schema_engine: evcs.Engine) -> None:
    async def main() -> None:
        async with empty_schema_engine.async_session() as s:
            await s.create_entity_type("item", {"qty": "int"})
            await s.add_check("item", "positive", "qty > 0")
            await s.commit()
            assert await s.scalar(
                "SELECT constraints::text FROM evcs_entity_type WHERE name = 'item'"
            ) == '{"checks": {"positive": "qty > 0"}}'

    asyncio.run(main())
