"""Versioned entities: evcs vs hand-written asyncpg SQL, the SQLAlchemy async ORM and pgbench.

Run with bench/run versioned [--quick] (it builds evcs and starts a throwaway server); or
directly with DATABASE_URL pointing at an empty database and PYTHONPATH set to the build's
python directory.

Every peer does the same versioned operation on the same tables (the ones evcs creates for an
entity type, docs/versioning.md): the current read, the as-of read at 10 / 100 / 1,000 / 10,000 versions
per entity, the versioned update (close the open version, insert the next, stamp under the
evcs_clock lock, log the commit), the bulk create (against raw COPY into the same tables), the
as-of scan of every entity, and evcs's merge of a branch (against bulk-creating as many
entities). Histories are loaded with generate_series (version k of an entity is valid from
2020-01-01 + k seconds), so loading does not dominate the run.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime
import decimal
import gc
import hashlib
import os
import random
import re
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Tuple

import asyncpg  # type: ignore[import]
import sqlalchemy as sa  # type: ignore[import]
from sqlalchemy.dialects.postgresql import UUID  # type: ignore[import]
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine  # type: ignore[import]
from sqlalchemy.orm import declarative_base, sessionmaker  # type: ignore[import]

import evcs

COLUMNS = {"name": "text not null", "qty": "int", "price": "numeric(12,2)"}
DEPTHS = (10, 100, 1_000, 10_000)
HISTORY_START = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
AUTHOR = "bench"
# The updates of the unit-of-work measurement: that many entities, then one commit.
UNIT_OF_WORK = 20
# Entity n of a benchmark has a head_id computable in SQL too (pgbench has no uuid generator).
# Entity n's head id: random-looking like the ids evcs assigns, and computable in SQL too. (Ids
# differing only in their last bytes, such as 00000000-0000-4000-8000-<n>, degrade btree_gist's
# exclusion index: it places uuids by their leading bytes, so every write would pay for it.)
UUID_SQL = "md5('evcs-bench-' || {n})::uuid"
PGBENCH_UUID = UUID_SQL.format(n=":n")


def uid(n: int) -> str:
    return str(uuid.UUID(hashlib.md5(f"evcs-bench-{n}".encode()).hexdigest()))


def instant(version: int) -> datetime.datetime:
    """Half a second into version `version` of a loaded history."""
    return HISTORY_START + datetime.timedelta(seconds=version, microseconds=500_000)


CURRENT_SQL = ("SELECT * FROM item_version WHERE head_id = $1 AND branch = 'main' "
               "AND valid_to IS NULL")
AS_OF_SQL = ("SELECT * FROM item_version WHERE head_id = $1 AND branch = 'main' "
             "AND valid_from <= $2 ORDER BY valid_from DESC LIMIT 1")
# One statement, one implicit transaction: the stamp is taken under the clock row lock, which
# the UPDATE holds until the commit right after it (what evcs_finalize does).
UPDATE_SQL = """
WITH clock AS (
  UPDATE evcs_clock SET last_stamp = greatest(clock_timestamp(), last_stamp + interval '1 microsecond')
  WHERE id = 1 RETURNING last_stamp AS stamp),
closed AS (
  UPDATE item_version v SET valid_to = clock.stamp FROM clock
  WHERE v.head_id = $1 AND v.branch = 'main' AND v.valid_to IS NULL RETURNING v.*),
inserted AS (
  INSERT INTO item_version (head_id, branch, version, valid_from, author, name, qty, price)
  SELECT head_id, branch, version + 1, (SELECT stamp FROM clock), 'bench', name, $2, price
  FROM closed RETURNING *),
logged AS (
  INSERT INTO evcs_commit (stamp, branch, author, changes)
  SELECT stamp, 'main', 'bench', 1 FROM clock)
SELECT * FROM inserted"""
SCAN_SQL = ("SELECT * FROM (SELECT * FROM scan_item_version WHERE branch = 'main' AND "
            "tstzrange(valid_from, valid_to) @> $1::timestamptz) v WHERE NOT deleted "
            "ORDER BY head_id")
SCAN_CURRENT_SQL = ("SELECT * FROM (SELECT * FROM scan_item_version WHERE branch = 'main' AND "
                    "valid_to IS NULL) v WHERE NOT deleted ORDER BY head_id")


def pg_sql(sql: str, names: List[str]) -> str:
    """An asyncpg statement as a pgbench script statement ($1 -> :name)."""
    for index, name in enumerate(names, start=1):
        sql = sql.replace(f"${index}", f":{name}")
    return " ".join(sql.split()) + ";"


# ---- the SQLAlchemy mapping of the same tables ------------------------------------------------

Base = declarative_base()


def version_class(table: str) -> Any:
    return type(f"{table}_version", (Base,), {
        "__tablename__": f"{table}_version",
        "head_id": sa.Column(UUID(as_uuid=False), primary_key=True),
        "branch": sa.Column(sa.Text, primary_key=True),
        "valid_from": sa.Column(sa.TIMESTAMP(timezone=True), primary_key=True),
        "version": sa.Column(sa.Integer, nullable=False),
        "valid_to": sa.Column(sa.TIMESTAMP(timezone=True)),
        "deleted": sa.Column(sa.Boolean, nullable=False, default=False),
        "parent_branch": sa.Column(sa.Text),
        "parent_version": sa.Column(sa.Integer),
        "merged_from": sa.Column(sa.Text),
        "author": sa.Column(sa.Text),
        "name": sa.Column(sa.Text, nullable=False),
        "qty": sa.Column(sa.Integer),
        "price": sa.Column(sa.Numeric(12, 2)),
    })


def head_class(table: str) -> Any:
    return type(table, (Base,), {
        "__tablename__": table,
        "head_id": sa.Column(UUID(as_uuid=False), primary_key=True),
        "created_by": sa.Column(sa.Text),
    })


Item = version_class("item")
ScanItem = version_class("scan_item")
BulkHead = head_class("bulk_item")
BulkItem = version_class("bulk_item")


class Clock(Base):
    __tablename__ = "evcs_clock"
    id = sa.Column(sa.Integer, primary_key=True)
    last_stamp = sa.Column(sa.TIMESTAMP(timezone=True), nullable=False)


class CommitLog(Base):
    __tablename__ = "evcs_commit"
    id = sa.Column(sa.BigInteger, primary_key=True)
    stamp = sa.Column(sa.TIMESTAMP(timezone=True), nullable=False)
    branch = sa.Column(sa.Text, nullable=False)
    author = sa.Column(sa.Text)
    message = sa.Column(sa.Text)
    changes = sa.Column(sa.Integer, nullable=False)
    merged_from = sa.Column(sa.Text)


NEXT_STAMP = sa.func.greatest(sa.func.clock_timestamp(),
                              Clock.last_stamp + datetime.timedelta(microseconds=1))


# ---- measuring ---------------------------------------------------------------------------------

class Bench:
    def __init__(self, url: str, seconds: float) -> None:
        self.url = url
        self.seconds = seconds
        self.engine = evcs.Engine(url, pool_size=2)
        host = re.search(r"host=([^&]+)", url)
        self.pg_env = dict(os.environ, PGUSER="postgres")
        if host:
            self.pg_env["PGHOST"] = host.group(1)
        self.dbname = url.split("?")[0].rsplit("/", 1)[-1] or "postgres"
        self.sa_url = f"postgresql+asyncpg://postgres@/{self.dbname}?host={self.pg_env.get('PGHOST', '')}"

    def report(self, label: str, rate: float, unit: str = "ops/s") -> float:
        print(f"  {label:<58} {rate:>11,.1f} {unit}", flush=True)
        return rate

    def measure(self, label: str, operation: Callable[[], None]) -> float:
        operation()
        done = 0
        started = time.perf_counter()
        while time.perf_counter() - started < self.seconds:
            operation()
            done += 1
        return self.report(label, done / (time.perf_counter() - started))

    async def measure_async(self, label: str, operation: Callable[[], Awaitable[None]]) -> float:
        await operation()
        done = 0
        started = time.perf_counter()
        while time.perf_counter() - started < self.seconds:
            await operation()
            done += 1
        return self.report(label, done / (time.perf_counter() - started))

    def measure_interleaved(self, operations: Dict[str, Tuple[str, Callable[[], None]]]
                            ) -> Dict[str, float]:
        """measure_interleaved_async for blocking operations."""
        def awaitable(operation: Callable[[], None]) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                operation()
            return run
        return asyncio.run(self.measure_interleaved_async(
            {key: (label, awaitable(operation)) for key, (label, operation) in operations.items()}))

    async def measure_interleaved_async(
            self, operations: Dict[str, Tuple[str, Callable[[], Awaitable[None]]]],
            rounds: int = 48) -> Dict[str, float]:
        """Rates of several operations measured in turn, a slice each per round, so a change in
        the machine's load over the run weighs on all of them alike (the targets compare the
        ratios between them). Every other round runs them in reverse order, so none always
        follows the same other one, and each slice starts with the garbage of the slices before
        it collected."""
        done = {key: 0 for key in operations}
        spent = {key: 0.0 for key in operations}
        for _, operation in operations.values():
            await operation()
        order = list(operations.items())
        for round_number in range(rounds):
            for key, (_, operation) in (order if round_number % 2 == 0 else order[::-1]):
                gc.collect()
                count = 0
                started = time.perf_counter()
                while time.perf_counter() - started < self.seconds / rounds:
                    await operation()
                    count += 1
                spent[key] += time.perf_counter() - started
                done[key] += count
        return {key: self.report(label, done[key] / spent[key])
                for key, (label, _) in operations.items()}

    def pgbench(self, label: str, script: str) -> float:
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
            handle.write(script + "\n")
        try:
            output = subprocess.run(
                ["/usr/lib/postgresql/15/bin/pgbench", "-n", "-f", handle.name, "-M", "prepared",
                 "-c", "1", "-T", str(max(int(round(self.seconds)), 1)), self.dbname],
                env=self.pg_env, capture_output=True, text=True)
        finally:
            os.unlink(handle.name)
        tps = re.search(r"tps = ([0-9.]+)", output.stdout)
        if output.returncode != 0 or tps is None:
            raise RuntimeError(f"pgbench failed on\n{script}\n{output.stderr}")
        return self.report(label, float(tps.group(1)))

    def sql(self, *statements: str) -> None:
        with self.engine.session() as session:
            for statement in statements:
                session.execute(statement)
            session.commit()


# ---- the data ----------------------------------------------------------------------------------

class Layout:
    """Entity numbers of each group of `item` (and the sizes of the other types)."""

    def __init__(self, quick: bool) -> None:
        per_depth = {10: 1_000, 100: 100, 1_000: 10, 10_000: 2} if not quick else \
            {10: 200, 100: 20, 1_000: 2, 10_000: 1}
        self.groups: Dict[int, Tuple[int, int]] = {}
        first = 1
        for depth in DEPTHS:
            self.groups[depth] = (first, first + per_depth[depth] - 1)
            first += per_depth[depth]
        self.updates = (first, first + (1_000 if not quick else 200) - 1)
        self.bulk = 100_000 if not quick else 10_000
        self.scan = 10_000 if not quick else 2_000
        self.scan_depth = 10
        self.merge = 10_000 if not quick else 2_000


def load(bench: Bench, layout: Layout) -> None:
    started = time.perf_counter()
    with bench.engine.session() as session:
        for name in ("item", "scan_item", "bulk_item"):
            session.create_entity_type(name, COLUMNS)
        session.commit()
    history = (
        "INSERT INTO {table} (head_id, created_by) SELECT {head_id}, 'bench' FROM "
        "generate_series({lo}, {hi}) n\n"
        "INSERT INTO {table}_version (head_id, branch, version, valid_from, valid_to, author, "
        "name, qty, price) SELECT {head_id}, 'main', k, "
        "'{start}'::timestamptz + k * interval '1 second', CASE WHEN k < {depth} THEN "
        "'{start}'::timestamptz + (k + 1) * interval '1 second' END, 'bench', 'item ' || n, k, "
        "k * 1.5 FROM generate_series({lo}, {hi}) n, generate_series(1, {depth}) k")

    def write_history(table: str, lo: int, hi: int, depth: int) -> None:
        bench.sql(*history.format(table=table, head_id=UUID_SQL.format(n="n"), lo=lo, hi=hi,
                                  depth=depth, start=HISTORY_START.isoformat()).split("\n"))
    for depth, (lo, hi) in layout.groups.items():
        write_history("item", lo, hi, depth)
    write_history("item", *layout.updates, 1)
    write_history("scan_item", 1, layout.scan, layout.scan_depth)
    # The history is written with plain SQL, not by commits: advance the commit clock to its end,
    # as the commits that wrote it would have.
    bench.sql("UPDATE evcs_clock SET last_stamp = greatest(last_stamp, "
              "(SELECT max(valid_from) FROM item_version), "
              "(SELECT max(valid_from) FROM scan_item_version)) WHERE id = 1")
    bench.engine.execute("VACUUM ANALYZE")
    print(f"loaded in {time.perf_counter() - started:.1f} s")


def random_entity(group: Tuple[int, int]) -> int:
    return random.randint(group[0], group[1])


# ---- reads -------------------------------------------------------------------------------------

def reads(bench: Bench, layout: Layout) -> Dict[str, float]:
    """The current read and the as-of reads at each depth, each client's measured interleaved."""
    results: Dict[str, float] = {}
    current_group = layout.groups[10]
    with bench.engine.session() as session:
        repo = session.repository("item")
        evcs_reads: Dict[str, Tuple[str, Callable[[], None]]] = {
            "evcs current": ("current read: evcs (sync)",
                             lambda: repo.get(uid(random_entity(current_group))) and None)}
        for depth, group in layout.groups.items():
            def as_of_read(depth: int = depth, group: Tuple[int, int] = group) -> None:
                repo.get(uid(random_entity(group)), as_of=instant(random.randint(1, depth)))
            evcs_reads[f"evcs as-of {depth}"] = (f"as-of read, {depth:,} versions: evcs (sync)",
                                                 as_of_read)
        results.update(bench.measure_interleaved(evcs_reads))
        session.rollback()

    async def asyncpg_reads() -> None:
        connection = await asyncpg.connect(bench.url)

        async def current() -> None:
            await connection.fetchrow(CURRENT_SQL, uuid.UUID(uid(random_entity(current_group))))
        operations: Dict[str, Tuple[str, Callable[[], Awaitable[None]]]] = {
            "asyncpg current": ("current read: asyncpg", current)}
        for depth, group in layout.groups.items():
            async def as_of(depth: int = depth, group: Tuple[int, int] = group) -> None:
                await connection.fetchrow(AS_OF_SQL, uuid.UUID(uid(random_entity(group))),
                                          instant(random.randint(1, depth)))
            operations[f"asyncpg as-of {depth}"] = (f"as-of read, {depth:,} versions: asyncpg",
                                                    as_of)
        results.update(await bench.measure_interleaved_async(operations))
        await connection.close()

    async def orm_reads() -> None:
        engine = create_async_engine(bench.sa_url)
        async with AsyncSession(engine) as session:
            async def current() -> None:
                statement = sa.select(Item).where(Item.head_id == uid(random_entity(current_group)),
                                                  Item.branch == "main", Item.valid_to.is_(None))
                (await session.execute(statement)).scalar_one()
                session.expunge_all()
            operations: Dict[str, Tuple[str, Callable[[], Awaitable[None]]]] = {
                "orm current": ("current read: SQLAlchemy ORM", current)}
            for depth, group in layout.groups.items():
                async def as_of(depth: int = depth, group: Tuple[int, int] = group) -> None:
                    statement = sa.select(Item).where(
                        Item.head_id == uid(random_entity(group)), Item.branch == "main",
                        Item.valid_from <= instant(random.randint(1, depth))).order_by(
                        Item.valid_from.desc()).limit(1)
                    (await session.execute(statement)).scalar_one()
                    session.expunge_all()
                operations[f"orm as-of {depth}"] = (
                    f"as-of read, {depth:,} versions: SQLAlchemy ORM", as_of)
            results.update(await bench.measure_interleaved_async(operations))
        await engine.dispose()

    asyncio.run(asyncpg_reads())
    asyncio.run(orm_reads())
    lo, hi = current_group
    results["pgbench current"] = bench.pgbench(
        "current read: pgbench -M prepared",
        f"\\set n random({lo}, {hi})\n" + pg_sql(CURRENT_SQL.replace("$1", PGBENCH_UUID), []))
    for depth, (lo, hi) in layout.groups.items():
        results[f"pgbench as-of {depth}"] = bench.pgbench(
            f"as-of read, {depth:,} versions: pgbench -M prepared",
            f"\\set n random({lo}, {hi})\n\\set v random(1, {depth})\n" + pg_sql(
                AS_OF_SQL.replace("$1", PGBENCH_UUID).replace(
                    "$2", f"'{HISTORY_START.isoformat()}'::timestamptz + "
                          "(:v + 0.5) * interval '1 second'"), []))
    return results


# ---- versioned update --------------------------------------------------------------------------

def updates(bench: Bench, layout: Layout) -> Dict[str, float]:
    """Each client's versioned update of random entities of one group, measured interleaved (the
    version tables grow as they run, alike for all of them)."""
    group = layout.updates

    async def measure() -> Dict[str, float]:
        connection = await asyncpg.connect(bench.url)
        engine = create_async_engine(bench.sa_url)
        factory = sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        # Autocommit: the write is the transaction, as asyncpg's one statement is (one round
        # trip). A unit of work: the write, then commit() stamps it (two round trips, the row
        # rewritten).
        with bench.engine.session(author=AUTHOR, autocommit=True) as autocommit_session, \
                bench.engine.session(author=AUTHOR) as unit_session:
            autocommit_repo = autocommit_session.repository("item")
            unit_repo = unit_session.repository("item")
            unit_session.commit()

            async def evcs_autocommit() -> None:
                autocommit_repo.update(uid(random_entity(group)),
                                       {"qty": random.randint(1, 1_000_000)})

            async def evcs_unit_of_work() -> None:
                unit_repo.update(uid(random_entity(group)), {"qty": random.randint(1, 1_000_000)})
                unit_session.commit()

            async def evcs_unit_of_twenty() -> None:
                for entity in random.sample(range(group[0], group[1] + 1), UNIT_OF_WORK):
                    unit_repo.update(uid(entity), {"qty": random.randint(1, 1_000_000)})
                unit_session.commit()

            async def asyncpg_update() -> None:
                row = await connection.fetchrow(UPDATE_SQL, uuid.UUID(uid(random_entity(group))),
                                                random.randint(1, 1_000_000))
                assert row is not None

            async def asyncpg_twenty() -> None:
                async with connection.transaction():
                    for entity in random.sample(range(group[0], group[1] + 1), UNIT_OF_WORK):
                        row = await connection.fetchrow(UPDATE_SQL, uuid.UUID(uid(entity)),
                                                        random.randint(1, 1_000_000))
                        assert row is not None

            async def orm_update() -> None:
                async with factory() as session, session.begin():
                    current = (await session.execute(
                        sa.select(Item).where(Item.head_id == uid(random_entity(group)),
                                              Item.branch == "main", Item.valid_to.is_(None))
                        .with_for_update())).scalar_one()
                    clock, stamp = (await session.execute(
                        sa.select(Clock, NEXT_STAMP).where(Clock.id == 1).with_for_update())).one()
                    current.valid_to = stamp
                    session.add(Item(head_id=current.head_id, branch="main",
                                     version=current.version + 1, valid_from=stamp, author=AUTHOR,
                                     name=current.name, qty=random.randint(1, 1_000_000),
                                     price=current.price))
                    clock.last_stamp = stamp
                    session.add(CommitLog(stamp=stamp, branch="main", author=AUTHOR, changes=1))

            results = await bench.measure_interleaved_async({
                "evcs update": ("versioned update, autocommit: evcs (sync)", evcs_autocommit),
                "evcs update + commit": ("versioned update + commit(): evcs (sync)",
                                         evcs_unit_of_work),
                "evcs unit of work": (f"{UNIT_OF_WORK} updates + commit(): evcs (sync)",
                                      evcs_unit_of_twenty),
                "asyncpg update": ("versioned update + commit: asyncpg, one CTE", asyncpg_update),
                "asyncpg unit of work": (f"{UNIT_OF_WORK} CTEs in one transaction: asyncpg",
                                         asyncpg_twenty),
                "orm update": ("versioned update + commit: SQLAlchemy ORM", orm_update)})
        await connection.close()
        await engine.dispose()
        return results

    results = asyncio.run(measure())
    lo, hi = group
    results["pgbench update"] = bench.pgbench(
        "versioned update + commit: pgbench -M prepared, one CTE",
        f"\\set n random({lo}, {hi})\n\\set q random(1, 1000000)\n" +
        pg_sql(UPDATE_SQL.replace("$1", PGBENCH_UUID), ["unused", "q"]))
    return results


# ---- bulk update ---------------------------------------------------------------------------------

def bulk_updates(bench: Bench, layout: Layout, rounds: int) -> Dict[str, float]:
    """Seconds per versioned update of layout.merge entities at once (best of the rounds): evcs
    update_many against what a user writes by hand with asyncpg in one transaction (the stamp
    under the clock lock, one UPDATE closing the current versions, COPY of the new ones, the
    commit log row), each round on entities bulk-created into a type of their own."""
    count = layout.merge
    best: Dict[str, float] = {}

    def keep(name: str, label: str, seconds: float) -> None:
        bench.report(label, count / seconds, "entities/s")
        best[name] = min(best.get(name, float("inf")), seconds)

    def fresh(entity_type: str) -> List[str]:
        with bench.engine.session(author=AUTHOR) as session:
            session.create_entity_type(entity_type, COLUMNS)
            session.commit()
            return session.repository(entity_type).create_many(bulk_rows(count, 1)).head_ids

    def evcs_update(entity_type: str, head_ids: List[str], quantity: int) -> None:
        with bench.engine.session(author=AUTHOR) as session:
            repo = session.repository(entity_type)
            started = time.perf_counter()
            repo.update_many([(head_id, {"qty": quantity}) for head_id in head_ids], "bulk")
            keep("evcs", f"update of {count:,}: evcs update_many (sync)",
                 time.perf_counter() - started)

    async def raw_update(entity_type: str, head_ids: List[str], quantity: int) -> None:
        connection = await asyncpg.connect(bench.url)
        ids = [uuid.UUID(head_id) for head_id in head_ids]
        started = time.perf_counter()
        async with connection.transaction():
            stamp = await connection.fetchval(
                "SELECT greatest(clock_timestamp(), last_stamp + interval '1 microsecond') "
                "FROM evcs_clock WHERE id = 1 FOR UPDATE")
            current = await connection.fetch(
                f"UPDATE {entity_type}_version SET valid_to = $1 WHERE head_id = ANY($2::uuid[]) "
                "AND branch = 'main' AND valid_to IS NULL RETURNING head_id, version, name, price",
                stamp, ids)
            await connection.copy_records_to_table(
                f"{entity_type}_version",
                records=[(row["head_id"], "main", row["version"] + 1, stamp, AUTHOR, row["name"],
                          quantity, row["price"]) for row in current],
                columns=["head_id", "branch", "version", "valid_from", "author", "name", "qty",
                         "price"])
            await connection.execute(
                "WITH clock AS (UPDATE evcs_clock SET last_stamp = $1 WHERE id = 1) "
                "INSERT INTO evcs_commit (stamp, branch, author, message, changes) "
                "VALUES ($1, 'main', 'bench', 'bulk', $2)", stamp, len(current))
        keep("raw", f"update of {count:,}: asyncpg UPDATE + COPY by hand",
             time.perf_counter() - started)
        await connection.close()

    for round_number in range(1, rounds + 1):
        for quantity, first in enumerate(("evcs", "raw") if round_number % 2 else ("raw", "evcs")):
            for side in (first, "raw" if first == "evcs" else "evcs"):
                entity_type = f"updated_{side}_{round_number}_{quantity}"
                head_ids = fresh(entity_type)
                if side == "evcs":
                    evcs_update(entity_type, head_ids, -quantity - 1)
                else:
                    asyncio.run(raw_update(entity_type, head_ids, -quantity - 1))
    return best


def report_bulk_updates(updated: Dict[str, float], layout: Layout) -> None:
    ratio = updated["raw"] / updated["evcs"]
    print(f"  update_many / raw UPDATE + COPY (rate)           {ratio:5.2f}  "
          f"(>= 0.7: {verdict(ratio >= 0.7)})")


# ---- concurrent writers ---------------------------------------------------------------------------

WRITERS = 4


def concurrent_writers(bench: Bench, layout: Layout) -> Dict[str, float]:
    """Versioned updates per second of WRITERS writers at once on distinct entities (each its
    own slice of the update group), each committing every update: evcs autocommit sessions on
    threads against asyncpg with one connection per writer, the two measured in turn."""
    lo, hi = layout.updates
    slices = [(lo + index * (hi - lo + 1) // WRITERS, lo + (index + 1) * (hi - lo + 1) // WRITERS - 1)
              for index in range(WRITERS)]
    engine = evcs.Engine(bench.url, pool_size=WRITERS)
    results: Dict[str, float] = {}

    def evcs_round(seconds: float) -> int:
        done = [0] * WRITERS

        def writer(index: int) -> None:
            with engine.session(author=AUTHOR, autocommit=True) as session:
                repo = session.repository("item")
                deadline = time.perf_counter() + seconds
                while time.perf_counter() < deadline:
                    repo.update(uid(random_entity(slices[index])), {"qty": random.randint(1, 10**6)})
                    done[index] += 1

        threads = [threading.Thread(target=writer, args=(index,)) for index in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(done)

    async def asyncpg_round(seconds: float) -> int:
        connections = [await asyncpg.connect(bench.url) for _ in range(WRITERS)]
        done = [0] * WRITERS

        async def writer(index: int) -> None:
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                await connections[index].fetchrow(
                    UPDATE_SQL, uuid.UUID(uid(random_entity(slices[index]))),
                    random.randint(1, 10**6))
                done[index] += 1

        await asyncio.gather(*(writer(index) for index in range(WRITERS)))
        for connection in connections:
            await connection.close()
        return sum(done)

    rounds = 6
    totals = {"evcs": 0, "asyncpg": 0}
    for round_number in range(rounds):
        slice_seconds = bench.seconds / rounds * 2
        for side in (("evcs", "asyncpg") if round_number % 2 == 0 else ("asyncpg", "evcs")):
            if side == "evcs":
                totals["evcs"] += evcs_round(slice_seconds)
            else:
                totals["asyncpg"] += asyncio.run(asyncpg_round(slice_seconds))
    engine.close()
    seconds = bench.seconds * 2
    results["evcs"] = bench.report(f"{WRITERS} writers, autocommit updates: evcs (threads)",
                                   totals["evcs"] / seconds)
    results["asyncpg"] = bench.report(f"{WRITERS} writers, the versioned CTE: asyncpg "
                                      f"({WRITERS} connections)", totals["asyncpg"] / seconds)
    return results


def report_writers(writers: Dict[str, float], layout: Layout) -> None:
    ratio = writers["evcs"] / writers["asyncpg"]
    print(f"  {WRITERS} concurrent writers: evcs / asyncpg (rate)      {ratio:5.2f}  "
          f"(>= 1.0: {verdict(ratio >= 1.0)})")


# ---- history -----------------------------------------------------------------------------------

HISTORY_SQL = "SELECT * FROM item_version WHERE head_id = $1 AND branch = 'main' ORDER BY valid_from"


def histories(bench: Bench, layout: Layout) -> Dict[str, float]:
    """The history of one entity with 1,000 versions: evcs's (Versions with typed values and each
    version's changed fields) against asyncpg's fetch of the same versions, interleaved."""
    group = layout.groups[1_000]

    async def measure() -> Dict[str, float]:
        connection = await asyncpg.connect(bench.url)
        with bench.engine.session() as session:
            repo = session.repository("item")

            async def evcs_history() -> None:
                assert len(repo.history(uid(random_entity(group)))) == 1_000
                session.rollback()

            async def asyncpg_history() -> None:
                rows = await connection.fetch(HISTORY_SQL, uuid.UUID(uid(random_entity(group))))
                assert len(rows) == 1_000

            results = await bench.measure_interleaved_async({
                "evcs": ("history of 1,000 versions: evcs (sync)", evcs_history),
                "asyncpg": ("history of 1,000 versions: asyncpg fetch", asyncpg_history)})
        await connection.close()
        return results

    return asyncio.run(measure())


# ---- bulk create -------------------------------------------------------------------------------

def bulk_rows(count: int, first: int) -> List[Dict[str, Any]]:
    return [{"head_id": uid(n), "name": f"bulk {n}", "qty": n, "price": "1.50"}
            for n in range(first, first + count)]


def bulk(bench: Bench, layout: Layout, rounds: int) -> Dict[str, float]:
    """Seconds per bulk create of layout.bulk entities (best of the rounds), each into empty
    tables."""
    count = layout.bulk
    best: Dict[str, float] = {}

    def keep(name: str, label: str, seconds: float) -> None:
        bench.report(label, count / seconds, "entities/s")
        best[name] = min(best.get(name, float("inf")), seconds)

    def empty() -> None:
        bench.sql("TRUNCATE bulk_item CASCADE")

    def check(what: str) -> None:
        with bench.engine.session() as session:
            rows = session.scalar("SELECT count(*) FROM bulk_item_version")
            session.rollback()
        assert rows == count, f"{what} wrote {rows} versions, not {count}"

    for _ in range(rounds):
        empty()
        rows = bulk_rows(count, 1)
        with bench.engine.session(author=AUTHOR) as session:
            repo = session.repository("bulk_item")
            session.commit()
            started = time.perf_counter()
            repo.create_many(rows, "bulk")
            keep("evcs", f"bulk create {count:,}: evcs create_many (sync)",
                 time.perf_counter() - started)
        check("evcs")
        empty()

        async def raw_copy() -> float:
            connection = await asyncpg.connect(bench.url)
            heads = [(uuid.UUID(uid(n)), AUTHOR) for n in range(1, count + 1)]
            started = time.perf_counter()
            async with connection.transaction():
                stamp = await connection.fetchval(
                    "SELECT greatest(clock_timestamp(), last_stamp + interval '1 microsecond') "
                    "FROM evcs_clock WHERE id = 1 FOR UPDATE")
                await connection.copy_records_to_table(
                    "bulk_item", records=heads, columns=["head_id", "created_by"])
                versions = [(uuid.UUID(uid(n)), "main", 1, stamp, AUTHOR, f"bulk {n}", n,
                             decimal.Decimal("1.50")) for n in range(1, count + 1)]
                await connection.copy_records_to_table(
                    "bulk_item_version", records=versions,
                    columns=["head_id", "branch", "version", "valid_from", "author", "name",
                             "qty", "price"])
                await connection.execute(
                    "WITH clock AS (UPDATE evcs_clock SET last_stamp = $1 WHERE id = 1) "
                    "INSERT INTO evcs_commit (stamp, branch, author, message, changes) "
                    "VALUES ($1, 'main', 'bench', 'bulk', $2)", stamp, count)
            seconds = time.perf_counter() - started
            await connection.close()
            return seconds
        keep("copy", f"bulk create {count:,}: raw COPY, asyncpg copy_records_to_table",
             asyncio.run(raw_copy()))
        check("raw COPY")
        empty()

        async def orm_bulk() -> float:
            engine = create_async_engine(bench.sa_url)
            started = time.perf_counter()
            async with AsyncSession(engine) as session, session.begin():
                stamp = (await session.execute(
                    sa.select(NEXT_STAMP).where(Clock.id == 1).with_for_update())).scalar_one()
                await session.run_sync(lambda sync: sync.bulk_insert_mappings(
                    BulkHead, [{"head_id": uid(n), "created_by": AUTHOR}
                               for n in range(1, count + 1)]))
                await session.run_sync(lambda sync: sync.bulk_insert_mappings(
                    BulkItem, [{"head_id": uid(n), "branch": "main", "version": 1,
                                "valid_from": stamp, "author": AUTHOR, "name": f"bulk {n}",
                                "qty": n, "price": decimal.Decimal("1.50")}
                               for n in range(1, count + 1)]))
                await session.execute(sa.update(Clock).where(Clock.id == 1).values(last_stamp=stamp))
                session.add(CommitLog(stamp=stamp, branch="main", author=AUTHOR, message="bulk",
                                      changes=count))
            seconds = time.perf_counter() - started
            await engine.dispose()
            return seconds
        keep("orm", f"bulk create {count:,}: SQLAlchemy ORM bulk_insert_mappings",
             asyncio.run(orm_bulk()))
        check("the ORM")
    empty()
    return best


# ---- as-of scan --------------------------------------------------------------------------------

def scans(bench: Bench, layout: Layout) -> Dict[str, float]:
    results: Dict[str, float] = {}
    count = layout.scan
    past = instant(layout.scan_depth // 2)
    with bench.engine.session() as session:
        repo = session.repository("scan_item")

        def scan(as_of: Any) -> None:
            found = repo.find(as_of=as_of)
            assert len(found) == count, len(found)
        results["evcs current"] = bench.measure(f"scan of {count:,} entities, current: evcs",
                                                lambda: scan(None))
        results["evcs as-of"] = bench.measure(f"scan of {count:,} entities, as of: evcs",
                                              lambda: scan(past))
        results["evcs count as-of"] = bench.measure(
            f"count of {count:,} entities, as of (no transfer): evcs",
            lambda: repo.count(as_of=past) and None)
        session.rollback()

    async def asyncpg_scans() -> None:
        connection = await asyncpg.connect(bench.url)

        async def current() -> None:
            await connection.fetch(SCAN_CURRENT_SQL)

        async def as_of() -> None:
            await connection.fetch(SCAN_SQL, past)
        results["asyncpg current"] = await bench.measure_async(
            f"scan of {count:,} entities, current: asyncpg", current)
        results["asyncpg as-of"] = await bench.measure_async(
            f"scan of {count:,} entities, as of: asyncpg", as_of)
        await connection.close()

    async def orm_scans() -> None:
        engine = create_async_engine(bench.sa_url)
        async with AsyncSession(engine) as session:
            async def as_of() -> None:
                statement = sa.select(ScanItem).where(
                    ScanItem.branch == "main",
                    sa.func.tstzrange(ScanItem.valid_from, ScanItem.valid_to).op("@>")(past),
                    ScanItem.deleted.is_(False)).order_by(ScanItem.head_id)
                found = (await session.execute(statement)).scalars().all()
                assert len(found) == count
                session.expunge_all()
            results["orm as-of"] = await bench.measure_async(
                f"scan of {count:,} entities, as of: SQLAlchemy ORM", as_of)
        await engine.dispose()

    asyncio.run(asyncpg_scans())
    asyncio.run(orm_scans())
    results["pgbench as-of"] = bench.pgbench(
        f"scan of {count:,} entities, as of: pgbench -M prepared",
        pg_sql(SCAN_SQL.replace("$1", f"'{past.isoformat()}'"), []))
    return results


# ---- merge -------------------------------------------------------------------------------------

def merge(bench: Bench, layout: Layout, rounds: int) -> Dict[str, float]:
    """The merge and the staged merge against the bulk create of the same entities, each round
    into an entity type of its own (fresh tables, fresh branches); a round's ratios compare
    timings taken minutes apart at most, and the summary reports the median round."""
    figures: Dict[str, float] = {}
    for round_number in range(1, rounds + 1):
        measured = merge_round(bench, layout, f"merge_item_{round_number}")
        for name, seconds in measured.items():
            figures[f"{name} {round_number}"] = seconds
        figures[f"merge ratio {round_number}"] = measured["merge"] / measured["create"]
        figures[f"staged ratio {round_number}"] = measured["staged"] / measured["create"]
    return figures


def merge_round(bench: Bench, layout: Layout, entity_type: str) -> Dict[str, float]:
    count = layout.merge
    with bench.engine.session(author=AUTHOR) as session:
        session.create_entity_type(entity_type, COLUMNS)
        repo = session.repository(entity_type)
        session.commit()
        rows = bulk_rows(count, 1)
        started = time.perf_counter()
        created = repo.create_many(rows, "base")
        create_seconds = time.perf_counter() - started
        bench.report(f"bulk create {count:,}: evcs create_many", count / create_seconds,
                     "entities/s")
        session.create_branch(f"{entity_type}_feature")
        session.commit()
    with bench.engine.session(f"{entity_type}_feature", AUTHOR) as branch_session:
        branch_repo = branch_session.repository(entity_type)
        for head_id in created.head_ids:
            branch_repo.update(head_id, {"qty": -1})
        branch_session.commit("change every entity on the branch")
    with bench.engine.session(author=AUTHOR) as session:
        started = time.perf_counter()
        result = session.merge(f"{entity_type}_feature")
        merge_seconds = time.perf_counter() - started
        bench.report(f"merge of a branch with {count:,} changed entities: evcs",
                     count / merge_seconds, "entities/s")
        changed = session.scalar(f"SELECT count(*) FROM {entity_type}_version "
                                 "WHERE branch = 'main' AND valid_to IS NULL AND qty = -1")
        session.rollback()
    assert changed == count, f"the merge brought {changed} changes, not {count}: {result!r}"
    staged_seconds = staged_merge(bench, entity_type, created.head_ids)
    return {"create": create_seconds, "merge": merge_seconds, "staged": staged_seconds}


def staged_merge(bench: Bench, entity_type: str, head_ids: List[str]) -> float:
    """A staged merge of every entity changed on a branch, one in ten also changed on main:
    start, one resolution per conflict, continue."""
    conflicting = head_ids[::10]
    branch = f"{entity_type}_staged"
    with bench.engine.session(author=AUTHOR) as session:
        session.create_branch(branch)
        session.commit()
    with bench.engine.session(branch, AUTHOR) as branch_session:
        branch_repo = branch_session.repository(entity_type)
        for head_id in head_ids:
            branch_repo.update(head_id, {"qty": -2})
        branch_session.commit("change every entity again")
    with bench.engine.session(author=AUTHOR) as session:
        repo = session.repository(entity_type)
        for head_id in conflicting:
            repo.update(head_id, {"qty": -3})
        session.commit("change one in ten on main")
        resolutions = [evcs.Resolution(entity_type, head_id, "qty", "ours")
                       for head_id in conflicting]
        started = time.perf_counter()
        staged = session.merge_start(branch)
        session.merge_resolve(resolutions)
        result = session.merge_continue()
        seconds = time.perf_counter() - started
    assert staged.unresolved == len(conflicting) and result.commit is not None, result
    assert len(result.changes) == len(head_ids) - len(conflicting), len(result.changes)
    bench.report(f"staged merge of {len(head_ids):,} entities with {len(conflicting):,} "
                 f"resolutions: evcs", len(head_ids) / seconds, "entities/s")
    return seconds


# ---- summary -----------------------------------------------------------------------------------

def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def report_reads(read: Dict[str, float], layout: Layout) -> None:
    current = read["evcs current"]
    worst = min(read[f"evcs as-of {depth}"] for depth in DEPTHS)
    print(f"  as-of read / current read, slowest depth (time)  {current / worst:5.2f}  "
          f"(<= 1.3: {verdict(current / worst <= 1.3)})")
    for depth in DEPTHS:
        print(f"    {depth:>6,} versions: {current / read[f'evcs as-of {depth}']:5.2f}"
              f"   asyncpg {read['asyncpg current'] / read[f'asyncpg as-of {depth}']:5.2f}"
              f"   pgbench {read['pgbench current'] / read[f'pgbench as-of {depth}']:5.2f}")
    growth = read["evcs as-of 10"] / read["evcs as-of 10000"]
    print(f"  as-of read growth, 10 -> 10,000 versions (time)  {growth:5.2f}  "
          f"(<= 1.3: {verdict(growth <= 1.3)})")


def report_update(update: Dict[str, float], layout: Layout) -> None:
    versus_orm = update["evcs update"] / update["orm update"]
    versus_asyncpg = update["evcs update"] / update["asyncpg update"]
    print(f"  versioned update: evcs / SQLAlchemy ORM          {versus_orm:5.2f}  "
          f"(>= 3: {verdict(versus_orm >= 3)})")
    print(f"  versioned update: evcs / asyncpg                 {versus_asyncpg:5.2f}  "
          f"(>= 0.9: {verdict(versus_asyncpg >= 0.9)})")
    print(f"  versioned update: evcs / pgbench                 "
          f"{update['evcs update'] / update['pgbench update']:5.2f}")
    unit = update["evcs unit of work"] / update["asyncpg unit of work"]
    print(f"  {f'{UNIT_OF_WORK} updates + commit(): evcs / asyncpg':<49}{unit:5.2f}  "
          f"(>= 0.9: {verdict(unit >= 0.9)})")
    print(f"  versioned update + commit(): evcs / asyncpg      "
          f"{update['evcs update + commit'] / update['asyncpg update']:5.2f}   / ORM "
          f"{update['evcs update + commit'] / update['orm update']:5.2f}")


def report_history(history: Dict[str, float], layout: Layout) -> None:
    ratio = history["evcs"] / history["asyncpg"]
    print(f"  history of 1,000 versions: evcs / asyncpg (rate) {ratio:5.2f}  "
          f"(>= 1.0: {verdict(ratio >= 1.0)})")


def report_bulk(created: Dict[str, float], layout: Layout) -> None:
    versus_copy = created["copy"] / created["evcs"]
    print(f"  bulk create: evcs / raw COPY (rate)              {versus_copy:5.2f}  "
          f"(>= 0.7: {verdict(versus_copy >= 0.7)})")
    print(f"  bulk create: evcs / SQLAlchemy ORM (rate)        "
          f"{created['orm'] / created['evcs']:5.2f}")


def report_scan(scan: Dict[str, float], layout: Layout) -> None:
    print(f"  as-of scan / current scan (time): evcs           "
          f"{scan['evcs current'] / scan['evcs as-of']:5.2f}   asyncpg "
          f"{scan['asyncpg current'] / scan['asyncpg as-of']:5.2f}")
    print(f"  as-of scan: evcs / asyncpg / ORM / pgbench (scans/s)  {scan['evcs as-of']:.1f} / "
          f"{scan['asyncpg as-of']:.1f} / {scan['orm as-of']:.1f} / {scan['pgbench as-of']:.1f}")


def report_merge(merged: Dict[str, float], layout: Layout) -> None:
    for name, label in (("merge", f"merge of {layout.merge:,} / bulk create of {layout.merge:,}"),
                        ("staged", f"staged merge, {layout.merge // 10:,} resolutions / bulk create")):
        ratios = [seconds for key, seconds in merged.items() if key.startswith(f"{name} ratio ")]
        middle = statistics.median(ratios)
        print(f"  {label + ' (time), median':<49}{middle:5.2f}  (<= 3: {verdict(middle <= 3)})"
              f"   rounds: {' '.join(f'{ratio:.2f}' for ratio in ratios)}")


Step = Tuple[str, Callable[[Bench, Layout, int], Dict[str, float]],
             Callable[[Dict[str, float], Layout], None]]
# Each step: its heading, what it measures (bench, layout, rounds of the bulk create and the
# merge), and its ratios.
STEPS: Dict[str, Step] = {
    "reads": ("reads", lambda bench, layout, rounds: reads(bench, layout), report_reads),
    "update": ("versioned update", lambda bench, layout, rounds: updates(bench, layout),
               report_update),
    "writers": ("concurrent writers",
                lambda bench, layout, rounds: concurrent_writers(bench, layout), report_writers),
    "history": ("history", lambda bench, layout, rounds: histories(bench, layout),
                report_history),
    "bulk": ("bulk create", bulk, report_bulk),
    "update_many": ("bulk update", bulk_updates, report_bulk_updates),
    "scan": ("as-of scan", lambda bench, layout, rounds: scans(bench, layout), report_scan),
    "merge": ("merge", merge, report_merge),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller data and 1 s per measurement (about 2 minutes)")
    parser.add_argument("--seconds", type=float, default=None, help="duration of each measurement")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of the bulk create and of the merge")
    parser.add_argument("--steps", nargs="+", choices=list(STEPS), default=list(STEPS),
                        help="the steps to run (default: all), e.g. --steps merge")
    arguments = parser.parse_args()
    seconds = arguments.seconds or (1.0 if arguments.quick else 3.0)
    rounds = arguments.rounds or (1 if arguments.quick else 3)
    layout = Layout(arguments.quick)
    bench = Bench(os.environ["DATABASE_URL"], seconds)
    load(bench, layout)
    results: Dict[str, Dict[str, float]] = {}
    for name, (heading, measure, _) in STEPS.items():
        if name in arguments.steps:
            print(heading)
            results[name] = measure(bench, layout, rounds)
    bench.engine.close()

    print("\nratios and targets:")
    for name, figures in results.items():
        STEPS[name][2](figures, layout)

if __name__ == "__main__":
    main()
