"""A merge whose result would break a reference, a unique key or a check, through Python: the
violations are conflicts (kind, constraint, the other entity) of MergeConflict, merge_preview and
a staged merge, settled by resolutions naming the entity; nothing is written while one is left."""

from __future__ import annotations

import pytest

import evcs


@pytest.fixture
def engine(empty_schema_engine: evcs.Engine) -> evcs.Engine:
    with empty_schema_engine.session() as s:
        s.create_entity_type("project", {"title": "text"})
        s.create_entity_type("person", {"email": "text", "lo": "int", "hi": "int"},
                             unique=[["email"]], checks={"ordered": "lo <= hi"})
        s.create_entity_type("task", {"title": "text", "project_id": {"references": "project"}})
        s.commit()
        s.repository("project").create({"title": "p"})
        s.repository("person").create({"email": "a@x", "lo": 1, "hi": 5})
        s.commit("a project and a person")
        s.create_branch("b")
        s.commit()
    return empty_schema_engine


def the_only(engine: evcs.Engine, entity_type: str) -> str:
    """The head_id of the one entity of the type the fixture made."""
    with engine.session() as s:
        return str(s.repository(entity_type).find()[0].head_id)


def merges_of_b(engine: evcs.Engine) -> int:
    with engine.session() as s:
        return int(s.scalar("SELECT count(*) FROM evcs_commit WHERE merged_from = 'b'"))


def test_a_reference_to_a_project_deleted_on_the_target_is_a_conflict(engine: evcs.Engine) -> None:
    project = the_only(engine, "project")
    with engine.session("b") as b:
        task = str(b.repository("task").create({"title": "t", "project_id": project}).head_id)
        b.commit("a task of the project")
    with engine.session() as s:
        s.repository("project").delete(project)
        s.commit("the project deleted")
        with pytest.raises(evcs.MergeConflict) as refused:
            s.merge("b", strategy="theirs")
        [conflict] = refused.value.conflicts
        assert conflict.violation
        assert (conflict.kind, conflict.entity_type, conflict.head_id, conflict.field,
                conflict.constraint, conflict.other_type, conflict.other_head_id) == (
            "reference", "task", task, "project_id", "project_id", "project", project)
        assert str(conflict.theirs) == project and conflict.ours is None
        assert conflict.resolution is None
        assert s.scalar("SELECT count(*) FROM task_version WHERE branch = 'main'") == 0
        assert merges_of_b(engine) == 0

        [previewed] = s.merge_preview("b").conflicts
        assert previewed == conflict
        frame = s.merge_preview("b").conflicts.to_pandas()
        assert frame.loc[0, "kind"] == "reference" and frame.loc[0, "other_type"] == "project"

        merged = s.merge("b", resolutions=[evcs.Resolution("task", task, "deleted", "ours")])
        assert merged.commit is not None and merged.changes == []
        [settled] = merged.conflicts
        assert settled.kind == "reference" and settled.resolution is not None
        assert s.repository("task").get(task) is None


def test_a_staged_merge_settles_a_unique_key_and_reports_what_still_breaks_it(
        engine: evcs.Engine) -> None:
    with engine.session("b") as b:
        theirs = str(b.repository("person").create({"email": "new@x", "lo": 0, "hi": 0}).head_id)
        b.commit("new@x on b")
    with engine.session() as s:
        ours = str(s.repository("person").create({"email": "new@x", "lo": 0, "hi": 0}).head_id)
        s.commit("new@x on main")
        started = s.merge_start("b")
        [conflict] = started.conflicts
        assert (conflict.kind, conflict.head_id, conflict.field, conflict.constraint,
                conflict.other_head_id) == ("unique", theirs, "email", "email", ours)
        s.merge_resolve([evcs.Resolution("person", theirs, "email", "theirs")])
        [again] = s.merge_status().conflicts
        assert again.kind == "unique" and again.resolution is None
        with pytest.raises(evcs.MergeConflict):
            s.merge_continue()
        s.merge_resolve([evcs.Resolution("person", theirs, "email", "value", "other@x")])
        status = s.merge_status()
        assert status.unresolved == 0
        assert status.conflicts[0].resolution == evcs.Resolution(
            "person", theirs, "email", "value", "other@x")
        assert s.merge_continue().commit is not None
        person = s.repository("person").get(theirs)
        assert person is not None and person["email"] == "other@x"


def test_a_field_level_merge_that_breaks_a_check_is_reported_and_settled(
        engine: evcs.Engine) -> None:
    person = the_only(engine, "person")
    with engine.session("b") as b:
        b.repository("person").update(person, {"lo": 3})
        b.commit("lo 3 on b")
    with engine.session() as s:
        s.repository("person").update(person, {"hi": 2})
        s.commit("hi 2 on main")
        with pytest.raises(evcs.MergeConflict) as refused:
            s.merge("b")
        [conflict] = refused.value.conflicts
        assert (conflict.kind, conflict.field, conflict.constraint, conflict.base, conflict.ours,
                conflict.theirs, conflict.other_type) == ("check", "lo", "ordered", 1, 1, 3, None)
        # A value that still breaks the check is reported again; another field settles it.
        with pytest.raises(evcs.MergeConflict):
            s.merge("b", resolutions=[{"entity_type": "person", "head_id": person,
                                       "field": "lo", "take": "value", "value": 4}])
        merged = s.merge("b", resolutions=[evcs.Resolution("person", person, "hi", "theirs")])
        assert merged.commit is not None
        version = s.repository("person").get(person)
        assert version is not None and (version["lo"], version["hi"]) == (3, 5)
