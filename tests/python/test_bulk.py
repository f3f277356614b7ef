"""Repository.create_many through Python: one commit with one stamp, the commit log, chosen
head ids, joining begin(), and bad input that writes nothing."""

from __future__ import annotations

import decimal
import uuid
from typing import Iterator

import pytest

import evcs


@pytest.fixture
def s(empty_schema_engine: evcs.Engine) -> Iterator[evcs.Session]:
    with empty_schema_engine.session(author="loader") as setup:
        setup.create_entity_type("part", {"name": "text not null", "price": "numeric(10,2)"})
    with empty_schema_engine.session(author="loader") as session:
        yield session


def test_create_many_commits_the_rows_with_one_stamp(s: evcs.Session) -> None:
    repo = s.repository("part")
    chosen = uuid.UUID("c0000000-0000-4000-8000-000000000001")
    created = repo.create_many(
        [{"name": "bolt", "price": decimal.Decimal("0.5")}, {"name": "nut", "head_id": chosen}],
        message="parts list",
    )
    assert isinstance(created, evcs.CreatedEntities)
    assert len(created) == 2
    assert created.head_ids[1] == str(chosen)
    assert created.branch == "main"
    assert created.author == "loader"
    assert created.valid_from is not None
    assert not s.in_transaction
    bolt = repo.get(created.head_ids[0])
    assert bolt is not None
    assert bolt["price"] == decimal.Decimal("0.50")
    assert bolt.valid_from == created.valid_from
    log = s.execute("SELECT message, changes FROM evcs_commit").all()
    assert [tuple(row) for row in log] == [("parts list", 2)]
    s.rollback()

    with s.begin():
        joined = repo.create_many([{"name": "washer"}])
        assert joined.valid_from is None, "pending until the transaction commits"
    assert repo.get(joined.head_ids[0]) is not None


def test_create_many_refuses_bad_input_and_writes_nothing(s: evcs.Session) -> None:
    repo = s.repository("part")
    with pytest.raises(evcs.InvalidArgument, match="row 1: 'nmae' is not a field"):
        repo.create_many([{"name": "ok"}, {"nmae": "typo"}])
    with pytest.raises(evcs.InvalidArgument, match="row 0 must be a mapping"):
        repo.create_many(["not a row"])  # type: ignore[list-item]
    with pytest.raises(evcs.InvalidArgument) as bad_value:
        repo.create_many([{"name": "ok"}, {"name": "x", "price": "cheap"}])
    assert bad_value.value.sqlstate == "22P02"
    repo.create({"name": "pending"})
    with pytest.raises(evcs.MisuseError, match="uncommitted versions"):
        repo.create_many([{"name": "x"}])
    s.rollback()
    assert s.scalar("SELECT count(*) FROM part_version") == 0
