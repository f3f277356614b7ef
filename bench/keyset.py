"""Keyset pagination: page 1 against page 1,000 (pages of 10) for evcs's cursor, evcs's offset
and a hand-written asyncpg keyset query.

Run with bench/run keyset [--quick] (it builds evcs and starts a throwaway server); or directly
with DATABASE_URL pointing at an empty database and PYTHONPATH set to the build's python
directory.

The figure that matters is the ratio of the time of page 1,000 to that of page 1 for each way
of paging (the target for the cursor: within 20% of 1). All six reads are measured interleaved
(bench/versioned.py's Bench), so a change in the machine's load weighs on them alike.
"""
from __future__ import annotations

import argparse
import asyncio
import os
from typing import Awaitable, Callable, Dict, List, Optional, Tuple

import asyncpg  # type: ignore[import]

import evcs
from versioned import Bench

PAGE = 10
FAR_PAGE = 1_000
AUTHOR = "bench"

# What a hand-written keyset read of the current state looks like: the next PAGE entities by
# head_id after the last one seen, on the (branch, head_id) index of current versions.
ASYNCPG_FIRST = ("SELECT * FROM page_item_version WHERE branch = 'main' AND valid_to IS NULL "
                 "ORDER BY head_id LIMIT $1")
ASYNCPG_AFTER = ("SELECT * FROM page_item_version WHERE branch = 'main' AND valid_to IS NULL "
                 "AND head_id > $2 ORDER BY head_id LIMIT $1")


def load(bench: Bench, entities: int) -> None:
    with bench.engine.session(author=AUTHOR) as s:
        s.create_entity_type("page_item", {"name": "text not null", "qty": "int"})
        s.commit()
        repo = s.repository("page_item")
        for start in range(0, entities, 10_000):
            rows = [{"name": f"item {n}", "qty": n % 97}
                    for n in range(start, min(start + 10_000, entities))]
            repo.create_many(rows, f"items {start}..")
        s.execute("ANALYZE page_item_version")


def cursor_before(repo: evcs.Repository, page: int) -> str:
    """The cursor that page `page` is read with: walked to, page by page, as a client would."""
    cursor: Optional[str] = None
    for _ in range(page - 1):
        cursor = repo.find(limit=PAGE, after=cursor).cursor
        assert cursor is not None, "fewer entities than pages"
    assert cursor is not None
    return cursor


def blocking(operation: Callable[[], object]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        operation()
    return run


async def measure(bench: Bench) -> Dict[str, float]:
    far_offset = (FAR_PAGE - 1) * PAGE
    connection = await asyncpg.connect(host=bench.pg_env.get("PGHOST"), user="postgres",
                                       database=bench.dbname)
    try:
        rows = await connection.fetch(ASYNCPG_FIRST, far_offset)
        last_before_far = rows[-1]["head_id"]
        with bench.engine.session() as s:
            repo = s.repository("page_item")
            far_cursor = cursor_before(repo, FAR_PAGE)
            first = repo.find(limit=PAGE)
            far = repo.find(limit=PAGE, after=far_cursor)
            offset_far = repo.find(limit=PAGE, offset=far_offset)
            expected = await connection.fetch(ASYNCPG_AFTER, PAGE, last_before_far)
            assert [v.head_id for v in far] == [str(r["head_id"]) for r in expected]
            assert [v.head_id for v in offset_far] == [v.head_id for v in far]
            assert len(first) == PAGE

            async def asyncpg_first() -> None:
                await connection.fetch(ASYNCPG_FIRST, PAGE)

            async def asyncpg_far() -> None:
                await connection.fetch(ASYNCPG_AFTER, PAGE, last_before_far)

            operations: Dict[str, Tuple[str, Callable[[], Awaitable[None]]]] = {
                "keyset 1": ("evcs cursor, page 1",
                             blocking(lambda: repo.find(limit=PAGE))),
                "keyset far": (f"evcs cursor, page {FAR_PAGE:,}",
                               blocking(lambda: repo.find(limit=PAGE, after=far_cursor))),
                "offset 1": ("evcs offset, page 1",
                             blocking(lambda: repo.find(limit=PAGE, offset=0))),
                "offset far": (f"evcs offset, page {FAR_PAGE:,}",
                               blocking(lambda: repo.find(limit=PAGE, offset=far_offset))),
                "asyncpg 1": ("asyncpg keyset, page 1", asyncpg_first),
                "asyncpg far": (f"asyncpg keyset, page {FAR_PAGE:,}", asyncpg_far),
            }
            return await bench.measure_interleaved_async(operations)
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 s per measurement")
    parser.add_argument("--entities", type=int, default=20_000, help="entities to page through")
    parser.add_argument("--seconds", type=float, default=None, help="duration of each measurement")
    arguments = parser.parse_args()
    seconds = arguments.seconds or (6.0 if arguments.quick else 24.0)
    bench = Bench(os.environ["DATABASE_URL"], seconds)
    print(f"{arguments.entities:,} entities, pages of {PAGE}; pages per second "
          f"(measured interleaved, {seconds:g} s in all per read)")
    load(bench, arguments.entities)
    rates = asyncio.run(measure(bench))
    print(f"page {FAR_PAGE:,} / page 1 (time ratio; 1.0 = as fast)")
    ratios: List[Tuple[str, str, str]] = [("evcs cursor", "keyset 1", "keyset far"),
                                          ("evcs offset", "offset 1", "offset far"),
                                          ("asyncpg keyset", "asyncpg 1", "asyncpg far")]
    for label, first, far in ratios:
        print(f"  {label:<58} {rates[first] / rates[far]:>11.2f}x")


if __name__ == "__main__":
    main()
