"""Branches through Python: read-through without copies, isolation from the parent, snapshot vs
live, locks, listing; diff and merge with their Python shapes."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any, Dict, Iterator, List, Optional

import pytest

import evcs
from conftest import not_a_violation


@pytest.fixture
def engine(empty_schema_engine: evcs.Engine) -> evcs.Engine:
    """A new engine per test on an emptied schema: the engine installs its catalog again."""
    return empty_schema_engine


@pytest.fixture
def bridge(engine: evcs.Engine) -> Iterator[str]:
    with engine.session(author="tester") as s:
        s.create_entity_type("work_package", {"title": "text not null", "budget": "numeric"})
        head = s.repository("work_package").create({"title": "bridge", "budget": 100}).head_id
    yield head


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
MICROSECOND = datetime.timedelta(microseconds=1)


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
        # The branch's history explains what it shows: main's version it read through to up to
        # the fork, then its own.
        assert [(v.branch, v["budget"]) for v in repo.history(bridge, branch="change-order")] == [
            ("main", decimal.Decimal("100")), ("change-order", decimal.Decimal("150"))]
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
                "fields": {"budget": {"old": decimal.Decimal(100), "new": decimal.Decimal(150)}},
            }
        ]
        s.repository("work_package").update(bridge, {"budget": 120})
        s.commit()
        preview = s.merge_preview("change-order")
        assert preview.stamp is None
        conflict = {
            "entity_type": "work_package", "head_id": bridge, "field": "budget",
            "base": decimal.Decimal(100), "ours": decimal.Decimal(120),
            "theirs": decimal.Decimal(150), "resolution": None, **not_a_violation(),
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
            ("main", "tester", "", 1, None),
        ]  # creating the branch wrote no version: no commit
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


def test_a_snapshot_branch_forks_from_a_past_instant(engine: evcs.Engine, bridge: str) -> None:
    with engine.session(author="tester") as s:
        repo = s.repository("work_package")
        first = repo.get(bridge)
        assert first is not None and first.valid_from is not None
        before_raise = first.valid_from
        repo.update(bridge, {"budget": 120})
        s.commit()
        s.create_branch("audit", as_of=before_raise)
        s.create_branch("audit-micros", as_of=(before_raise - EPOCH) // MICROSECOND)
        s.commit()
        forks = {branch.name: branch.fork_stamp for branch in s.branches()}
        assert forks["audit"] == before_raise
        assert forks["audit-micros"] == before_raise
        in_an_hour = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        with pytest.raises(evcs.InvalidArgument, match="in the future"):
            s.create_branch("later", as_of=in_an_hour)
        s.rollback()
        with pytest.raises(evcs.InvalidArgument, match="live branch"):
            s.create_branch("live-past", mode="live", as_of=before_raise)
        s.rollback()
        with pytest.raises(evcs.InvalidArgument, match="naive datetime"):
            s.create_branch("naive", as_of=datetime.datetime(2024, 1, 1))
        with pytest.raises(TypeError, match="aware datetime or int microseconds"):
            s.create_branch("text", as_of="2024-01-01")  # type: ignore[arg-type]
        assert [b.name for b in s.branches()] == ["main", "audit", "audit-micros"]
    assert budget(engine, "audit", bridge) == "100", "main as of the fork point, before the raise"
    assert budget(engine, "audit-micros", bridge) == "100"
    assert budget(engine, "main", bridge) == "120"


def test_a_merge_records_its_message_and_a_preview_takes_a_strategy(
    engine: evcs.Engine, bridge: str
) -> None:
    with engine.session(author="tester") as s:
        s.create_branch("co")
    with engine.session(branch="co", author="tester") as s:
        s.repository("work_package").update(bridge, {"budget": 150, "title": "new bridge"})
    with engine.session(author="tester") as s:
        s.repository("work_package").update(bridge, {"budget": 120})
        s.commit()
        failing = s.merge_preview("co")
        assert failing.changes[0]["fields"] == {"title": {"old": "bridge", "new": "new bridge"}}
        assert s.merge_preview("co", strategy="fail").changes == failing.changes
        assert s.merge_preview("co", strategy="ours").changes == failing.changes
        theirs = s.merge_preview("co", strategy="theirs")
        assert theirs.changes[0]["fields"] == {
            "budget": {"old": decimal.Decimal(120), "new": decimal.Decimal(150)},
            "title": {"old": "bridge", "new": "new bridge"},
        }
        assert len(theirs.conflicts) == 1 and failing.conflicts[0].resolution is None
        assert theirs.conflicts[0].resolution == evcs.Resolution(
            "work_package", bridge, "budget", "theirs")
        assert {**theirs.conflicts[0], "resolution": None} == failing.conflicts[0]
        assert theirs.stamp is None
        with pytest.raises(evcs.InvalidArgument, match="strategy"):
            s.merge_preview("co", strategy="sideways")
        s.rollback()
        assert budget(engine, "main", bridge) == "120", "a preview writes nothing"
        merged = s.merge("co", strategy="theirs", message="approve the change order")
        assert [(c.message, c.merged_from) for c in s.commit_log(limit=1)] == [
            ("approve the change order", "co")]
        assert s.commit_log(limit=1)[0].stamp == merged.stamp
    assert budget(engine, "main", bridge) == "150"


def test_diff_and_merge_values_have_their_field_types(engine: evcs.Engine) -> None:
    site = uuid.UUID("6f1c0a8e-1111-4222-8333-444455556666")
    moved = uuid.UUID("6f1c0a8e-9999-4222-8333-444455556666")
    start = datetime.datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=datetime.timezone.utc)
    with engine.session(author="tester") as s:
        s.create_entity_type("permit", [
            {"name": "fee", "type": "numeric(10,2)"}, {"name": "site", "type": "uuid"},
            {"name": "due", "type": "date"}, {"name": "issued", "type": "timestamptz"},
            {"name": "scan", "type": "bytea"}, {"name": "note", "type": "text"},
        ])
        permits = s.repository("permit")
        permit = permits.create({"fee": decimal.Decimal("10.5"), "site": site,
                                 "due": datetime.date(2024, 6, 1), "issued": start,
                                 "scan": b"\x00\x01", "note": "filed"}).head_id
        dropped = permits.create({"note": "to drop"}).head_id
        s.commit()
        s.create_branch("review")
    with engine.session(branch="review", author="tester") as s:
        permits = s.repository("permit")
        permits.update(permit, {"fee": decimal.Decimal("12"), "site": moved,
                                "due": datetime.date(2024, 7, 1),
                                "issued": start + datetime.timedelta(days=1), "scan": b"\xff"})
        permits.delete(dropped)
    with engine.session(author="tester") as s:
        diff = {entry["head_id"]: entry for entry in s.diff("review")}
        assert diff[permit]["fields"] == {
            "fee": {"old": decimal.Decimal("10.50"), "new": decimal.Decimal("12.00")},
            "site": {"old": site, "new": moved},
            "due": {"old": datetime.date(2024, 6, 1), "new": datetime.date(2024, 7, 1)},
            "issued": {"old": start, "new": start + datetime.timedelta(days=1)},
            "scan": {"old": b"\x00\x01", "new": b"\xff"},
        }
        assert diff[dropped]["kind"] == "deleted"
        permits = s.repository("permit")
        permits.update(permit, {"fee": decimal.Decimal("11"), "site": None})
        permits.update(dropped, {"note": "kept"})
        s.commit()
        fee_conflict = {"entity_type": "permit", "head_id": permit, "field": "fee",
                        "base": decimal.Decimal("10.50"), "ours": decimal.Decimal("11.00"),
                        "theirs": decimal.Decimal("12.00"), "resolution": None,
                        **not_a_violation()}
        site_conflict = {"entity_type": "permit", "head_id": permit, "field": "site",
                         "base": site, "ours": None, "theirs": moved, "resolution": None,
                         **not_a_violation()}
        delete_conflict = {"entity_type": "permit", "head_id": dropped, "field": "deleted",
                           "base": False, "ours": False, "theirs": True, "resolution": None,
                           **not_a_violation("delete")}
        def in_order(conflicts: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
            return sorted(conflicts, key=lambda conflict: (conflict["head_id"], conflict["field"]))

        expected = in_order([fee_conflict, site_conflict, delete_conflict])
        assert in_order(s.merge_preview("review").conflicts) == expected
        with pytest.raises(evcs.MergeConflict) as failed:
            s.merge("review")
        assert in_order(failed.value.conflicts) == expected
        assert not s.in_transaction, "reading the field types leaves no transaction behind"
        merged = s.merge("review", strategy="theirs")
        assert not s.in_transaction
        assert in_order(merged.conflicts) == [
            {**c, "resolution": evcs.Resolution(c["entity_type"], c["head_id"], c["field"], "theirs")}
            for c in expected]
        changed = {entry["head_id"]: entry["fields"] for entry in merged.changes}
        assert changed[permit]["fee"] == {"old": decimal.Decimal("11.00"),
                                          "new": decimal.Decimal("12.00")}
        assert changed[permit]["site"] == {"old": None, "new": moved}
        assert changed[permit]["issued"] == {"old": start,
                                             "new": start + datetime.timedelta(days=1)}
