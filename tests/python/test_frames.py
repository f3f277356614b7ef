"""Repository.find_frame: find as a pandas DataFrame made from the C ABI's typed columns. Every
cell must be what find() gives for the same version (the Version path is the reference), every
NULL kept, with the documented dtypes, as of any instant and on any branch."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import math
import uuid
from typing import Any, Iterator

import numpy
import pandas
import pytest

import evcs
from evcs import frames

from conftest import run_docs_snippet

UTC = datetime.timezone.utc

FIELDS = {
    "name": "text not null",
    "qty": "int",
    "big": "bigint",
    "price": "numeric(12,2)",
    "ok": "boolean",
    "at": "timestamptz",
    "ratio": "float8",
    "doc": "jsonb",
    "day": "date",
    "ref": "uuid",
    "raw": "bytea",
    "tags": "text[]",
    "counts": "int[]",
}


@pytest.fixture
def engine(empty_schema_engine: evcs.Engine) -> evcs.Engine:
    return empty_schema_engine


@pytest.fixture
def s(engine: evcs.Engine) -> Iterator[evcs.Session]:
    with engine.session(author="alice") as setup:
        setup.create_entity_type("item", FIELDS)
    with engine.session(author="alice") as session:
        yield session


FULL: dict[str, Any] = {
    "name": "full",
    "qty": -7,
    "big": 2**62,
    "price": decimal.Decimal("1234.50"),
    "ok": False,
    "at": datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
    "ratio": -0.25,
    "doc": {"nested": [1, "two", None, {"x": True}]},
    "day": datetime.date(1999, 12, 31),
    "ref": uuid.UUID("7f0e3b1c-51a5-4b0e-8c55-7d7b7b7b7b7b"),
    "raw": b"\x00\xff\x10",
    "tags": ["a", "b c", ""],
    "counts": [1, -2, 3],
}


def same(frame_value: Any, version_value: Any) -> bool:
    """A frame cell against the Version's value; a frame's missing value is None, NaN, NaT or
    pandas.NA by dtype."""
    if version_value is None:
        return frame_value is None or frame_value is pandas.NA or frame_value is pandas.NaT or (
            isinstance(frame_value, float) and math.isnan(frame_value))
    if isinstance(version_value, float) and math.isnan(version_value):
        return math.isnan(frame_value)
    return bool(frame_value == version_value)


def test_every_cell_is_what_find_gives_with_nulls_kept(s: evcs.Session) -> None:
    repo = s.repository("item")
    full = repo.create(FULL)
    empty = repo.create({"name": "empty"})
    odd = repo.create({"name": "odd", "ratio": float("nan"), "qty": 0, "ok": True,
                       "doc": [], "tags": [], "raw": b""})
    s.commit("three items")
    frame = repo.find_frame(order_by="name")
    versions = repo.find(order_by="name")
    assert list(frame.columns) == [
        "head_id", "version", "valid_from", "valid_to", "deleted", "author", "branch",
        *sorted(FIELDS),
    ]
    assert list(frame["name"]) == ["empty", "full", "odd"]
    assert list(frame["head_id"]) == [empty.head_id, full.head_id, odd.head_id]
    for row, version in zip(frame.itertuples(index=False), versions):
        cells = row._asdict()
        assert cells["head_id"] == version.head_id
        assert cells["version"] == version.version
        assert cells["valid_from"] == pandas.Timestamp(version.valid_from)
        assert cells["valid_to"] is pandas.NaT
        assert not cells["deleted"]
        assert cells["author"] == version.author == "alice"
        assert cells["branch"] == "main"
        for field in FIELDS:
            assert same(cells[field], version[field]), (version["name"], field, cells[field])
    full_row = frame.iloc[1]
    assert full_row["price"] == decimal.Decimal("1234.50") and isinstance(
        full_row["price"], decimal.Decimal)
    assert full_row["ref"] == FULL["ref"] and isinstance(full_row["ref"], uuid.UUID)
    assert full_row["day"] == FULL["day"] and full_row["raw"] == FULL["raw"]
    assert full_row["doc"] == FULL["doc"] and full_row["tags"] == FULL["tags"]
    assert full_row["counts"] == [1, -2, 3] and full_row["big"] == 2**62
    assert full_row["at"] == pandas.Timestamp("2024-02-29 23:59:59.999999", tz="UTC")
    assert math.isnan(frame["ratio"][2]) and frame["ratio"][1] == -0.25


def test_dtypes_keep_nulls_and_widths(s: evcs.Session) -> None:
    repo = s.repository("item")
    repo.create(FULL)
    repo.create({"name": "empty"})
    s.commit()
    frame = repo.find_frame()
    dtypes = {name: str(dtype) for name, dtype in frame.dtypes.items()}
    assert dtypes == {
        "head_id": "object", "version": "int64", "valid_from": "datetime64[ns, UTC]",
        "valid_to": "datetime64[ns, UTC]", "deleted": "bool", "author": "object",
        "branch": "object", "at": "datetime64[ns, UTC]", "big": "Int64", "counts": "object",
        "day": "object", "doc": "object", "name": "object", "ok": "boolean",
        "price": "object", "qty": "Int64", "ratio": "float64", "raw": "object",
        "ref": "object", "tags": "object",
    }
    without_nulls = repo.find_frame(where={"name": "full"})
    assert str(without_nulls["qty"].dtype) == "int64"
    assert str(without_nulls["ok"].dtype) == "bool"


def test_as_of_branch_where_and_pages(engine: evcs.Engine, s: evcs.Session) -> None:
    repo = s.repository("item")
    created = repo.create_many([{"name": f"n{number:03}", "qty": number} for number in range(250)])
    before = created.valid_from
    assert before is not None
    for head_id in created.head_ids[:10]:
        repo.update(head_id, {"qty": -1})
    s.commit("ten changed")
    s.create_branch("side")
    s.commit()
    with engine.session("side", "bob") as side:
        side.repository("item").delete(created.head_ids[0])
        side.commit("one deleted on the branch")

    now = repo.find_frame(order_by="name")
    assert (now["qty"][:10] == -1).all() and list(now["version"][:11]) == [2] * 10 + [1]
    then = repo.find_frame(order_by="name", as_of=before)
    assert list(then["qty"]) == list(range(250))
    assert (then["valid_to"][:10] > pandas.Timestamp(before)).all()
    on_side = repo.find_frame(order_by="name", branch="side")
    assert len(on_side) == 249 and "n000" not in set(on_side["name"])
    assert list(repo.find_frame(where={"qty": -1}, order_by="name")["name"]) == [f"n{n:03}" for n in range(10)]

    names = []
    page = repo.find_frame(order_by="name", limit=100)
    while True:
        names += list(page["name"])
        cursor = page.attrs["cursor"]
        if cursor is None:
            break
        page = repo.find_frame(order_by="name", limit=100, after=cursor)
    assert names == [f"n{number:03}" for number in range(250)]
    assert len(repo.find_frame(order_by="name", limit=100, offset=240)) == 10


def test_empty_frames_have_the_columns(s: evcs.Session) -> None:
    frame = s.repository("item").find_frame()
    assert frame.shape == (0, 7 + len(FIELDS))
    assert str(frame["valid_from"].dtype) == "datetime64[ns, UTC]"


def test_instants_past_datetime64_stay_datetimes_and_infinity_is_refused(s: evcs.Session) -> None:
    repo = s.repository("item")
    far = datetime.datetime(3000, 1, 1, tzinfo=UTC)
    repo.create({"name": "far", "at": far})
    s.commit()
    frame = repo.find_frame()
    assert frame["at"].dtype == object and frame["at"][0] == far
    # 'infinity' has no datetime either (find() refuses it the same way): the conversion is
    # checked on the column evcs._native hands over, as a 'infinity' cell arrives.
    infinity = numpy.array([2**63 - 1, 0], dtype="int64")
    with pytest.raises(evcs.InvalidArgument, match="outside the range of Python's datetime"):
        frames.frame([("at", "timestamp", infinity, numpy.array([True, True]))], ["at"])


def test_execute_frame_types_every_column_of_a_query(s: evcs.Session) -> None:
    frame = s.execute_frame(
        "SELECT n AS i, n::float8 / 4 AS d, n > 1 AS b, 'v' || n AS t, "
        "CASE WHEN n = 2 THEN NULL ELSE n END AS maybe, to_timestamp(n) AS ts, "
        "(n * 1.5)::numeric(6,2) AS price, gen_random_uuid() AS id, n AS i "
        "FROM generate_series(1, $1) n ORDER BY n",
        [3],
    )
    assert list(frame.columns) == ["i", "d", "b", "t", "maybe", "ts", "price", "id", "i"], (
        "a repeated name stays a column of its own")
    assert [str(dtype) for dtype in frame.dtypes] == [
        "int64", "float64", "bool", "object", "Int64", "datetime64[ns, UTC]", "object",
        "object", "int64"]
    assert list(frame["t"]) == ["v1", "v2", "v3"]
    assert frame["maybe"][1] is pandas.NA and frame["maybe"][2] == 3
    assert frame["ts"][0] == pandas.Timestamp("1970-01-01 00:00:01", tz="UTC")
    assert frame["price"][1] == decimal.Decimal("3.00")
    assert isinstance(frame["id"][0], uuid.UUID)
    assert s.execute_frame("SELECT 1 AS x WHERE false").shape == (0, 1)
    with pytest.raises(evcs.Error, match="division by zero"):
        s.execute_frame("SELECT 1 / 0")
    s.rollback()


def test_the_documented_example_prints_what_the_docs_say(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_docs_snippet("DataFrames", database_url, monkeypatch)


def test_the_async_api_returns_the_same_frames(engine: evcs.Engine, s: evcs.Session) -> None:
    s.repository("item").create_many([{"name": f"n{number}", "qty": number} for number in range(5)])

    async def read() -> tuple[pandas.DataFrame, pandas.DataFrame]:
        async with engine.async_session() as session:
            repo = await session.repository("item")
            return (await repo.find_frame(order_by="name"),
                    await session.execute_frame("SELECT count(*) AS n FROM item_version"))

    found, counted = asyncio.run(read())
    pandas.testing.assert_frame_equal(found, s.repository("item").find_frame(order_by="name"))
    assert counted["n"].tolist() == [5]
