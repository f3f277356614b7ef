"""Reads into pandas: find_frame of 100,000 current entities against asyncpg fetch +
DataFrame.from_records and psycopg fetchall + DataFrame.from_records of the same rows, and the
same read as of a past instant.

Run with bench/run frames [--quick] (it builds evcs and starts a throwaway server); or directly
with DATABASE_URL pointing at an empty database and PYTHONPATH set to the build's python
directory.

Every side reads the same columns of the same versions (head_id, version, valid_from, valid_to,
deleted, author, branch, name, price, qty) into a DataFrame: evcs from its typed columns
(Repository.find_frame), the drivers through their rows. The current read is the versions
open on main; the as-of read is the versions valid at an instant before the last 10% of the
entities were updated (a window query a user writes by hand: valid_from <= t < valid_to).
Measured interleaved (bench/versioned.py's Bench). Targets: evcs >= 1.5x asyncpg and >= 2x
psycopg (rate), the as-of read <= 1.3x the current read's time.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime
import decimal
import os
from typing import Any, Dict

import asyncpg  # type: ignore[import]
import pandas  # type: ignore[import]
import psycopg

from versioned import Bench

COLUMNS = ["head_id", "version", "valid_from", "valid_to", "deleted", "author", "branch",
           "name", "price", "qty"]
SELECT = "SELECT " + ", ".join(COLUMNS) + " FROM item_version WHERE branch = 'main' AND "
CURRENT_SQL = SELECT + "valid_to IS NULL AND NOT deleted"
AS_OF_SQL = SELECT + "valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1) AND NOT deleted"


def load(bench: Bench, count: int) -> datetime.datetime:
    """`count` entities, the last tenth of them updated after the instant returned."""
    with bench.engine.session(author="bench") as s:
        s.create_entity_type("item", {"name": "text not null", "price": "numeric(12,2)",
                                      "qty": "int"})
        s.commit()
        repo = s.repository("item")
        created = repo.create_many([
            {"name": f"item {n}", "price": decimal.Decimal(n) / 4, "qty": n if n % 7 else None}
            for n in range(count)])
        assert created.valid_from is not None
        for head_id in created.head_ids[-count // 10:]:
            repo.update(head_id, {"qty": -1})
        s.commit("update the last tenth")
    bench.engine.execute("VACUUM ANALYZE item_version")
    return created.valid_from + datetime.timedelta(microseconds=1)


async def measure(bench: Bench, instant: datetime.datetime, count: int) -> Dict[str, float]:
    connection = await asyncpg.connect(host=bench.pg_env.get("PGHOST"), user="postgres",
                                       database=bench.dbname)
    sync = psycopg.connect(host=bench.pg_env.get("PGHOST"), user="postgres", dbname=bench.dbname)
    session = bench.engine.session()
    repo = session.repository("item")
    try:
        async def asyncpg_current() -> None:
            rows = await connection.fetch(CURRENT_SQL)
            check(pandas.DataFrame.from_records(rows, columns=COLUMNS))

        async def asyncpg_as_of() -> None:
            rows = await connection.fetch(AS_OF_SQL, instant)
            check(pandas.DataFrame.from_records(rows, columns=COLUMNS))

        async def psycopg_current() -> None:
            with sync.cursor() as cursor:
                cursor.execute(CURRENT_SQL)
                check(pandas.DataFrame.from_records(cursor.fetchall(), columns=COLUMNS))
            sync.rollback()

        async def evcs_current() -> None:
            check(repo.find_frame())
            session.rollback()

        async def evcs_as_of() -> None:
            check(repo.find_frame(as_of=instant))
            session.rollback()

        def check(frame: Any) -> None:
            assert len(frame) == count, len(frame)

        return await bench.measure_interleaved_async({
            "evcs": (f"find_frame of {count:,} current entities", evcs_current),
            "evcs as-of": (f"find_frame of {count:,} entities as of an instant", evcs_as_of),
            "asyncpg": ("asyncpg fetch + DataFrame.from_records", asyncpg_current),
            "asyncpg as-of": ("asyncpg fetch as of + DataFrame.from_records", asyncpg_as_of),
            "psycopg": ("psycopg fetchall + DataFrame.from_records", psycopg_current),
        }, rounds=12)
    finally:
        session.close()
        sync.close()
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 entities, 1 s per read")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per read")
    arguments = parser.parse_args()
    count = 10_000 if arguments.quick else 100_000
    bench = Bench(os.environ["DATABASE_URL"], arguments.seconds or (2.0 if arguments.quick else 12.0))
    instant = load(bench, count)
    rates = asyncio.run(measure(bench, instant, count))
    bench.engine.close()
    print("\nratios and targets:")
    versus_asyncpg = rates["evcs"] / rates["asyncpg"]
    versus_psycopg = rates["evcs"] / rates["psycopg"]
    as_of = rates["evcs"] / rates["evcs as-of"]
    print(f"  find_frame / asyncpg + from_records (rate)      {versus_asyncpg:5.2f}  "
          f"(>= 1.5: {'met' if versus_asyncpg >= 1.5 else 'NOT met'})")
    print(f"  find_frame / psycopg + from_records (rate)      {versus_psycopg:5.2f}  "
          f"(>= 2: {'met' if versus_psycopg >= 2 else 'NOT met'})")
    print(f"  as-of / current find_frame (time)               {as_of:5.2f}  "
          f"(<= 1.3: {'met' if as_of <= 1.3 else 'NOT met'})   asyncpg "
          f"{rates['asyncpg'] / rates['asyncpg as-of']:5.2f}")


if __name__ == "__main__":
    main()
