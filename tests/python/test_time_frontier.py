"""The time rules (docs/versioning.md) at the frontier: a commit takes its stamp a moment before it becomes visible. An
as-of read of an instant at or after that stamp must not return the state without the commit
and later the state with it: reads of the past are repeatable, even while commits are in flight.

The commit is held between its stamp and its visibility by a lock on evcs_commit (the commit
log row is written after the stamp), taken by a plain psycopg connection.
"""

from __future__ import annotations

import datetime
import threading
import time
from typing import Callable, Iterator, List, Optional

import psycopg
import pytest

import evcs


@pytest.fixture(scope="module")
def prepared(engine: evcs.Engine) -> Iterator[str]:
    with engine.session(author="frontier") as s:
        s.create_entity_type("ledger", {"amount": "int not null"})
        s.commit()
        head = s.repository("ledger").create({"amount": 1}).head_id
        s.commit("first amount")
    yield str(head)


def wait_for_lock_waits(admin: psycopg.Connection, count: int,  # type: ignore[type-arg]
                        unless: Callable[[], bool] = lambda: False) -> None:
    """Polls until `count` sessions of the test database wait for a lock, or `unless()`."""
    while not unless():
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'").fetchone()
        assert row is not None
        if row[0] >= count:
            return
        time.sleep(0.01)


def test_as_of_read_during_an_in_flight_commit_is_repeatable(
        engine: evcs.Engine, database_url: str, prepared: str) -> None:
    head = prepared
    errors: List[BaseException] = []
    with psycopg.connect(database_url, application_name="evcs-test-blocker") as blocker, \
            psycopg.connect(database_url, autocommit=True) as admin:
        blocker.execute("LOCK TABLE evcs_commit IN SHARE MODE")

        def commit_new_amount() -> None:
            try:
                with engine.session(author="writer") as writer:
                    writer.repository("ledger").update(head, {"amount": 2})
                    writer.commit("second amount")
            except BaseException as error:  # reported by the main thread
                errors.append(error)

        writer_thread = threading.Thread(target=commit_new_amount)
        writer_thread.start()
        wait_for_lock_waits(admin, 1)  # stamped, blocked before becoming visible
        instant = admin.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]

        seen: List[Optional[int]] = []

        def read_at_instant() -> None:
            try:
                with engine.session() as reader:
                    version = reader.repository("ledger").get(head, as_of=instant)
                    seen.append(None if version is None else version["amount"])
            except BaseException as error:
                errors.append(error)

        reader_thread = threading.Thread(target=read_at_instant)
        reader_thread.start()
        wait_for_lock_waits(admin, 2, unless=lambda: bool(seen or errors))  # the reader waits
        assert not seen, "the as-of read must not answer before the commit is settled"
        blocker.rollback()  # releases evcs_commit: the writer's commit completes
        writer_thread.join()
        reader_thread.join()

    assert errors == []
    with engine.session() as s:
        repo = s.repository("ledger")
        history = repo.history(head)
        assert [v["amount"] for v in history] == [1, 2]
        assert history[1].valid_from is not None and history[1].valid_from <= instant
        again = repo.get(head, as_of=instant)
        assert again is not None
        assert seen == [again["amount"]] == [2]
        assert repo.count(as_of=instant) == 1
        assert [v["amount"] for v in repo.find(as_of=instant)] == [2]


def test_reads_of_the_past_do_not_wait_for_unrelated_sessions(
        engine: evcs.Engine, prepared: str) -> None:
    with engine.session() as holder, engine.session() as reader:
        holder.repository("ledger").create({"amount": 7})  # uncommitted, not yet stamped
        version = reader.repository("ledger").get(
            prepared, as_of=datetime.datetime.now(datetime.timezone.utc))
        assert version is not None and version["amount"] == 2
        holder.rollback()
