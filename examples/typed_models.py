"""Typed models: entity types declared as annotated classes, read back as instances.

Run it on an empty database (DATABASE_URL, else the embedded server):

    PYTHONPATH=build/python /usr/bin/python3 examples/typed_models.py

CI runs `mypy --strict` on this file (scripts/test, stage mypy) and runs it against the test
database (tests/python/test_models.py), comparing what it prints.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal

import evcs


class Project(evcs.Model):
    title: str
    budget: decimal.Decimal = evcs.field(type="numeric(14,2)", default=decimal.Decimal("0.00"))


class Task(evcs.Model):
    __unique__ = [("project", "title")]  # no two live tasks of a project share a title
    __checks__ = {"points_positive": "points > 0"}

    title: str
    project: evcs.Ref[Project] = evcs.field(on_delete="cascade")
    points: int = 1
    due: datetime.date | None = None
    tags: list[str] = evcs.field(default_factory=list)


def describe(task: Task, project: Project) -> str:
    due = task.due.isoformat() if task.due is not None else "no date"
    return f"{task.title} ({project.title}): {task.points} points, due {due}, tags {task.tags}"


async def count_open_tasks(engine: evcs.Engine) -> int:
    async with engine.async_session() as s:
        tasks = await s.models(Task)
        return await tasks.count(where={"points": {"ge": 1}})


def main() -> None:
    engine = evcs.Engine()
    with engine.session(author="ann") as s:
        s.create_model(Project)
        s.create_model(Task)

    with engine.session(author="ann") as s:
        projects = s.models(Project)
        tasks = s.models(Task)
        bridge = projects.create(Project(title="bridge", budget=decimal.Decimal("100.00")))
        roof = tasks.create(
            Task(title="roof", project=evcs.Ref.to(bridge), points=3, due=datetime.date(2025, 5, 1))
        )
        tasks.create(Task(title="paint", project=evcs.Ref.to(bridge), tags=["outside"]))
        s.commit("plan the bridge")
        s.create_branch("estimate")

    with engine.session(branch="estimate", author="bob") as s:
        tasks = s.models(Task)
        roof_now = tasks.get(roof)
        assert roof_now is not None
        roof_now.points = 8
        tasks.update(roof_now)
        s.commit("bob's estimate")

    with engine.session(author="ann") as s:
        projects = s.models(Project)
        tasks = s.models(Task)
        for task in tasks.find(order_by="title"):
            project = projects.get(task.project)  # a Ref[Project] reads through Project's repository
            assert project is not None
            print(describe(task, project))
        estimated = tasks.get(roof, branch="estimate")
        print("roof on the estimate branch:", estimated.points if estimated else None)

        s.merge("estimate")
        for version in tasks.history(roof):
            info = evcs.meta(version)
            print(f"v{info.version} by {info.author}: {version.points} points, changed {info.changed}")
        first = evcs.meta(tasks.history(roof)[0]).valid_from
        before = tasks.get(roof, as_of=first)
        print("roof as first planned:", before.points if before else None)

        budget = sum((p.budget for p in projects.find()), decimal.Decimal("0"))
        print("total budget:", budget)

        try:
            tasks.create(Task(title="roof", project=evcs.Ref.to(bridge)))
            s.commit("a second roof")
        except evcs.IntegrityError:
            print("refused: a second live 'roof' task in the bridge project")

        projects.delete(bridge)
        s.commit("cancel the bridge")
        print("tasks after the cascade:", tasks.count())

    print("tasks counted by the async session:", asyncio.run(count_open_tasks(engine)))
    engine.close()


if __name__ == "__main__":
    main()
