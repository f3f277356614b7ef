"""Point SELECT by primary key: evcs vs asyncpg, psycopg and pgbench, in one run.

Run with bench/run point_select (it starts a throwaway server and builds evcs); or directly with
DATABASE_URL pointing at a database initialised by `pgbench -i -s 10`, and PYTHONPATH set to
the build's python directory.

Reports rows/s per client and the ratios the foundation issue sets as targets:
evcs >= 1.3x asyncpg, evcs >= 0.8x pgbench -M prepared (1 client), and 32 concurrent async
tasks through the pool >= 1.5x one task. On a 2-core machine PostgreSQL itself slows down with
32 busy backends (pgbench -c 32 is printed for reference), so the async figure is measured three
ways: 32 tasks sharing a pool of 4 connections through `engine.async_scalar` (one autocommit
round trip per query, compared with asyncpg's pool.fetchval), 32 tasks sharing it with a session
per query (BEGIN + query, then COMMIT), and 32 long sessions.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import time
from typing import Awaitable, Callable

import asyncpg  # type: ignore[import]
import psycopg

import evcs

CORES = os.cpu_count() or 2
QUERY = "SELECT abalance FROM pgbench_accounts WHERE aid = $1"
PSYCOPG_QUERY = "SELECT abalance FROM pgbench_accounts WHERE aid = %s"


def measure(label: str, seconds: float, run_batch: Callable[[int], int]) -> float:
    """Runs batches until `seconds` have passed; returns operations per second."""
    run_batch(200)
    operations = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        operations += run_batch(1000)
    rate = operations / (time.perf_counter() - started)
    print(f"  {label:<44} {rate:>10,.0f} rows/s", flush=True)
    return rate


async def measure_async(label: str, seconds: float, run_batch: Callable[[int], Awaitable[int]]) -> float:
    await run_batch(200)
    operations = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        operations += await run_batch(1000)
    rate = operations / (time.perf_counter() - started)
    print(f"  {label:<44} {rate:>10,.0f} rows/s", flush=True)
    return rate


def evcs_sync(url: str, seconds: float, accounts: int) -> float:
    engine = evcs.Engine(url, pool_size=1)
    with engine.session() as session:
        def batch(count: int) -> int:
            for _ in range(count):
                session.scalar(QUERY, (random.randint(1, accounts),))
            return count
        rate = measure("evcs (sync session)", seconds, batch)
    engine.close()
    return rate


def psycopg_sync(url: str, seconds: float, accounts: int) -> float:
    with psycopg.connect(url, prepare_threshold=0) as connection:
        def batch(count: int) -> int:
            for _ in range(count):
                connection.execute(PSYCOPG_QUERY, (random.randint(1, accounts),)).fetchone()
            return count
        return measure("psycopg 3 (prepared)", seconds, batch)


async def asyncpg_one(url: str, seconds: float, accounts: int) -> float:
    connection = await asyncpg.connect(url)
    async def batch(count: int) -> int:
        for _ in range(count):
            await connection.fetchrow(QUERY, random.randint(1, accounts))
        return count
    rate = await measure_async("asyncpg (1 connection)", seconds, batch)
    await connection.close()
    return rate


async def evcs_async(url: str, seconds: float, accounts: int, tasks: int) -> float:
    engine = evcs.Engine(url, pool_size=max(tasks, 1), max_overflow=0)
    sessions = [engine.async_session() for _ in range(tasks)]
    async def worker(session: evcs.AsyncSession, count: int) -> int:
        for _ in range(count):
            await session.scalar(QUERY, (random.randint(1, accounts),))
        return count
    async def batch(count: int) -> int:
        done = await asyncio.gather(*(worker(s, max(count // tasks, 1)) for s in sessions))
        return sum(done)
    rate = await measure_async(f"evcs async, {tasks} task(s)", seconds, batch)
    for session in sessions:
        await session.close()
    engine.close()
    return rate


async def evcs_async_pooled(url: str, seconds: float, accounts: int, tasks: int, pool_size: int) -> float:
    """Each operation is a whole unit of work: `async with engine.async_session()` around one
    query, so N tasks share the pool's connections (the usual way to serve many tasks)."""
    engine = evcs.Engine(url, pool_size=pool_size, max_overflow=0)

    async def worker(count: int) -> int:
        for _ in range(count):
            async with engine.async_session() as session:
                await session.scalar(QUERY, (random.randint(1, accounts),))
        return count

    async def batch(count: int) -> int:
        done = await asyncio.gather(*(worker(max(count // tasks, 1)) for _ in range(tasks)))
        return sum(done)

    label = f"evcs async, {tasks} task(s), session per query, pool {pool_size}"
    rate = await measure_async(label, seconds, batch)
    engine.close()
    return rate


async def evcs_engine_async(url: str, seconds: float, accounts: int, tasks: int, pool_size: int) -> float:
    """Each operation is `await engine.async_scalar(...)`: an autocommit statement on a pooled
    connection (asyncpg's pool.fetchval), so N tasks share the pool's connections."""
    engine = evcs.Engine(url, pool_size=pool_size, max_overflow=0)

    async def worker(count: int) -> int:
        for _ in range(count):
            await engine.async_scalar(QUERY, (random.randint(1, accounts),))
        return count

    async def batch(count: int) -> int:
        done = await asyncio.gather(*(worker(max(count // tasks, 1)) for _ in range(tasks)))
        return sum(done)

    rate = await measure_async(f"evcs engine.async_scalar, {tasks} task(s), pool {pool_size}",
                               seconds, batch)
    engine.close()
    return rate


async def asyncpg_pool(url: str, seconds: float, accounts: int, tasks: int, pool_size: int) -> float:
    pool = await asyncpg.create_pool(url, min_size=pool_size, max_size=pool_size)

    async def worker(count: int) -> int:
        for _ in range(count):
            await pool.fetchval(QUERY, random.randint(1, accounts))
        return count

    async def batch(count: int) -> int:
        done = await asyncio.gather(*(worker(max(count // tasks, 1)) for _ in range(tasks)))
        return sum(done)

    rate = await measure_async(f"asyncpg pool.fetchval, {tasks} task(s), pool {pool_size}",
                               seconds, batch)
    await pool.close()
    return rate


def pgbench(url: str, seconds: float, clients: int = 1) -> float:
    environment = dict(os.environ)
    match = re.search(r"host=([^&]+)", url)
    if match:
        environment["PGHOST"] = match.group(1)
    environment.setdefault("PGUSER", "postgres")
    dbname = url.split("?")[0].rsplit("/", 1)[-1] or "postgres"
    output = subprocess.run(
        ["/usr/lib/postgresql/15/bin/pgbench", "-S", "-M", "prepared", "-c", str(clients), "-T",
         str(int(max(seconds, 1))), dbname],
        env=environment, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"tps = ([0-9.]+)", output).group(1))  # type: ignore[union-attr]
    label = f"pgbench -S -M prepared, {clients} client(s)"
    print(f"  {label:<44} {rate:>10,.0f} rows/s", flush=True)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best of each is kept")
    parser.add_argument("--accounts", type=int, default=1_000_000, help="pgbench_accounts rows")
    arguments = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    best: dict[str, float] = {}
    for round_number in range(1, arguments.rounds + 1):
        print(f"round {round_number}/{arguments.rounds}")
        results = {
            "pgbench": pgbench(url, arguments.seconds),
            "evcs": evcs_sync(url, arguments.seconds, arguments.accounts),
            "asyncpg": asyncio.run(asyncpg_one(url, arguments.seconds, arguments.accounts)),
            "psycopg": psycopg_sync(url, arguments.seconds, arguments.accounts),
            "evcs_async_1": asyncio.run(evcs_async(url, arguments.seconds, arguments.accounts, 1)),
            "evcs_async_32": asyncio.run(evcs_async(url, arguments.seconds, arguments.accounts, 32)),
            "pgbench_32": pgbench(url, arguments.seconds, 32),
            "evcs_pooled_1": asyncio.run(
                evcs_async_pooled(url, arguments.seconds, arguments.accounts, 1, 4)),
            "evcs_pooled_32": asyncio.run(
                evcs_async_pooled(url, arguments.seconds, arguments.accounts, 32, 4)),
            "evcs_engine_1": asyncio.run(
                evcs_engine_async(url, arguments.seconds, arguments.accounts, 1, 4)),
            "evcs_engine_32": asyncio.run(
                evcs_engine_async(url, arguments.seconds, arguments.accounts, 32, 4)),
            "evcs_engine_1_cores": asyncio.run(
                evcs_engine_async(url, arguments.seconds, arguments.accounts, 1, CORES)),
            "evcs_engine_32_cores": asyncio.run(
                evcs_engine_async(url, arguments.seconds, arguments.accounts, 32, CORES)),
            "asyncpg_pool_1": asyncio.run(
                asyncpg_pool(url, arguments.seconds, arguments.accounts, 1, 4)),
            "asyncpg_pool_32": asyncio.run(
                asyncpg_pool(url, arguments.seconds, arguments.accounts, 32, 4)),
        }
        for name, rate in results.items():
            best[name] = max(best.get(name, 0.0), rate)
    print("\nbest of each (rows/s):")
    for name, rate in best.items():
        print(f"  {name:<16} {rate:>10,.0f}")
    print("\nratios (target):")
    print(f"  evcs / asyncpg              {best['evcs'] / best['asyncpg']:.2f}  (>= 1.3)")
    print(f"  evcs / pgbench              {best['evcs'] / best['pgbench']:.2f}  (>= 0.8)")
    print(f"  evcs / psycopg              {best['evcs'] / best['psycopg']:.2f}")
    print(f"  evcs async 32 / 1 task, pool of 4, session per query "
          f"{best['evcs_pooled_32'] / best['evcs_pooled_1']:.2f}  (>= 1.5)")
    print(f"  evcs async 32 / 1 task, pool of 4, engine.async_scalar "
          f"{best['evcs_engine_32'] / best['evcs_engine_1']:.2f}  (>= 1.5; asyncpg pool: "
          f"{best['asyncpg_pool_32'] / best['asyncpg_pool_1']:.2f})")
    print(f"  evcs async 32 / 1 task, pool of {CORES} (= cores), engine.async_scalar "
          f"{best['evcs_engine_32_cores'] / best['evcs_engine_1_cores']:.2f}  (>= 1.5)")
    print(f"  evcs engine.async_scalar / asyncpg pool.fetchval, 32 tasks "
          f"{best['evcs_engine_32'] / best['asyncpg_pool_32']:.2f}")
    print(f"  evcs async 32 / 1 task, 32 long sessions         "
          f"{best['evcs_async_32'] / best['evcs_async_1']:.2f}  "
          f"(server ceiling: pgbench 32 / 1 clients {best['pgbench_32'] / best['pgbench']:.2f})")
    print(f"  evcs async 1 / asyncpg      {best['evcs_async_1'] / best['asyncpg']:.2f}")


if __name__ == "__main__":
    main()
