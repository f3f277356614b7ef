"""Autocommit sessions through Python: each write commits by itself, stamped and logged, while
begin(), run_in_transaction and the operations of several statements still land whole."""

from __future__ import annotations


import pytest

import evcs


@pytest.fixture
def engine_with_tasks(empty_schema_engine: evcs.Engine) -> evcs.Engine:
    with empty_schema_engine.session() as setup:
        setup.create_entity_type("task", {"title": "text not null", "points": "int"})
    return empty_schema_engine


def test_each_write_commits_with_its_own_stamp(engine_with_tasks: evcs.Engine) -> None:
    with engine_with_tasks.session(author="ann", autocommit=True) as s:
        assert s.autocommit
        repo = s.repository("task")
        created = repo.create({"title": "docs", "points": 3})
        updated = repo.update(created.head_id, {"points": 5})
        assert not s.in_transaction
        with engine_with_tasks.session() as other:
            history = other.repository("task").history(created.head_id)
            assert [v.version for v in history] == [1, 2]
            assert history[0].valid_from == created.valid_from
            assert history[0].valid_to == updated.valid_from == history[1].valid_from
            log = other.commit_log()
            assert [(c.stamp, c.author, c.message, c.changes) for c in log] == [
                (updated.valid_from, "ann", "", 1), (created.valid_from, "ann", "", 1)]


def test_begin_and_run_in_transaction_still_group_writes(engine_with_tasks: evcs.Engine) -> None:
    with engine_with_tasks.session(autocommit=True) as s:
        repo = s.repository("task")
        with s.begin():
            first = repo.create({"title": "one"})
            repo.create({"title": "two"})
        assert repo.count() == 2
        assert s.commit_log()[0].changes == 2
        assert first.valid_from is None, "pending until the transaction committed"

        def two_creates_the_second_failing(session: evcs.Session) -> None:
            repo.create({"title": "three"})
            repo.create({"title": None})
        with pytest.raises(evcs.IntegrityError):
            s.run_in_transaction(two_creates_the_second_failing)
        assert repo.count() == 2


def test_switching_needs_no_transaction_in_progress(engine_with_tasks: evcs.Engine) -> None:
    with engine_with_tasks.session() as s:
        assert not s.autocommit
        s.repository("task").create({"title": "pending"})
        with pytest.raises(evcs.MisuseError, match="one is in progress"):
            s.autocommit = True
        s.commit()
        s.autocommit = True
        s.repository("task").create({"title": "committed"})
        s.autocommit = False
        assert not s.in_transaction
        assert s.repository("task").count() == 2
