"""Repository.update_many: many entities updated in one commit, written set by set, with the
semantics of update() for each row (values merged over the current version, lineage continued on
a branch), and bad input that writes nothing."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Iterator

import pytest

import evcs


@pytest.fixture
def engine(empty_schema_engine: evcs.Engine) -> evcs.Engine:
    return empty_schema_engine


@pytest.fixture
def s(engine: evcs.Engine) -> Iterator[evcs.Session]:
    with engine.session(author="ann") as setup:
        setup.create_entity_type(
            "item", {"name": "text not null", "qty": "int", "price": "numeric(10,2)"},
            checks={"qty_not_negative": "qty >= 0"})
    with engine.session(author="ann") as session:
        yield session


def commits(s: evcs.Session) -> int:
    count = s.scalar("SELECT count(*) FROM evcs_commit")
    s.rollback()
    return int(count)


def test_one_commit_merges_each_row_over_its_current_version(s: evcs.Session) -> None:
    items = s.repository("item")
    created = items.create_many(
        [{"name": f"n{n}", "qty": n, "price": decimal.Decimal("1.50")} for n in range(5)])
    before = commits(s)
    first, second, third = created.head_ids[:3]
    updated = items.update_many(
        [(first, {"qty": 10}), {"head_id": uuid.UUID(second), "name": "renamed"},
         (third, {"qty": 2})], "bulk fix")
    assert updated.head_ids == [first, second, third]
    assert updated.versions == [2, 2, 1], "the third row changed nothing: no new version"
    assert isinstance(updated.valid_from, datetime.datetime)
    assert commits(s) == before + 1
    log = s.commit_log(limit=1)[0]
    assert (log.message, log.changes) == ("bulk fix", 2)
    now = {v.head_id: v for v in items.find()}
    assert (now[first]["qty"], now[first]["name"], now[first]["price"]) == (
        10, "n0", decimal.Decimal("1.50"))
    assert (now[second]["qty"], now[second]["name"]) == (1, "renamed")
    assert now[third].version == 1
    history = items.history(first)
    assert [v.version for v in history] == [1, 2]
    assert history[1].changed == ["qty"] and history[1].previous == {"qty": 0}
    assert history[0].valid_to == history[1].valid_from == updated.valid_from
    as_of = items.get(first, as_of=updated.valid_from - datetime.timedelta(microseconds=1))
    assert as_of is not None and as_of["qty"] == 0
    s.rollback()


def test_nothing_changed_is_no_commit(s: evcs.Session) -> None:
    items = s.repository("item")
    created = items.create_many([{"name": "a", "qty": 1}])
    before = commits(s)
    updated = items.update_many([(created.head_ids[0], {"qty": 1})])
    assert updated.versions == [1] and updated.valid_from is None
    assert commits(s) == before


def test_a_branch_continues_the_lineage_it_reads_through(engine: evcs.Engine, s: evcs.Session) -> None:
    items = s.repository("item")
    created = items.create_many([{"name": f"n{n}", "qty": n} for n in range(3)])
    s.create_branch("side")
    s.commit()
    with engine.session("side", "bob") as side:
        side_items = side.repository("item")
        side_items.update(created.head_ids[0], {"qty": 7})
        side.commit("one change on the branch")
        updated = side_items.update_many([(head, {"qty": 100}) for head in created.head_ids])
        assert updated.versions == [2, 1, 1], "a branch numbers its own versions from 1"
        versions = {v.head_id: v for v in side_items.find()}
        assert all(v["qty"] == 100 for v in versions.values())
        read_through = versions[created.head_ids[1]]
        assert (read_through.branch, read_through.parent_branch, read_through.parent_version) == (
            "side", "main", 1)
        side.rollback()
    assert [v["qty"] for v in items.find(order_by="name")] == [0, 1, 2], "main is untouched"
    s.rollback()
    with engine.session() as merging:
        merged = merging.merge("side")
        assert len(merged.changes) == 3


def test_bad_rows_write_nothing(s: evcs.Session) -> None:
    items = s.repository("item")
    created = items.create_many([{"name": f"n{n}", "qty": n} for n in range(2)])
    head = created.head_ids[0]
    before = commits(s)
    bad_rows = [
        ([{"qty": 1}], evcs.InvalidArgument, "has no head_id"),
        ([(head, {"qty": 1}), (head, {"qty": 2})], evcs.InvalidArgument, "again"),
        ([(head, {"nope": 1})], evcs.InvalidArgument, "'nope' is not a field"),
        ([(head, {"qty": 3}), (str(uuid.uuid4()), {"qty": 1})], evcs.NotFound, "does not exist"),
        ([(head, {"qty": 3}), (created.head_ids[1], {"qty": -1})], evcs.IntegrityError,
         "qty_not_negative"),
        (["not a row"], evcs.InvalidArgument, "pair or a mapping"),
    ]
    for rows, error, message in bad_rows:
        with pytest.raises(error, match=message):
            items.update_many(rows)  # type: ignore[arg-type]
    assert commits(s) == before
    assert [v["qty"] for v in items.find(order_by="name")] == [0, 1]
    items.delete(created.head_ids[1])
    s.commit()
    with pytest.raises(evcs.NotFound, match="is deleted"):
        items.update_many([(created.head_ids[1], {"qty": 5})])
    items.update(head, {"qty": 9})
    with pytest.raises(evcs.MisuseError):
        items.update_many([(head, {"qty": 5})])
    s.rollback()


def test_inside_begin_it_joins_the_transaction(s: evcs.Session) -> None:
    items = s.repository("item")
    created = items.create_many([{"name": f"n{n}", "qty": n} for n in range(3)])
    with s.begin():
        updated = items.update_many([(head, {"qty": 50}) for head in created.head_ids])
        assert updated.valid_from is None and updated.versions == [2, 2, 2]
        with pytest.raises(evcs.InvalidArgument, match="pass the message to commit"):
            items.update_many([(created.head_ids[0], {"qty": 1})], "message")
    assert [v["qty"] for v in items.find()] == [50, 50, 50]
    s.rollback()
    with pytest.raises(ZeroDivisionError):
        with s.begin():
            items.update_many([(created.head_ids[0], {"qty": 1})])
            raise ZeroDivisionError
    assert items.get(created.head_ids[0])["qty"] == 50  # type: ignore[index]
    s.rollback()
