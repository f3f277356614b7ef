"""Misuses of typed models that `mypy --strict` must report (tests/python/test_models.py runs
mypy on this file and compares its errors line by line). Never run."""

from __future__ import annotations

import evcs


class Project(evcs.Model):
    title: str


class User(evcs.Model):
    name: str


class Task(evcs.Model):
    title: str
    project: evcs.Ref[Project]
    owner: evcs.Ref[User] | None = None


def misuse(session: evcs.Session, user: User, task: Task, owner: evcs.Ref[User]) -> None:
    tasks = session.models(Task)
    task.title = 3
    task.project = owner
    task.project = evcs.Ref.to(user)
    session.models(User).get(task.project)
    tasks.create(Project(title="not a task"))
    print(tasks.get(task).title)
    users: list[User] = tasks.find()
    due: int = evcs.meta(task).valid_from
    evcs.field(on_delete="explode")
