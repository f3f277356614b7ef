"""Branches through Python: read-through without copies, isolation from the parent, snapshot vs
live, locks, listing; diff and merge with their Python shapes."""

from __future__ import annotations

import datetime
import decimal
from typing import Iterator, Optional

import pytest

import evcs


@pytest.fixture
def engine(database_url: str) -> Iterator[evcs.Engine]:
    """A new engine per test on an emptied schema: the engine installs its catalog again."""
    with evcs.Engine(database_url) as cleaner, cleaner.session() as setup:
        setup.execute("DROP SCHEMA public CASCADE")
        setup.execute("CREATE SCHEMA public")
    with evcs.Engine(database_url) as fresh:
        yield fresh


@pytest.fixture
def bridge(engine: evcs.Engine) -> Iterator[str]:
    with engine.session(author="tester") as s:
        s.create_entity_type("work_package", {"title": "text not null", "budget": "numeric"})
        head = s.repository("work_package").create({"title": "bridge", "budget": 100}).head_id
    yield head


def budget(engine: evcs.Engine, branch: str, head: str,
           as_of: Optional[datetime.datetime] = None) -> object:
    with engine.session(branch=branch) as s:
        version = s.repository("work_package").get(head, as_of=as_of)
        return "absent" if version is None else str(version["budget"])


def test_a_branch_reads_through_and_never_modifies_its_parent(
    engine: evcs.Engine, bridge: str
) -> None:
    with engine.session(author="tester") as s:
        s.create_branch("change-order")
    assert budget(engine, "change-order", bridge) == "100", "read through without a copy"
    with engine.session(branch="change-order", author="tester") as s:
        changed = s.repository("work_package").update(bridge, {"budget": 150})
        assert changed.branch == "change-order"
        assert changed.version == 1
        assert changed.parent_branch == "main"
        assert changed.parent_version == 1
    assert budget(engine, "change-order", bridge) == "150"
    assert budget(engine, "main", bridge) == "100"
    with engine.session() as s:
        repo = s.repository("work_package")
        assert len(repo.history(bridge)) == 1
        on_branch = repo.get(bridge, branch="change-order")
        assert on_branch is not None and on_branch["budget"] == decimal.Decimal("150")
        assert len(repo.history(bridge, branch="change-order")) == 1
        assert repo.count(branch="change-order", where={"budget": {"gt": 120}}) == 1
        assert repo.count(where={"budget": {"gt": 120}}) == 0


def test_snapshot_branches_ignore_later_parent_changes_live_branches_see_them(
    engine: evcs.Engine, bridge: str
) -> None:
    with engine.session(author="tester") as s:
        s.create_branch("snap")
        s.create_branch("watch", mode="live")
    with engine.session(author="tester") as s:
        s.repository("work_package").update(bridge, {"budget": 175})
    assert budget(engine, "snap", bridge) == "100"
    assert budget(engine, "watch", bridge) == "175"


def test_creations_and_deletes_stay_on_the_branch(engine: evcs.Engine, bridge: str) -> None:
    with engine.session(author="tester") as s:
        s.create_branch("side")
    with engine.session(branch="side", author="tester") as s:
        repo = s.repository("work_package")
        tunnel = repo.create({"title": "tunnel"}).head_id
        repo.delete(bridge)
    assert budget(engine, "side", bridge) == "absent"
    assert budget(engine, "main", bridge) == "100"
    with engine.session() as s:
        repo = s.repository("work_package")
        assert repo.get(tunnel) is None
        assert repo.get(tunnel, branch="side") is not None


def test_branches_are_listed_with_python_types(engine: evcs.Engine, bridge: str) -> None:
    with engine.session(author="tester") as s:
        s.create_branch("feature")
        s.create_branch("sub", from_branch="feature", mode="live")
    with engine.session() as s:
        branches = s.branches()
    assert [b.name for b in branches] == ["main", "feature", "sub"]
    main, feature, sub = branches
    assert isinstance(main, evcs.Branch)
    assert main.parent is None
    assert feature.parent == "main"
    assert feature.mode == "snapshot"
    assert feature.status == "active"
    assert feature.created_by == "tester"
    assert isinstance(feature.fork_stamp, datetime.datetime)
    assert feature.created_at.tzinfo is not None
    assert sub.parent == "feature"
    assert sub.mode == "live"


def test_a_locked_branch_rejects_writes_and_serves_reads(
    engine: evcs.Engine, bridge: str
) -> None:
    with engine.session(author="tester") as s:
        s.create_branch("frozen")
        s.commit()
        s.lock_branch("frozen")
    with engine.session(branch="frozen", author="tester") as s:
        repo = s.repository("work_package")
        with pytest.raises(evcs.BranchLocked) as locked:
            repo.update(bridge, {"budget": 5})
        assert locked.value.sqlstate == "EVL01"
        assert locked.value.code == "branch_locked"
        s.rollback()
        current = repo.get(bridge)
        assert current is not None and current["budget"] == decimal.Decimal("100")
        with engine.session() as admin:
            assert [b.status for b in admin.branches() if b.name == "frozen"] == ["locked"]
            admin.unlock_branch("frozen")
        assert repo.update(bridge, {"budget": 5})["budget"] == decimal.Decimal("5")
        s.commit()
        with engine.session() as admin:
            admin.archive_branch("frozen")
            admin.commit()
            with pytest.raises(evcs.InvalidArgument):
                admin.unlock_branch("frozen")
            admin.rollback()
        with pytest.raises(evcs.BranchLocked):
            repo.create({"title": "x"})
        s.rollback()


def test_bad_branch_input(engine: evcs.Engine, bridge: str) -> None:
    with engine.session() as s:
        with pytest.raises(evcs.InvalidArgument):
            s.create_branch("bad name")
        with pytest.raises(evcs.InvalidArgument):
            s.create_branch("x'; DROP TABLE evcs_branch; --")
        with pytest.raises(evcs.NotFound):
            s.create_branch("x", from_branch="no-such-parent")
        s.rollback()
        with pytest.raises(evcs.InvalidArgument):
            s.create_branch("x", mode="sideways")
        s.rollback()
        with pytest.raises(evcs.NotFound):
            s.lock_branch("ghost")
        s.rollback()
        assert [b.name for b in s.branches()] == ["main"], "nothing was written"


def test_diff_and_merge(engine: evcs.Engine, bridge: str) -> None:
    with engine.session(author="tester") as s:
        s.create_branch("change-order")
    with engine.session(branch="change-order", author="tester") as s:
        s.repository("work_package").update(bridge, {"budget": 150})
    with engine.session(author="tester") as s:
        assert s.diff("change-order") == [
            {
                "entity_type": "work_package",
                "head_id": bridge,
                "kind": "modified",
                "fields": {"budget": {"old": "100", "new": "150"}},
            }
        ]
        s.repository("work_package").update(bridge, {"budget": 120})
        s.commit()
        preview = s.merge_preview("change-order")
        assert preview.stamp is None
        conflict = {
            "entity_type": "work_package", "head_id": bridge, "field": "budget",
            "base": "100", "ours": "120", "theirs": "150",
        }
        assert preview.conflicts == [conflict]
        with pytest.raises(evcs.MergeConflict) as failed:
            s.merge("change-order")
        assert failed.value.conflicts == [conflict]
        s.rollback()
        merged = s.merge("change-order", strategy="theirs")
        assert isinstance(merged, evcs.MergeResult)
        assert isinstance(merged.stamp, datetime.datetime)
        assert [change["head_id"] for change in merged.changes] == [bridge]
        current = s.repository("work_package").get(bridge)
        assert current is not None
        assert current["budget"] == decimal.Decimal("150")
        assert current.merged_from == "change-order"
        with pytest.raises(evcs.InvalidArgument):
            s.merge("change-order", strategy="sideways")


def test_the_commit_log_lists_commits_newest_first_with_filters(
    engine: evcs.Engine, bridge: str
) -> None:
    with engine.session(author="ann") as s:
        s.create_branch("co")
        s.commit("open the change order")
    with engine.session(branch="co", author="bob") as s:
        s.repository("work_package").update(bridge, {"budget": 150})
        s.commit("raise the budget")
    with engine.session(author="cy") as s:
        road = s.repository("work_package").create({"title": "road"}).head_id
        s.commit("add the road")
        s.merge("co")
        log = s.commit_log()
        assert [(c.branch, c.author, c.message, c.changes, c.merged_from) for c in log] == [
            ("main", "cy", "merge co", 1, "co"),
            ("main", "cy", "add the road", 1, None),
            ("co", "bob", "raise the budget", 1, None),
            ("main", "ann", "open the change order", 0, None),
            ("main", "tester", "", 1, None),
        ]
        assert [c.stamp for c in log] == sorted((c.stamp for c in log), reverse=True)
        assert isinstance(log[0], evcs.Commit) and log[0].stamp.tzinfo is not None
        assert [c.message for c in s.commit_log(branch="co")] == ["raise the budget"]
        assert [c.message for c in s.commit_log(limit=1)] == ["merge co"]
        bridge_commits = s.commit_log(entity_type="work_package", head_id=bridge)
        assert [(c.branch, c.merged_from) for c in bridge_commits] == [
            ("main", "co"), ("co", None), ("main", None)]
        assert [c.message for c in s.commit_log(entity_type="work_package", head_id=road)] == [
            "add the road"]
        with pytest.raises(evcs.InvalidArgument, match="needs the entity_type"):
            s.commit_log(head_id=bridge)
        with pytest.raises(evcs.NotFound):
            s.commit_log(entity_type="no_such_type")
        with pytest.raises(evcs.InvalidArgument, match="negative"):
            s.commit_log(limit=-1)
