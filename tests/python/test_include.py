"""find(include=...) through Python: related entities loaded in one query per relation, both
directions, typed like any version, as of the same instant on the same branch, sync and async."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import uuid
from typing import Dict, List

import pytest

import evcs
from conftest import run_docs_snippet


@pytest.fixture
def engine(empty_schema_engine: evcs.Engine) -> evcs.Engine:
    with empty_schema_engine.session() as s:
        s.create_entity_type("project", {"name": "text", "budget": "numeric"})
        s.create_entity_type("task", {
            "title": "text",
            "due": "date",
            "project_id": {"references": "project", "on_delete": "cascade"},
        })
        s.commit()
        projects = s.repository("project")
        apollo = projects.create({"name": "apollo", "budget": decimal.Decimal("1.50")}).head_id
        projects.create({"name": "empty", "budget": None})
        tasks = s.repository("task")
        for title in ("a1", "a2"):
            tasks.create({"title": title, "due": datetime.date(2026, 12, 24),
                          "project_id": apollo})
        tasks.create({"title": "loose", "due": None, "project_id": None})
        s.commit("two projects, three tasks")
    return empty_schema_engine


def task_titles(projects: evcs.VersionList, relation: str = "tasks") -> Dict[str, List[str]]:
    return {p["name"]: sorted(t["title"] for t in p.related(relation)) for p in projects}


def test_one_to_many_and_many_to_one_with_typed_values(engine: evcs.Engine) -> None:
    with engine.session() as s:
        projects = s.repository("project").find(include=["tasks"], order_by="name")
        assert task_titles(projects) == {"apollo": ["a1", "a2"], "empty": []}
        first_task = projects[0].related("tasks")[0]
        assert first_task["due"] == datetime.date(2026, 12, 24)
        assert isinstance(first_task["project_id"], uuid.UUID)
        assert isinstance(projects[0].included["tasks"], evcs.VersionList)

        tasks = s.repository("task").find(include="project", order_by="title")
        assert [t["title"] for t in tasks] == ["a1", "a2", "loose"]
        project = tasks[0].related_one("project")
        assert project is not None
        assert project["budget"] == decimal.Decimal("1.50")
        assert project.head_id == str(tasks[0]["project_id"])
        assert tasks[2].related_one("project") is None
        assert tasks[2].included == {"project": None}
        assert tasks[2].related("project") == []


def test_include_reads_the_instant_and_branch_it_is_given(engine: evcs.Engine) -> None:
    with engine.session() as s:
        before = s.commit_log()[0].stamp
        projects = s.repository("project")
        apollo = projects.find(where={"name": "apollo"})[0]
        s.create_branch("b")
        s.commit()
        projects.update(apollo.head_id, {"name": "apollo 2"})
        s.repository("task").create({"title": "a3", "project_id": apollo.head_id})
        s.commit("later")
        assert task_titles(projects.find(include=["task"]), "task") == {
            "apollo 2": ["a1", "a2", "a3"], "empty": []}
        assert task_titles(projects.find(include=["task"], as_of=before), "task") == {
            "apollo": ["a1", "a2"], "empty": []}
        assert task_titles(projects.find(include=["task.project_id"], branch="b"),
                           "task.project_id") == {
            "apollo": ["a1", "a2"], "empty": []}


def test_errors_name_the_relations_there_are(engine: evcs.Engine) -> None:
    with engine.session() as s:
        with pytest.raises(evcs.InvalidArgument) as error:
            s.repository("project").find(include=["owner"])
        assert str(error.value) == (
            "entity type 'project' has no relation 'owner' (relations: task.project_id) "
            "[invalid_argument]")
        projects = s.repository("project").find(include=["tasks"])
        with pytest.raises(KeyError, match="the read did not include 'owner'"):
            projects[0].related("owner")
        with pytest.raises(TypeError, match="one-to-many relation"):
            projects[0].related_one("tasks")


def test_async_find_includes_too(engine: evcs.Engine) -> None:
    async def main() -> Dict[str, List[str]]:
        async with engine.async_session() as s:
            projects = await s.repository("project")
            return task_titles(await projects.find(include=["tasks"]))

    assert asyncio.run(main()) == {"apollo": ["a1", "a2"], "empty": []}


def test_the_docs_snippet_runs_and_prints_what_it_says(
    empty_schema_engine: evcs.Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_docs_snippet("Related entities in one query each", database_url, monkeypatch)
