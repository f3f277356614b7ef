"""The commit graph through Python (docs/python.md, "Commits, merges in every direction, conflicts
one by one"): commit ids and parents, merges in every direction with resolutions settling each
conflict, staged merges, tags and reads as of a commit, revert and cherry-pick, diffs between two
states of history, version ranges, previous values, conflict tables and the async forms."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import re
import uuid
from typing import Any, Dict, List

import pytest

import evcs
from conftest import not_a_violation, run_docs_snippet

UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
MICRO = datetime.timedelta(microseconds=1)
HEX40 = re.compile(r"[0-9a-f]{40}")

OWNER_BASE = uuid.UUID("00000000-0000-4000-8000-000000000001")
OWNER_FEATURE = uuid.UUID("00000000-0000-4000-8000-000000000002")
OWNER_MAIN = uuid.UUID("00000000-0000-4000-8000-000000000003")
OWNER_CHOSEN = uuid.UUID("00000000-0000-4000-8000-000000000004")
DONE_FEATURE = datetime.datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
DONE_MAIN = datetime.datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
DONE_CHOSEN = datetime.datetime(  # sent with its offset, read back in UTC
    2024, 3, 1, 14, 30, 0, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))


@pytest.fixture
def engine(empty_schema_engine: evcs.Engine) -> evcs.Engine:
    """A new engine per test on an emptied schema: the engine installs its catalog again."""
    return empty_schema_engine


def micros(moment: datetime.datetime) -> int:
    return (moment - EPOCH) // MICRO


def head(engine: evcs.Engine, branch: str) -> str:
    with engine.session() as s:
        return s.commit_info(branch).id


def create_task_type(s: evcs.Session) -> None:
    s.create_entity_type("task", {
        "title": "text", "points": "numeric(6,2)", "due": "date", "owner": "uuid",
        "done_at": "timestamptz", "blob": "bytea",
    })


class Diverged:
    """main and its branch "feature" changed the same fields of t1 (and feature deleted t2, which
    main modified): five conflicts, settled one by one."""

    def __init__(self, engine: evcs.Engine) -> None:
        with engine.session(author="ann") as s:
            create_task_type(s)
            tasks = s.repository("task")
            self.t1 = tasks.create({"title": "t1", "points": 1, "due": datetime.date(2024, 6, 1),
                                    "owner": OWNER_BASE, "blob": b"\x01"}).head_id
            self.t2 = tasks.create({"title": "t2"}).head_id
            s.commit("create")
            self.fork = s.commit_info("main").id
            s.create_branch("feature")
            s.commit("open feature")
        with engine.session(branch="feature", author="bob") as s:
            tasks = s.repository("task")
            tasks.update(self.t1, {"title": "T1 feature", "points": 5,
                                   "due": datetime.date(2024, 7, 1), "owner": OWNER_FEATURE,
                                   "done_at": DONE_FEATURE})
            tasks.delete(self.t2)
            s.commit("feature work")
            self.feature_head = s.commit_info("feature").id
        with engine.session(author="ann") as s:
            tasks = s.repository("task")
            tasks.update(self.t1, {"title": "T1 main", "points": 3,
                                   "due": datetime.date(2024, 8, 1), "owner": OWNER_MAIN,
                                   "done_at": DONE_MAIN})
            tasks.update(self.t2, {"title": "t2 main"})
            s.commit("main work")
            self.main_head = s.commit_info("main").id

    def conflicts(self) -> List[Dict[str, Any]]:
        """The conflicts of merging feature into main, in the engine's order, unsettled."""
        t1: Dict[str, Any] = {"entity_type": "task", "head_id": self.t1, "resolution": None,
                              **not_a_violation()}
        return sorted([
            {**t1, "field": "done_at", "base": None, "ours": DONE_MAIN, "theirs": DONE_FEATURE},
            {**t1, "field": "due", "base": datetime.date(2024, 6, 1),
             "ours": datetime.date(2024, 8, 1), "theirs": datetime.date(2024, 7, 1)},
            {**t1, "field": "owner", "base": OWNER_BASE, "ours": OWNER_MAIN,
             "theirs": OWNER_FEATURE},
            {**t1, "field": "points", "base": decimal.Decimal("1.00"),
             "ours": decimal.Decimal("3.00"), "theirs": decimal.Decimal("5.00")},
            {**t1, "field": "title", "base": "t1", "ours": "T1 main", "theirs": "T1 feature"},
            {"entity_type": "task", "head_id": self.t2, "field": "deleted", "base": False,
             "ours": False, "theirs": True, "resolution": None, **not_a_violation("delete")},
        ], key=order)


def order(conflict: Dict[str, Any]) -> Any:
    return (conflict["head_id"], conflict["field"])


def in_order(conflicts: List[Any]) -> List[Any]:
    return sorted(conflicts, key=order)


# ---- commits ---------------------------------------------------------------------------------


def test_commits_have_hex_ids_parents_and_refs(engine: evcs.Engine) -> None:
    with engine.session(author="ann") as s:
        create_task_type(s)
        t1 = s.repository("task").create({"title": "t1"}).head_id
        s.commit("create")
        s.create_branch("feature")
        s.commit("open feature")  # writes no version: no commit
        log = s.commit_log()
        assert [(c.message, c.changes) for c in log] == [("create", 1)]
        first = log[0]
        assert isinstance(first, evcs.Commit)
        assert HEX40.fullmatch(first.id) and first.parents == []
        assert first.branch == "main" and first.author == "ann" and first.merged_from is None
        assert first.stamp.tzinfo is not None
        assert s.commit_info(first.id) == first
        assert s.commit_info(first.id[:4]) == first, "a unique prefix of four hex digits"
        assert s.commit_info("main") == first, "a branch names its head"
        assert s.commit_info("feature") == first, "a new branch's head is its fork point"
        with pytest.raises(evcs.NotFound):
            s.commit_info("no-such-ref")
        s.rollback()
    with engine.session(branch="feature", author="bob") as s:
        s.repository("task").update(t1, {"points": 2})
        s.commit("feature work")
        second = s.commit_info("feature")
        assert second.parents == [first.id], "a branch's first commit follows its fork point"
        assert second.branch == "feature" and second.changes == 1
    with engine.session() as s:
        branches = {branch.name: branch for branch in s.branches()}
    main, feature = branches["main"], branches["feature"]
    assert (main.head, main.base, main.base_stamp) == (first.id, None, None)
    assert (feature.head, feature.base, feature.base_stamp) == (second.id, first.id, first.stamp)
    assert feature.fork_stamp is not None and feature.fork_stamp >= first.stamp


# ---- merges: resolutions, one conflict at a time ---------------------------------------------


def test_resolutions_settle_each_conflict_one_by_one(engine: evcs.Engine) -> None:
    graph = Diverged(engine)
    resolutions: List[Any] = [
        evcs.Resolution("task", graph.t1, "title", "ours"),
        evcs.Resolution("task", uuid.UUID(graph.t1), "due", "theirs"),
        evcs.Resolution("task", graph.t1, "points", "value", decimal.Decimal("4.5")),
        {"entity_type": "task", "head_id": graph.t1, "field": "owner", "take": "value",
         "value": OWNER_CHOSEN},
        {"entity_type": "task", "head_id": uuid.UUID(graph.t1), "field": "done_at",
         "take": "value", "value": DONE_CHOSEN},
        evcs.Resolution("task", graph.t2, "deleted", "theirs"),
    ]
    settled = {
        "title": evcs.Resolution("task", graph.t1, "title", "ours"),
        "due": evcs.Resolution("task", graph.t1, "due", "theirs"),
        "points": evcs.Resolution("task", graph.t1, "points", "value", decimal.Decimal("4.5")),
        "owner": evcs.Resolution("task", graph.t1, "owner", "value", OWNER_CHOSEN),
        "done_at": evcs.Resolution("task", graph.t1, "done_at", "value", DONE_CHOSEN),
        "deleted": evcs.Resolution("task", graph.t2, "deleted", "theirs"),
    }
    with engine.session(author="ann") as s:
        preview = s.merge_preview("feature")
        assert in_order(preview.conflicts) == graph.conflicts()
        assert (preview.target, preview.unresolved, preview.commit, preview.stamp) == (
            "main", 6, None, None)
        assert (preview.source_commit, preview.base_commit) == (graph.feature_head, graph.fork)
        with pytest.raises(evcs.MergeConflict) as refused:
            s.merge("feature")
        assert in_order(refused.value.conflicts) == graph.conflicts()
        partly = s.merge_preview("feature", resolutions=resolutions[:2])
        assert partly.unresolved == 4
        assert {c.field: c.resolution for c in partly.conflicts if c.resolution} == {
            "title": settled["title"], "due": settled["due"]}

        merged = s.merge("feature", message="settle one by one", resolutions=resolutions)
        assert not s.in_transaction
        assert merged.unresolved == 0 and merged.target == "main"
        assert in_order(merged.conflicts) == [
            {**conflict, "resolution": settled[conflict["field"]]}
            for conflict in graph.conflicts()]
        assert all(isinstance(c, evcs.MergeConflictInfo) for c in merged.conflicts)
        assert merged.commit is not None and HEX40.fullmatch(merged.commit)
        assert isinstance(merged.stamp, datetime.datetime)
        changes = {entry["head_id"]: entry for entry in merged.changes}
        assert changes[graph.t1] == {
            "entity_type": "task", "head_id": graph.t1, "kind": "modified", "fields": {
                "due": {"old": datetime.date(2024, 8, 1), "new": datetime.date(2024, 7, 1)},
                "points": {"old": decimal.Decimal("3.00"), "new": decimal.Decimal("4.5")},
                "owner": {"old": OWNER_MAIN, "new": OWNER_CHOSEN},
                "done_at": {"old": DONE_MAIN, "new": DONE_CHOSEN},
            }}
        assert changes[graph.t2]["kind"] == "deleted"
        commit = s.commit_info(merged.commit)
        assert commit.parents == [graph.main_head, graph.feature_head]
        assert (commit.message, commit.merged_from, commit.changes, commit.stamp) == (
            "settle one by one", "feature", 2, merged.stamp)
        tasks = s.repository("task")
        t1 = tasks.get(graph.t1)
        assert t1 is not None and t1.fields == {
            "title": "T1 main", "points": decimal.Decimal("4.50"),
            "due": datetime.date(2024, 7, 1), "owner": OWNER_CHOSEN, "done_at": DONE_CHOSEN,
            "blob": b"\x01"}
        assert t1.merged_from == "feature"
        assert tasks.get(graph.t2) is None, "the delete won"


def test_deleted_taken_ours_keeps_the_modified_entity(engine: evcs.Engine) -> None:
    graph = Diverged(engine)
    with engine.session(author="ann") as s:
        merged = s.merge("feature", strategy="theirs", resolutions=[
            evcs.Resolution("task", graph.t2, "deleted", "ours")])
        assert [(c.field, c.resolution and c.resolution.take) for c in in_order(merged.conflicts)
                if c.head_id == graph.t2] == [("deleted", "ours")]
        t2 = s.repository("task").get(graph.t2)
        assert t2 is not None and t2["title"] == "t2 main"
        t1 = s.repository("task").get(graph.t1)
        assert t1 is not None and t1["title"] == "T1 feature", "the strategy settles the rest"


def test_a_resolution_for_no_conflict_is_invalid_and_writes_nothing(engine: evcs.Engine) -> None:
    graph = Diverged(engine)
    every = [evcs.Resolution("task", graph.t1, field, "theirs")
             for field in ("title", "points", "due", "owner", "done_at")]
    every.append(evcs.Resolution("task", graph.t2, "deleted", "theirs"))
    with engine.session(author="ann") as s:
        for stray in (evcs.Resolution("task", graph.t1, "blob", "ours"),
                      evcs.Resolution("task", str(uuid.uuid4()), "title", "theirs")):
            with pytest.raises(evcs.InvalidArgument, match="not in conflict"):
                s.merge("feature", resolutions=every + [stray])
            with pytest.raises(evcs.InvalidArgument, match="not in conflict"):
                s.merge_preview("feature", resolutions=[stray])
            s.rollback()
        with pytest.raises(evcs.InvalidArgument, match="two resolutions for the same conflict"):
            s.merge("feature", resolutions=every + every[:1])
        with pytest.raises(evcs.InvalidArgument, match="take"):
            s.merge("feature", resolutions=[{"entity_type": "task", "head_id": graph.t1,
                                             "field": "title", "take": "mine"}])
        with pytest.raises(evcs.InvalidArgument, match="iterable"):
            s.merge("feature", resolutions=every[0])  # type: ignore[arg-type]
        with pytest.raises(evcs.InvalidArgument, match="resolution 0"):
            s.merge("feature", resolutions=[("task", graph.t1)])  # type: ignore[list-item]
        assert not s.in_transaction
        assert s.commit_info("main").id == graph.main_head, "nothing was written"
        t1 = s.repository("task").get(graph.t1)
        assert t1 is not None and t1["title"] == "T1 main"


# ---- staged merges ----------------------------------------------------------------------------


def test_a_staged_merge_is_resolved_in_steps_and_continued(engine: evcs.Engine) -> None:
    graph = Diverged(engine)
    with engine.session(author="ann") as s:
        started = s.merge_start("feature", message="staged merge")
        assert (started.target, started.commit, started.stamp, started.unresolved) == (
            "main", None, None, 6)
        assert (started.source_commit, started.base_commit) == (graph.feature_head, graph.fork)
        assert in_order(started.conflicts) == graph.conflicts()
        assert s.commit_info("main").id == graph.main_head, "start writes no version"
        status = s.merge_status()
        assert in_order(status.conflicts) == graph.conflicts()
        assert status.commit is None and status.unresolved == 6
        with pytest.raises(evcs.InvalidArgument, match="in progress"):
            s.merge_start("feature")

        step = s.merge_resolve([evcs.Resolution("task", graph.t1, "title", "theirs"),
                                evcs.Resolution("task", graph.t1, "due", "ours")])
        assert step.unresolved == 4 and step.commit is None
        assert {c.field: c.resolution.take for c in step.conflicts if c.resolution} == {
            "title": "theirs", "due": "ours"}
        with pytest.raises(evcs.InvalidArgument, match="not in conflict"):
            s.merge_resolve([evcs.Resolution("task", graph.t1, "blob", "ours")])
        assert s.merge_status().unresolved == 4, "a refused resolve records nothing"

        with pytest.raises(evcs.MergeConflict) as unsettled:
            s.merge_continue()
        assert sorted(c.field for c in unsettled.value.conflicts) == [
            "deleted", "done_at", "owner", "points"]
        assert all(c.resolution is None for c in unsettled.value.conflicts)
        assert s.commit_info("main").id == graph.main_head, "nothing was written"
        assert s.merge_status().unresolved == 4, "the staged merge stays"

        # A later resolution of the same conflict replaces the earlier one.
        s.merge_resolve([evcs.Resolution("task", graph.t1, "due", "theirs")])
        rest = s.merge_resolve([
            {"entity_type": "task", "head_id": graph.t1, "field": "points", "take": "value",
             "value": decimal.Decimal("9")},
            evcs.Resolution("task", graph.t1, "owner", "ours"),
            evcs.Resolution("task", graph.t1, "done_at", "value", None),
            evcs.Resolution("task", graph.t2, "deleted", "ours"),
        ])
        assert rest.unresolved == 0
        assert {c.field: c.resolution.take for c in rest.conflicts if c.resolution} == {
            "title": "theirs", "due": "theirs", "points": "value", "owner": "ours",
            "done_at": "value", "deleted": "ours"}

        done = s.merge_continue()
        assert done.commit is not None and done.unresolved == 0 and done.target == "main"
        commit = s.commit_info("main")
        assert commit.id == done.commit
        assert (commit.message, commit.parents, commit.merged_from) == (
            "staged merge", [graph.main_head, graph.feature_head], "feature")
        t1 = s.repository("task").get(graph.t1)
        assert t1 is not None and t1.fields == {
            "title": "T1 feature", "points": decimal.Decimal("9.00"),
            "due": datetime.date(2024, 7, 1), "owner": OWNER_MAIN, "done_at": None,
            "blob": b"\x01"}
        t2 = s.repository("task").get(graph.t2)
        assert t2 is not None and t2["title"] == "t2 main"
        with pytest.raises(evcs.NotFound, match="no merge into 'main' is in progress"):
            s.merge_status()
        s.rollback()
        with pytest.raises(evcs.NotFound):
            s.merge_continue()


def test_a_staged_merge_can_be_aborted(engine: evcs.Engine) -> None:
    graph = Diverged(engine)
    with engine.session(author="ann") as s:
        s.merge_start("feature", into="main", strategy="ours")
        assert s.merge_status("main").unresolved == 0, "the strategy settles everything"
        s.merge_abort()
        s.commit()
        with pytest.raises(evcs.NotFound):
            s.merge_status()
        s.rollback()
        with pytest.raises(evcs.NotFound, match="no merge into 'main' is in progress"):
            s.merge_abort("main")
        s.rollback()
        assert s.commit_info("main").id == graph.main_head
        again = s.merge_start("feature", message="second try")
        assert again.unresolved == 6, "a new start after an abort"
        s.merge_abort()
        s.commit()


def test_a_staged_merge_into_another_branch_is_named_by_its_target(engine: evcs.Engine) -> None:
    graph = Diverged(engine)
    with engine.session(author="ann") as s:  # on main, staging main into feature
        started = s.merge_start("main", into="feature", message="bring main in")
        assert not s.in_transaction, "start commits; reading field types leaves nothing open"
        assert (started.target, started.source_commit, started.base_commit) == (
            "feature", graph.main_head, graph.fork)
        assert started.unresolved == 6
        assert {c.field: (c.ours, c.theirs) for c in started.conflicts if c.field == "title"} == {
            "title": ("T1 feature", "T1 main")}, "ours is the target now"
        with pytest.raises(evcs.NotFound):
            s.merge_status()  # the session's branch, main, has none
        s.rollback()
        assert s.merge_status("feature").unresolved == 6
        s.merge_resolve([evcs.Resolution("task", graph.t2, "deleted", "theirs")],
                        target="feature")
        assert not s.in_transaction
        with pytest.raises(evcs.MergeConflict):
            s.merge_continue("feature")
        s.merge_resolve([evcs.Resolution("task", graph.t1, field, "ours")
                         for field in ("title", "points", "due", "owner", "done_at")],
                        target="feature")
        done = s.merge_continue("feature", message="overridden message")
        assert not s.in_transaction
        commit = s.commit_info("feature")
        assert (commit.id, commit.message, commit.parents, commit.merged_from) == (
            done.commit, "overridden message", [graph.feature_head, graph.main_head], "main")
        on_feature = s.repository("task").get(graph.t2, branch="feature")
        assert on_feature is not None and on_feature["title"] == "t2 main"
        assert s.commit_info("main").id == graph.main_head, "main is untouched"


# ---- merges in every direction ----------------------------------------------------------------


def test_main_merges_into_a_branch_and_back(engine: evcs.Engine) -> None:
    with engine.session(author="ann") as s:
        create_task_type(s)
        t1 = s.repository("task").create({"title": "t1", "points": 1}).head_id
        s.commit("create")
        fork = s.commit_info("main").id
        s.create_branch("feature")
        s.commit()
    with engine.session(branch="feature", author="bob") as s:
        s.repository("task").update(t1, {"title": "feature title"})
        s.commit("feature work")
    with engine.session(author="ann") as s:
        s.repository("task").update(t1, {"points": 2})
        t3 = s.repository("task").create({"title": "t3"}).head_id
        s.commit("main moves on")
        main_head = s.commit_info("main").id
    with engine.session(branch="feature", author="bob") as s:
        feature_head = s.commit_info("feature").id
        assert s.merge_base("main", "feature") == s.commit_info(fork)
        merged = s.merge("main", into="feature")
        assert (merged.target, merged.source_commit, merged.base_commit) == (
            "feature", main_head, fork)
        assert merged.conflicts == [] and merged.unresolved == 0
        assert sorted((c["head_id"], c["kind"], sorted(c["fields"])) for c in merged.changes) == \
            sorted([(t1, "modified", ["points"]), (t3, "added", ["title"])])
        commit = s.commit_info("feature")
        assert commit.id == merged.commit
        assert (commit.parents, commit.merged_from, commit.message) == (
            [feature_head, main_head], "main", "merge main")
        tasks = s.repository("task")
        on_feature = tasks.get(t1)
        assert on_feature is not None
        assert (on_feature["title"], on_feature["points"]) == ("feature title", decimal.Decimal(2))
        assert tasks.get(t3) is not None
        nothing = s.merge("main", into="feature")
        assert (nothing.commit, nothing.changes, nothing.stamp) == (None, [], None), \
            "a merge with nothing new commits nothing"
        assert nothing.base_commit == main_head
        assert s.commit_info("feature").id == merged.commit
    with engine.session() as s:
        feature = {b.name: b for b in s.branches()}["feature"]
        assert (feature.head, feature.base) == (merged.commit, main_head)
    with engine.session(author="ann") as s:
        back = s.merge("feature")
        assert back.base_commit == main_head, "the last merge is the merge base"
        assert [(c["head_id"], c["fields"]) for c in back.changes] == [
            (t1, {"title": {"old": "t1", "new": "feature title"}})]
        assert s.merge_base("main", "feature") == s.commit_info(merged.commit)
        current = s.repository("task").get(t1)
        assert current is not None
        assert (current["title"], current["points"]) == ("feature title", decimal.Decimal(2))


def test_siblings_merge_into_each_other(engine: evcs.Engine) -> None:
    with engine.session(author="ann") as s:
        create_task_type(s)
        t1 = s.repository("task").create({"title": "t1", "points": 1}).head_id
        s.commit("create")
        fork = s.commit_info("main")
        s.create_branch("a")
        s.create_branch("b")
        s.commit()
    with engine.session(branch="a") as s:
        s.repository("task").update(t1, {"title": "from a"})
        s.commit("a work")
    with engine.session(branch="b") as s:
        s.repository("task").update(t1, {"points": 7})
        s.commit("b work")
        assert s.merge_base("a", "b") == fork
        merged = s.merge("a", into="b")
        assert (merged.target, merged.base_commit, merged.conflicts) == ("b", fork.id, [])
        current = s.repository("task").get(t1)
        assert current is not None
        assert (current["title"], current["points"]) == ("from a", decimal.Decimal(7))
        assert s.merge_base("a", "b") == s.commit_info("a")
    with engine.session(branch="a") as s:
        back = s.merge("b", into="a")
        assert [(c["head_id"], c["fields"]) for c in back.changes] == [
            (t1, {"points": {"old": decimal.Decimal("1.00"), "new": decimal.Decimal("7.00")}})]
    with engine.session() as s:
        main = s.repository("task").get(t1)
        assert main is not None and main["title"] == "t1", "main is untouched"


# ---- tags and reads as of a commit ------------------------------------------------------------


def test_tags_name_commits_that_reads_go_back_to(engine: evcs.Engine) -> None:
    with engine.session(author="ann") as s:
        create_task_type(s)
        tasks = s.repository("task")
        t1 = tasks.create({"title": "t1", "points": 1}).head_id
        s.commit("first")
        first = s.commit_info("main")
        release = s.tag("v1", message="first release")
        s.commit()
        assert isinstance(release, evcs.Tag)
        assert (release.name, release.commit, release.message, release.created_by) == (
            "v1", first.id, "first release", "ann")
        assert release.created_at.tzinfo is not None
        tasks.update(t1, {"points": 2})
        t2 = tasks.create({"title": "t2"}).head_id
        s.commit("second")
        second = s.commit_info("main")
        with pytest.raises(evcs.InvalidArgument, match="already exists"):
            s.tag("v1")
        s.rollback()
        with pytest.raises(evcs.InvalidArgument, match="invalid tag name"):
            s.tag("-bad")
        s.rollback()
        assert s.tag("start", commit=first.id[:8]).commit == first.id
        assert s.tag("tip").commit == second.id, "default: the head of the session's branch"
        s.commit()
        assert [(t.name, t.commit, t.message) for t in s.tags()] == [
            ("start", first.id, ""), ("tip", second.id, ""), ("v1", first.id, "first release")]
        assert s.commit_info("v1") == first

        for ref in ("v1", first.id, first.id[:6]):
            then = tasks.get(t1, as_of=ref)
            assert then is not None and then["points"] == decimal.Decimal(1), ref
            assert tasks.get(t2, as_of=ref) is None
            assert [v["title"] for v in tasks.find(as_of=ref)] == ["t1"]
            assert tasks.count(as_of=ref) == 1
            assert not tasks.exists(where={"points": 2}, as_of=ref)
        at_tip = tasks.get_at_commit(uuid.UUID(t1), "tip")
        assert at_tip is not None and at_tip["points"] == decimal.Decimal(2)
        assert tasks.count(as_of="tip") == 2 and tasks.exists(where={"points": 2}, as_of="tip")
        assert [v["title"] for v in tasks.find(order_by="-title", as_of="main")] == ["t2", "t1"]
        with pytest.raises(evcs.InvalidArgument, match="leave branch out"):
            tasks.get(t1, as_of="v1", branch="main")
        with pytest.raises(evcs.NotFound):
            tasks.get(t1, as_of="nope")
        s.rollback()

        s.delete_tag("start")
        s.commit()
        assert [t.name for t in s.tags()] == ["tip", "v1"]
        with pytest.raises(evcs.NotFound, match="does not exist"):
            s.delete_tag("start")
        s.rollback()
        with pytest.raises(evcs.NotFound):
            s.commit_info("start")
        s.rollback()


def test_as_of_a_commit_reads_the_commits_branch(engine: evcs.Engine) -> None:
    with engine.session(author="ann") as s:
        create_task_type(s)
        t1 = s.repository("task").create({"title": "t1", "points": 1}).head_id
        s.commit("create")
        s.create_branch("feature")
        s.commit()
    with engine.session(branch="feature") as s:
        s.repository("task").update(t1, {"points": 5})
        s.commit("feature work")
        s.tag("feature-done")
        s.commit()
    with engine.session() as s:  # on main
        tasks = s.repository("task")
        at_tag = tasks.get(t1, as_of="feature-done")
        assert at_tag is not None
        assert (at_tag["points"], at_tag.branch) == (decimal.Decimal(5), "feature")
        assert [v["points"] for v in tasks.find(as_of="feature-done")] == [decimal.Decimal(5)]
        assert [v["points"] for v in tasks.find(as_of="feature-done", branch="feature")] == [
            decimal.Decimal(5)]
        with pytest.raises(evcs.InvalidArgument):
            tasks.find(as_of="feature-done", branch="main")


# ---- revert and cherry-pick -------------------------------------------------------------------


def test_revert_and_cherry_pick_apply_one_commit(engine: evcs.Engine) -> None:
    with engine.session(author="ann") as s:
        create_task_type(s)
        tasks = s.repository("task")
        t1 = tasks.create({"title": "t1", "points": 1}).head_id
        s.commit("create")
        tasks.update(t1, {"points": 5})
        s.commit("raise")
        raise_commit = s.commit_info("main")
        tasks.update(t1, {"title": "renamed"})
        s.commit("rename")
        rename = s.commit_info("main")

        reverted = s.revert_commit(raise_commit.id[:10])
        assert (reverted.target, reverted.source_commit, reverted.conflicts) == (
            "main", raise_commit.id, [])
        assert reverted.changes == [{
            "entity_type": "task", "head_id": t1, "kind": "modified",
            "fields": {"points": {"old": decimal.Decimal("5.00"), "new": decimal.Decimal("1.00")}}}]
        commit = s.commit_info("main")
        assert commit.id == reverted.commit and commit.parents == [rename.id]
        assert commit.message == f"revert {raise_commit.id[:12]}: raise"
        current = tasks.get(t1)
        assert current is not None
        assert (current["title"], current["points"]) == ("renamed", decimal.Decimal(1))

        s.create_branch("feature")
        s.commit()
    with engine.session(branch="feature", author="bob") as s:
        t3 = s.repository("task").create({"title": "t3"}).head_id
        s.commit("add t3")
        add_t3 = s.commit_info("feature")
        s.repository("task").update(t1, {"title": "feature title"})
        s.commit("feature rename")
    with engine.session(author="ann") as s:
        tasks = s.repository("task")
        main_head = s.commit_info("main").id
        picked = s.cherry_pick(add_t3.id, message="take t3 only")
        assert (picked.target, picked.source_commit) == ("main", add_t3.id)
        assert [(c["head_id"], c["kind"]) for c in picked.changes] == [(t3, "added")]
        commit = s.commit_info("main")
        assert (commit.id, commit.parents, commit.message) == (
            picked.commit, [main_head], "take t3 only")
        assert tasks.get(t3) is not None
        t1_now = tasks.get(t1)
        assert t1_now is not None and t1_now["title"] == "renamed", "only that commit"
        s.create_branch("other")
        s.commit()
        elsewhere = s.cherry_pick("feature", into="other")
        assert elsewhere.target == "other"
        feature_head = s.commit_info("feature").id
        assert s.commit_info("other").message == f"cherry-pick {feature_head[:12]}: feature rename"
        on_other = tasks.get(t1, branch="other")
        assert on_other is not None and on_other["title"] == "feature title"
        on_main = tasks.get(t1)
        assert on_main is not None and on_main["title"] == "renamed"


def test_a_conflicting_revert_is_settled_like_a_merge(engine: evcs.Engine) -> None:
    with engine.session(author="ann") as s:
        create_task_type(s)
        tasks = s.repository("task")
        t1 = tasks.create({"title": "t1", "points": 1}).head_id
        s.commit("create")
        tasks.update(t1, {"points": 10})
        s.commit("ten")
        ten = s.commit_info("main").id
        tasks.update(t1, {"points": 20})
        s.commit("twenty")
        twenty = s.commit_info("main").id
        conflict: Dict[str, Any] = {"entity_type": "task", "head_id": t1, "field": "points",
                    "base": decimal.Decimal("10.00"), "ours": decimal.Decimal("20.00"),
                    "theirs": decimal.Decimal("1.00"), "resolution": None,
                    **not_a_violation()}
        with pytest.raises(evcs.MergeConflict) as refused:
            s.revert_commit(ten)
        assert refused.value.conflicts == [conflict]
        assert s.commit_info("main").id == twenty, "nothing was written"
        kept = s.revert_commit(ten, strategy="ours")
        assert (kept.changes, kept.unresolved) == ([], 0)
        assert kept.conflicts == [{**conflict, "resolution": evcs.Resolution(
            "task", t1, "points", "ours")}]
        settled = s.revert_commit(ten, message="undo ten, keep some", resolutions=[
            evcs.Resolution("task", t1, "points", "value", decimal.Decimal(15))])
        assert settled.conflicts[0].resolution == evcs.Resolution(
            "task", t1, "points", "value", decimal.Decimal(15))
        assert s.commit_info("main").message == "undo ten, keep some"
        current = tasks.get(t1)
        assert current is not None and current["points"] == decimal.Decimal(15)
        with pytest.raises(evcs.MergeConflict):
            s.cherry_pick(ten)  # 1 -> 10 over 15: a conflict too


# ---- diffs between states of history ----------------------------------------------------------


def test_diff_history_between_commits_and_instants(engine: evcs.Engine) -> None:
    with engine.session(author="ann") as s:
        create_task_type(s)
        tasks = s.repository("task")
        t1 = tasks.create({"title": "t1", "points": 1}).head_id
        t2 = tasks.create({"title": "t2"}).head_id
        s.commit("one")
        one = s.commit_info("main")
        tasks.update(t1, {"points": 2})
        tasks.delete(t2)
        s.commit("two")
        two = s.commit_info("main")
        t3 = tasks.create({"title": "t3", "due": datetime.date(2024, 1, 2)}).head_id
        s.commit("three")
        three = s.commit_info("main")

        def by_head(entries: List[Dict[str, Any]]) -> Dict[str, Any]:
            return {entry["head_id"]: (entry["kind"], entry["fields"]) for entry in entries}

        forward = {
            t1: ("modified", {"points": {"old": decimal.Decimal("1.00"),
                                         "new": decimal.Decimal("2.00")}}),
            t2: ("deleted", {"title": {"old": "t2", "new": None}}),
            t3: ("added", {"title": {"old": None, "new": "t3"},
                           "due": {"old": None, "new": datetime.date(2024, 1, 2)}}),
        }
        assert by_head(s.diff_history(one.id, three.id)) == forward
        assert by_head(s.diff_history("main", one.id[:5])) == {
            t1: ("modified", {"points": {"old": decimal.Decimal("2.00"),
                                         "new": decimal.Decimal("1.00")}}),
            t2: ("added", {"title": {"old": None, "new": "t2"}}),
            t3: ("deleted", {"title": {"old": "t3", "new": None},
                             "due": {"old": datetime.date(2024, 1, 2), "new": None}}),
        }
        assert by_head(s.diff_history(one.stamp, micros(two.stamp))) == {
            t1: forward[t1], t2: forward[t2]}
        assert by_head(s.diff_history(two.stamp - MICRO, two.stamp)) == {
            t1: forward[t1], t2: forward[t2]}
        assert s.diff_history(two.stamp, three.stamp - MICRO) == []
        assert by_head(s.diff_history(one.id, three.stamp)) == forward, "a commit and an instant"
        s.create_branch("feature")
        s.commit()
    with engine.session(branch="feature") as s:
        s.repository("task").update(t3, {"title": "t3 on feature"})
        s.commit("feature work")
        feature_work = s.commit_info("feature")
    with engine.session() as s:  # on main: instants of another branch
        assert by_head(s.diff_history(three.stamp, feature_work.stamp, branch="feature")) == {
            t3: ("modified", {"title": {"old": "t3", "new": "t3 on feature"}})}
        assert s.diff_history(three.stamp, feature_work.stamp) == [], "main did not change"
        assert by_head(s.diff_history("main", "feature")) == {
            t3: ("modified", {"title": {"old": "t3", "new": "t3 on feature"}})}
        with pytest.raises(TypeError, match="not None"):
            s.diff_history(None, "main")  # type: ignore[arg-type]
        with pytest.raises(evcs.InvalidArgument, match="naive"):
            s.diff_history(datetime.datetime(2024, 1, 1), "main")
        with pytest.raises(evcs.NotFound):
            s.diff_history("nope", "main")
        s.rollback()


# ---- version ranges and previous values -------------------------------------------------------


def test_versions_over_a_system_time_range(engine: evcs.Engine) -> None:
    with engine.session(author="ann") as s:
        create_task_type(s)
        tasks = s.repository("task")
        t1 = tasks.create({"title": "t1 v1"}).head_id
        s.commit()
        s1 = s.commit_info("main").stamp
        tasks.update(t1, {"title": "t1 v2"})
        tasks.create({"title": "t2 v1"})
        s.commit()
        s2 = s.commit_info("main").stamp
        tasks.update(t1, {"title": "t1 v3"})
        s.commit()
        s3 = s.commit_info("main").stamp

        def titles(versions: evcs.VersionList) -> List[str]:
            assert isinstance(versions, evcs.VersionList)
            return [v["title"] for v in versions]

        everything = tasks.versions()
        assert titles(everything)[0] == "t1 v1" and titles(everything)[3] == "t1 v3"
        assert sorted(titles(everything)[1:3]) == ["t1 v2", "t2 v1"]
        assert [v.valid_from for v in everything] == [s1, s2, s2, s3]
        assert [v.valid_to for v in everything if v.head_id == t1] == [s2, s3, None]
        assert sorted(titles(tasks.versions(s2, s3))) == ["t1 v2", "t2 v1"], "[from, to)"
        assert sorted(titles(tasks.versions(micros(s2), micros(s3), mode="from_to"))) == [
            "t1 v2", "t2 v1"]
        assert sorted(titles(tasks.versions(s2, s3, mode="between"))) == [
            "t1 v2", "t1 v3", "t2 v1"], "[from, to]"
        assert titles(tasks.versions(s1, s3, mode="contained_in")) == ["t1 v1", "t1 v2"]
        assert titles(tasks.versions(to=s2)) == ["t1 v1"]
        assert titles(tasks.versions(from_=s3)) == ["t2 v1", "t1 v3"]
        assert titles(tasks.versions(limit=1)) == ["t1 v1"]
        assert titles(tasks.versions(from_=s3, mode="contained_in", branch="main")) == [
            "t1 v3"], "an open end contains the current version"
        assert tasks.versions(s2, s2, mode="contained_in") == []
        with pytest.raises(evcs.InvalidArgument, match="mode"):
            tasks.versions(mode="sideways")
        with pytest.raises(evcs.InvalidArgument, match="end before it starts"):
            tasks.versions(s3, s1)
        with pytest.raises(evcs.InvalidArgument, match="naive"):
            tasks.versions(datetime.datetime(2024, 1, 1))
        s.create_branch("feature")
        s.commit()
    with engine.session(branch="feature") as s:
        s.repository("task").update(t1, {"title": "t1 feature"})
        s.commit()
        assert titles(s.repository("task").versions()) == ["t1 feature"], "the branch's own"
    with engine.session() as s:
        assert titles(s.repository("task").versions(branch="feature")) == ["t1 feature"]


def test_history_gives_the_previous_values_typed(engine: evcs.Engine) -> None:
    with engine.session(author="ann") as s:
        create_task_type(s)
        tasks = s.repository("task")
        t1 = tasks.create({"title": "t1", "points": decimal.Decimal("1.5"),
                           "due": datetime.date(2024, 1, 1), "owner": OWNER_BASE,
                           "blob": b"\x00"}).head_id
        s.commit()
        tasks.update(t1, {"points": 2, "due": datetime.date(2024, 2, 1), "blob": b"\xff",
                          "done_at": DONE_MAIN})
        s.commit()
        tasks.update(t1, {"owner": OWNER_MAIN, "done_at": None})
        s.commit()
        first, second, third = tasks.history(t1)
    assert sorted(first.changed) == ["blob", "done_at", "due", "owner", "points", "title"]
    assert first.previous == {name: None for name in first.changed}
    assert sorted(second.changed) == ["blob", "done_at", "due", "points"]
    assert second.previous == {"points": decimal.Decimal("1.50"), "due": datetime.date(2024, 1, 1),
                               "blob": b"\x00", "done_at": None}
    assert sorted(third.changed) == ["done_at", "owner"]
    assert third.previous == {"owner": OWNER_BASE, "done_at": DONE_MAIN}
    assert third.previous is not third.previous, "a copy each time"


# ---- conflicts as tables ----------------------------------------------------------------------


def test_conflicts_render_as_a_dataframe_and_html(engine: evcs.Engine) -> None:
    graph = Diverged(engine)
    with engine.session(author="ann") as s:
        preview = s.merge_preview("feature", resolutions=[
            evcs.Resolution("task", graph.t1, "points", "value", decimal.Decimal("4.5")),
            evcs.Resolution("task", graph.t1, "title", "theirs")])
        with pytest.raises(evcs.MergeConflict) as refused:
            s.merge("feature")
    frame = preview.conflicts_frame()
    assert list(frame.columns) == [
        "entity_type", "head_id", "field", "base", "ours", "theirs", "resolution", "kind",
        "constraint", "other_type", "other_head_id"]
    rows = sorted(frame.itertuples(index=False, name=None), key=lambda row: (row[1], row[2]))
    assert rows == [
        tuple(conflict[column] for column in ("entity_type", "head_id", "field", "base", "ours",
                                              "theirs"))
        + ({"points": "value 4.50", "title": "theirs"}.get(conflict["field"]),
           "delete" if conflict["field"] == "deleted" else "field", None, None, None)
        for conflict in graph.conflicts()]
    assert preview.conflicts.to_pandas().equals(frame)
    failed = refused.value.conflicts.to_pandas()
    assert len(failed) == 6 and failed["resolution"].isna().all()

    page = preview._repr_html_()
    assert page.startswith(
        "<p>evcs.MergeResult into main: 1 change(s), 6 conflict(s), 4 unresolved, no commit</p>"
        "<table><thead><tr><th>entity_type</th><th>head_id</th><th>field</th><th>base</th>"
        "<th>ours</th><th>theirs</th><th>resolution</th><th>kind</th><th>constraint</th>"
        "<th>other_type</th><th>other_head_id</th></tr></thead><tbody>")
    assert page.count("<tr>") == 7
    assert (f"<tr><td>task</td><td>{graph.t1}</td><td>points</td><td>1.00</td><td>3.00</td>"
            "<td>5.00</td><td>value 4.50</td><td>field</td><td></td><td></td><td></td></tr>") in page
    assert (f"<tr><td>task</td><td>{graph.t2}</td><td>deleted</td><td>False</td><td>False</td>"
            "<td>True</td><td></td><td>delete</td><td></td><td></td><td></td></tr>") in page
    assert repr(preview) == (
        "<evcs.MergeResult target='main' changes=1 conflicts=6 unresolved=4 commit=None "
        "stamp=None>")
    with engine.session(author="ann") as s:
        merged = s.merge("feature", strategy="theirs")
    assert merged._repr_html_().startswith(
        f"<p>evcs.MergeResult into main: 2 change(s), 6 conflict(s), 0 unresolved, commit "
        f"{merged.commit[:12] if merged.commit else ''}</p><table>")
    with engine.session(author="ann") as s:
        nothing = s.merge("feature")
    assert nothing._repr_html_() == (
        "<p>evcs.MergeResult into main: 0 change(s), 0 conflict(s), 0 unresolved, "
        "no commit</p>")


# ---- async ------------------------------------------------------------------------------------


def test_the_commit_graph_as_awaitables(engine: evcs.Engine) -> None:
    graph = Diverged(engine)

    async def scenario() -> None:
        async with engine.async_session(author="ann") as s:
            info = await s.commit_info("main")
            assert info.id == graph.main_head
            assert await s.merge_base("main", "feature") == await s.commit_info(graph.fork)
            preview = await s.merge_preview("feature", strategy="ours")
            assert preview.unresolved == 0 and len(preview.conflicts) == 6
            started = await s.merge_start("feature")
            assert started.unresolved == 6
            assert (await s.merge_status()).unresolved == 6
            await s.merge_abort()
            await s.commit()
            await s.merge_start("feature", message="async staged")
            resolved = await s.merge_resolve(
                [evcs.Resolution("task", graph.t1, field, "theirs")
                 for field in ("title", "points", "due", "owner", "done_at")]
                + [evcs.Resolution("task", graph.t2, "deleted", "ours")])
            assert resolved.unresolved == 0
            done = await s.merge_continue()
            assert done.commit == (await s.commit_info("main")).id
            tag = await s.tag("merged", message="async tag")
            await s.commit()
            assert tag.commit == done.commit
            assert [t.name for t in await s.tags()] == ["merged"]
            tasks = await s.repository("task")
            before = await tasks.get_at_commit(graph.t1, graph.main_head)
            assert before is not None and before["title"] == "T1 main"
            at_tag = await tasks.get(graph.t1, as_of="merged")
            assert at_tag is not None and at_tag["title"] == "T1 feature"
            assert len(await tasks.versions(mode="between")) == 5
            changes = await s.diff_history(graph.main_head, "merged")
            assert sorted(c["head_id"] for c in changes) == [graph.t1]
            reverted = await s.revert_commit("merged")
            assert reverted.commit is not None
            picked = await s.cherry_pick("merged", strategy="theirs")
            assert picked.commit is not None
            await s.delete_tag("merged")
            await s.commit()
            assert await s.tags() == []
            merged = await s.merge("feature")
            assert merged.commit is None, "feature's head is already an ancestor"

    asyncio.run(scenario())


# ---- the documentation's snippet --------------------------------------------------------------


def test_the_docs_snippet_runs_and_prints_what_it_says(
    engine: evcs.Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_docs_snippet(
        "Commits, merges in every direction, conflicts one by one", database_url, monkeypatch
    )
