"""The versioned operations of AsyncSession: repositories, entity types, branches, diff, merge
and the commit log as awaitables, with the event loop free while one waits for the database."""

from __future__ import annotations

import asyncio

import psycopg

import evcs


def test_versioned_operations_as_awaitables(empty_schema_engine: evcs.Engine) -> None:
    async def scenario() -> None:
        async with empty_schema_engine.async_session(author="ann") as s:
            await s.create_entity_type("task", {"title": "text not null", "points": "int"})
            await s.commit()
            repo = await s.repository("task")
            assert isinstance(repo, evcs.AsyncRepository)
            assert repo.fields == {"title": "text not null", "points": "int"}
            created = await repo.create({"title": "docs", "points": 1})
            await s.commit("first version")
            await repo.update(created.head_id, {"points": 2})
            await s.commit("second version")
            current = await repo.get(created.head_id)
            assert current is not None and current["points"] == 2
            assert [v.version for v in await repo.history(created.head_id)] == [1, 2]
            assert await repo.count() == 1
            assert await repo.exists({"points": 2})
            assert [v["title"] for v in await repo.find(order_by="title")] == ["docs"]
            await s.create_branch("feature")
            await s.commit()
            assert [b.name for b in await s.branches()] == ["main", "feature"]
        async with empty_schema_engine.async_session("feature", "bob") as feature:
            feature_repo = await feature.repository("task")
            await feature_repo.update(created.head_id, {"title": "user docs"})
        async with empty_schema_engine.async_session(author="ann") as s:
            diff = await s.diff("feature")
            assert [(d["kind"], d["fields"]) for d in diff] == [
                ("modified", {"title": {"old": "docs", "new": "user docs"}})]
            preview = await s.merge_preview("feature")
            assert len(preview.changes) == 1
            merged = await s.merge("feature", message="merge the docs")
            assert len(merged.changes) == 1
            assert [c.message for c in await s.commit_log(limit=1)] == ["merge the docs"]
            repo = await s.repository("task")
            merged_version = await repo.get(created.head_id)
            assert merged_version is not None and merged_version["title"] == "user docs"
    asyncio.run(scenario())


def test_the_loop_runs_while_a_write_waits_for_a_lock(
        empty_schema_engine: evcs.Engine, admin: psycopg.Connection) -> None:  # type: ignore[type-arg]
    with empty_schema_engine.session(author="setup") as setup:
        setup.create_entity_type("task", {"title": "text not null"})
        setup.commit()
        head_id = setup.repository("task").create({"title": "locked"}).head_id

    async def scenario() -> int:
        ticks = 0
        async with empty_schema_engine.async_session(author="ann") as s:
            s.autocommit = True
            repo = await s.repository("task")
            with admin.transaction():
                admin.execute("SELECT 1 FROM task WHERE head_id = %s FOR UPDATE", (head_id,))
                write = asyncio.create_task(repo.update(head_id, {"title": "written"}))
                while ticks < 20:
                    await asyncio.sleep(0.01)
                    ticks += 1
                assert not write.done(), "the write waits for the row lock"
            written = await write
            assert written.version == 2
            assert not s.in_transaction, "autocommit: the write committed by itself"
        return ticks
    assert asyncio.run(scenario()) == 20
