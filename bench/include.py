"""Eager loading: find(include=["tasks"]) of 1,000 projects with 10 tasks each, against the two
hand-written asyncpg queries that read the same state and group the tasks by project.

Run with bench/run include [--quick] (it builds evcs and starts a throwaway server); or directly
with DATABASE_URL pointing at an empty database and PYTHONPATH set to the build's python
directory.

Both sides read every project and every task of them and hand back, per project, its tasks:
evcs as Versions with typed values (uuid, numeric, date), asyncpg as Records (which decode the
same types) grouped into a dict by project id. Measured interleaved (bench/versioned.py's
Bench); the target is evcs's time <= 1.5x asyncpg's. A one-to-many include and a many-to-one
include (10,000 tasks with their project) are both measured.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime
import decimal
import os
from typing import Awaitable, Callable, Dict, List, Tuple

import asyncpg  # type: ignore[import]

from versioned import Bench

PROJECTS = 1_000
TASKS_PER_PROJECT = 10

# The current state on main of every project, and of their tasks: what a user who knows the
# version tables writes by hand, using the index on task_version(project_id).
ASYNCPG_PROJECTS = ("SELECT * FROM project_version WHERE branch = 'main' AND valid_to IS NULL "
                    "AND NOT deleted ORDER BY head_id")
ASYNCPG_TASKS = ("SELECT * FROM task_version WHERE branch = 'main' AND valid_to IS NULL "
                 "AND NOT deleted AND project_id = ANY($1::uuid[]) ORDER BY project_id, head_id")
ASYNCPG_ALL_TASKS = ("SELECT * FROM task_version WHERE branch = 'main' AND valid_to IS NULL "
                     "AND NOT deleted ORDER BY head_id")
ASYNCPG_TASK_PROJECTS = ("SELECT * FROM project_version WHERE branch = 'main' AND valid_to IS NULL "
                         "AND NOT deleted AND head_id = ANY($1::uuid[])")


def load(bench: Bench) -> None:
    with bench.engine.session(author="bench") as s:
        s.create_entity_type("project", {"name": "text not null", "budget": "numeric"})
        s.create_entity_type("task", {
            "title": "text not null", "due": "date",
            "project_id": {"references": "project", "on_delete": "cascade"}})
        s.commit()
        created = s.repository("project").create_many(
            [{"name": f"project {n}", "budget": decimal.Decimal(n)} for n in range(PROJECTS)])
        tasks = [{"title": f"task {n}.{t}", "due": datetime.date(2027, 1, 1 + t),
                  "project_id": head_id}
                 for n, head_id in enumerate(created.head_ids) for t in range(TASKS_PER_PROJECT)]
        s.repository("task").create_many(tasks)
        s.execute("ANALYZE project_version")
        s.execute("ANALYZE task_version")


async def measure(bench: Bench) -> Dict[str, float]:
    connection = await asyncpg.connect(host=bench.pg_env.get("PGHOST"), user="postgres",
                                       database=bench.dbname)
    try:
        async def asyncpg_projects_with_tasks() -> Dict[object, List[object]]:
            projects = await connection.fetch(ASYNCPG_PROJECTS)
            tasks = await connection.fetch(ASYNCPG_TASKS, [p["head_id"] for p in projects])
            by_project: Dict[object, List[object]] = {p["head_id"]: [] for p in projects}
            for task in tasks:
                by_project[task["project_id"]].append(task)
            return by_project

        async def asyncpg_tasks_with_project() -> List[Tuple[object, object]]:
            tasks = await connection.fetch(ASYNCPG_ALL_TASKS)
            projects = await connection.fetch(
                ASYNCPG_TASK_PROJECTS, list({t["project_id"] for t in tasks}))
            by_id = {p["head_id"]: p for p in projects}
            return [(task, by_id.get(task["project_id"])) for task in tasks]

        with bench.engine.session() as s:
            projects = s.repository("project")
            tasks = s.repository("task")
            found = projects.find(include=["tasks"])
            expected = await asyncpg_projects_with_tasks()
            assert len(found) == PROJECTS
            assert sorted(len(p.related("tasks")) for p in found) == \
                sorted(len(t) for t in expected.values())
            assert all(len(p.related("tasks")) == TASKS_PER_PROJECT for p in found)
            with_project = tasks.find(include=["project"])
            assert len(with_project) == PROJECTS * TASKS_PER_PROJECT
            assert all(t.related_one("project") is not None for t in with_project)

            def blocking(operation: Callable[[], object]) -> Callable[[], Awaitable[None]]:
                async def run() -> None:
                    operation()
                return run

            async def run_asyncpg_one_to_many() -> None:
                await asyncpg_projects_with_tasks()

            async def run_asyncpg_many_to_one() -> None:
                await asyncpg_tasks_with_project()

            operations: Dict[str, Tuple[str, Callable[[], Awaitable[None]]]] = {
                "evcs tasks": (f"evcs find(include=['tasks']): {PROJECTS:,} projects",
                               blocking(lambda: projects.find(include=["tasks"]))),
                "asyncpg tasks": ("asyncpg: 2 queries + group by project",
                                  run_asyncpg_one_to_many),
                "evcs project": (f"evcs find(include=['project']): "
                                 f"{PROJECTS * TASKS_PER_PROJECT:,} tasks",
                                 blocking(lambda: tasks.find(include=["project"]))),
                "asyncpg project": ("asyncpg: 2 queries + project per task",
                                    run_asyncpg_many_to_one),
            }
            return await bench.measure_interleaved_async(operations, rounds=12)
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 s per read")
    parser.add_argument("--seconds", type=float, default=None, help="duration of each read")
    arguments = parser.parse_args()
    seconds = arguments.seconds or (6.0 if arguments.quick else 24.0)
    bench = Bench(os.environ["DATABASE_URL"], seconds)
    print(f"{PROJECTS:,} projects with {TASKS_PER_PROJECT} tasks each; reads per second "
          f"(measured interleaved, {seconds:g} s in all per read)")
    load(bench)
    rates = asyncio.run(measure(bench))
    bench.engine.close()
    print("\nratios and targets (time, evcs / asyncpg):")
    for label, evcs_key, asyncpg_key in (("one-to-many (projects with their tasks)",
                                          "evcs tasks", "asyncpg tasks"),
                                         ("many-to-one (tasks with their project)",
                                          "evcs project", "asyncpg project")):
        ratio = rates[asyncpg_key] / rates[evcs_key]
        print(f"  {label:<44} {ratio:5.2f}  (<= 1.5: {'met' if ratio <= 1.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
