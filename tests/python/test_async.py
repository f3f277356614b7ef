"""Async sessions: awaitable operations completed on the engine's I/O thread, parallel tasks,
an event loop that never blocks, and misuse detection."""

from __future__ import annotations

import asyncio
from typing import List

import pytest

import evcs


def run(coroutine: "asyncio.Future[object] | object") -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def test_async_with_commits_and_results_convert(engine: evcs.Engine) -> None:
    async def scenario() -> object:
        async with engine.async_session(author="async-ada") as s:
            assert (s.branch, s.author, s.in_transaction) == ("main", "async-ada", False)
            await s.execute("CREATE TABLE async_items (id int PRIMARY KEY, note text)")
            result = await s.execute("INSERT INTO async_items VALUES ($1, $2), ($3, $4)", (1, "a", 2, "b"))
            assert result.rowcount == 2
            assert s.in_transaction
        async with engine.async_session() as s:
            rows = await s.execute("SELECT id, note FROM async_items ORDER BY id")
            return [tuple(row) for row in rows]

    assert run(scenario()) == [(1, "a"), (2, "b")]


def test_async_with_rolls_back_on_exception(engine: evcs.Engine) -> None:
    async def scenario() -> object:
        async with engine.async_session() as s:
            await s.execute("CREATE TABLE async_rollback (id int)")
        with pytest.raises(LookupError):
            async with engine.async_session() as s:
                await s.execute("INSERT INTO async_rollback VALUES (1)")
                raise LookupError
        async with engine.async_session() as s:
            return await s.scalar("SELECT count(*) FROM async_rollback")

    assert run(scenario()) == 0


def test_async_commit_rollback_and_nested_transactions(engine: evcs.Engine) -> None:
    async def scenario() -> object:
        s = engine.async_session()
        await s.execute("CREATE TABLE async_nested (id int)")
        await s.commit(message="schema")
        await s.execute("INSERT INTO async_nested VALUES (0)")
        await s.rollback()
        async with s.begin():
            await s.execute("INSERT INTO async_nested VALUES (1)")
            with pytest.raises(ValueError):
                async with s.begin_nested():
                    await s.execute("INSERT INTO async_nested VALUES (2)")
                    raise ValueError
            async with s.begin_nested():
                await s.execute("INSERT INTO async_nested VALUES (3)")
        values = [row.id for row in await s.execute("SELECT id FROM async_nested ORDER BY id")]
        await s.close()
        return values

    assert run(scenario()) == [1, 3]


def test_async_errors_have_their_classes(engine: evcs.Engine) -> None:
    async def scenario() -> None:
        async with engine.async_session() as s:
            with pytest.raises(evcs.InvalidArgument) as raised:
                await s.execute("SELECT 1 / 0")
            assert raised.value.sqlstate == "22012"
            await s.rollback()
            with pytest.raises(TypeError, match=r"parameter \$1: cannot send a value of type set"):
                await s.execute("SELECT $1", ({1},))
            assert await s.scalar("SELECT 'fine'") == "fine"

    run(scenario())


def test_thirty_two_tasks_with_own_sessions_run_on_several_backends(database_url: str) -> None:
    async def task(engine: evcs.Engine, number: int) -> int:
        async with engine.async_session() as s:
            await s.execute("SELECT pg_sleep(0.05)")
            assert await s.scalar("SELECT $1::int * 2", (number,)) == number * 2
            return s.backend_pid

    async def scenario() -> List[int]:
        with evcs.Engine(database_url, pool_size=8, max_overflow=4) as engine:
            pids = await asyncio.gather(*(task(engine, n) for n in range(32)))
            assert engine.pool_status().checked_out == 0
            return pids

    pids = run(scenario())
    assert isinstance(pids, list) and len(pids) == 32
    assert len(set(pids)) > 1
    assert len(set(pids)) <= 12


async def wait_until_blocked_on_lock(observer: evcs.AsyncSession, pid: int) -> None:
    """Polls (asynchronously) until backend `pid` waits for a lock on the server."""
    while not await observer.scalar(
        "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", (pid,)
    ):
        await observer.rollback()
        await asyncio.sleep(0.01)
    await observer.rollback()


def test_event_loop_keeps_running_while_a_query_waits_on_the_server(engine: evcs.Engine) -> None:
    async def scenario() -> List[str]:
        order: List[str] = []
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        holder, waiter, observer = (engine.async_session() for _ in range(3))
        await holder.execute("SELECT pg_advisory_lock(4242)")
        await waiter.execute("SET lock_timeout = '20s'")  # a blocked loop fails instead of hanging
        waiter_pid = waiter.backend_pid
        ticking = asyncio.create_task(ticker())
        waiting = asyncio.ensure_future(waiter.execute("SELECT pg_advisory_lock(4242)"))
        # Only a running loop gets here while the waiter's statement is blocked on the server.
        await wait_until_blocked_on_lock(observer, waiter_pid)
        ticks_while_blocked = ticks
        order.append("loop ran while the statement was blocked")
        await holder.execute("SELECT pg_advisory_unlock(4242)")
        await waiting
        order.append("blocked statement finished")
        ticking.cancel()
        for s in (holder, waiter, observer):
            await s.close()
        assert ticks_while_blocked > 0
        return order

    assert run(scenario()) == ["loop ran while the statement was blocked", "blocked statement finished"]


def test_two_concurrent_awaits_on_one_async_session_are_misuse(engine: evcs.Engine) -> None:
    async def scenario() -> None:
        holder, observer = engine.async_session(), engine.async_session()
        await holder.execute("SELECT pg_advisory_lock(4343)")
        async with engine.async_session() as s:
            await s.execute("SELECT 1")
            pending = asyncio.ensure_future(s.execute("SELECT pg_advisory_lock(4343)"))
            await wait_until_blocked_on_lock(observer, s.backend_pid)
            with pytest.raises(evcs.MisuseError, match="another operation is in progress"):
                await s.execute("SELECT 1")
            await holder.execute("SELECT pg_advisory_unlock(4343)")
            await pending
            assert await s.scalar("SELECT 3") == 3
        await holder.close()
        await observer.close()

    run(scenario())


def test_engine_execute_autocommits_each_statement(database_url: str) -> None:
    with evcs.Engine(database_url, pool_size=2, max_overflow=0) as engine:
        engine.execute("CREATE TABLE engine_autocommit (id int PRIMARY KEY, note text)")
        result = engine.execute("INSERT INTO engine_autocommit VALUES ($1, $2)", (1, "one"))
        assert result.rowcount == 1
        with engine.session() as other:
            assert other.scalar("SELECT note FROM engine_autocommit WHERE id = 1") == "one"
        first = engine.scalar("SELECT txid_current()")
        assert engine.scalar("SELECT txid_status($1)", (first,)) == "committed"
        with pytest.raises(evcs.IntegrityError) as raised:
            engine.execute("INSERT INTO engine_autocommit VALUES (1, 'again')")
        assert raised.value.sqlstate == "23505"
        assert engine.scalar("SELECT count(*) FROM engine_autocommit") == 1
        assert engine.pool_status().checked_out == 0


def test_engine_async_execute_shares_the_pool_across_tasks(database_url: str) -> None:
    async def scenario() -> object:
        with evcs.Engine(database_url, pool_size=3, max_overflow=1) as engine:
            rows = await asyncio.gather(
                *(engine.async_execute("SELECT pg_backend_pid(), $1::int * 3, pg_sleep(0.02)", (i,))
                  for i in range(32)))
            assert [row[0][1] for row in rows] == [3 * i for i in range(32)]
            assert len({row[0][0] for row in rows}) == 4
            assert await engine.async_scalar("SELECT $1::text", ("x",)) == "x"
            assert await engine.async_scalar("SELECT 1 WHERE false") is None
            with pytest.raises(evcs.InvalidArgument) as raised:
                await engine.async_scalar("SELECT 1/0")
            assert raised.value.sqlstate == "22012"
            return engine.pool_status().checked_out

    assert run(scenario()) == 0


def test_async_session_scalar_returns_the_first_cell(engine: evcs.Engine) -> None:
    async def scenario() -> object:
        async with engine.async_session() as s:
            return (await s.scalar("SELECT $1::int + 1, 'ignored'", (41,)),
                    await s.scalar("SELECT 1 WHERE false"))

    assert run(scenario()) == (42, None)
