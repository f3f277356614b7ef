"""Sessions: implicit transactions, commit/rollback, `with` semantics, begin/begin_nested,
run_in_transaction, and the one-thread-at-a-time contract."""

from __future__ import annotations

import threading
from typing import List

import psycopg
import pytest

import evcs
from conftest import wait_until_query_runs


def make_table(engine: evcs.Engine, name: str) -> None:
    with engine.session() as s:
        s.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, note text)")


def ids(engine: evcs.Engine, table: str) -> List[int]:
    with engine.session() as s:
        return [row.id for row in s.execute(f"SELECT id FROM {table} ORDER BY id")]


def test_first_statement_checks_out_a_connection_and_begins_a_transaction(engine: evcs.Engine) -> None:
    s = engine.session(branch="main", author="ada")
    assert (s.in_transaction, s.backend_pid, s.branch, s.author) == (False, 0, "main", "ada")
    assert s.scalar("SELECT 1") == 1
    assert s.in_transaction is True
    assert s.backend_pid == s.scalar("SELECT pg_backend_pid()")
    assert engine.pool_status().checked_out == 1
    s.commit()
    assert s.in_transaction is False
    s.close()
    assert engine.pool_status().checked_out == 0


def test_commit_makes_writes_visible_and_rollback_discards_them(engine: evcs.Engine) -> None:
    make_table(engine, "commit_rollback")
    s = engine.session()
    s.execute("INSERT INTO commit_rollback VALUES ($1, $2)", (1, "kept"))
    s.commit()
    s.execute("INSERT INTO commit_rollback VALUES ($1, $2)", (2, "discarded"))
    s.rollback()
    s.close()
    assert ids(engine, "commit_rollback") == [1]


def test_close_rolls_back_uncommitted_work_and_the_session_stays_usable(engine: evcs.Engine) -> None:
    make_table(engine, "close_rolls_back")
    s = engine.session()
    s.execute("INSERT INTO close_rolls_back VALUES (1, 'lost')")
    s.close()
    s.execute("INSERT INTO close_rolls_back VALUES (2, 'kept')")
    s.commit()
    s.close()
    assert ids(engine, "close_rolls_back") == [2]


def test_with_block_commits_on_normal_exit_and_returns_the_connection(engine: evcs.Engine) -> None:
    make_table(engine, "with_commits")
    with engine.session() as s:
        s.execute("INSERT INTO with_commits VALUES (1, 'a')")
    assert ids(engine, "with_commits") == [1]
    assert engine.pool_status().checked_out == 0


def test_with_block_rolls_back_on_exception_and_lets_it_propagate(engine: evcs.Engine) -> None:
    make_table(engine, "with_rolls_back")
    with pytest.raises(KeyError, match="boom"):
        with engine.session() as s:
            s.execute("INSERT INTO with_rolls_back VALUES (1, 'a')")
            raise KeyError("boom")
    assert ids(engine, "with_rolls_back") == []
    assert engine.pool_status().checked_out == 0


def test_begin_commits_on_exit_and_rolls_back_on_exception(engine: evcs.Engine) -> None:
    make_table(engine, "explicit")
    with engine.session() as s:
        with s.begin() as transaction:
            s.execute("INSERT INTO explicit VALUES (1, 'a')")
            assert transaction.is_active
        assert not transaction.is_active
        assert not s.in_transaction
        with pytest.raises(RuntimeError):
            with s.begin():
                s.execute("INSERT INTO explicit VALUES (2, 'b')")
                raise RuntimeError
        assert not s.in_transaction
    assert ids(engine, "explicit") == [1]


def test_begin_inside_a_transaction_is_misuse(engine: evcs.Engine) -> None:
    with engine.session() as s:
        s.execute("SELECT 1")
        with pytest.raises(evcs.MisuseError) as raised:
            s.begin()
        assert raised.value.code == "misuse"
        assert raised.value.sqlstate is None


def test_explicit_commit_inside_the_block_ends_the_transaction_once(engine: evcs.Engine) -> None:
    make_table(engine, "explicit_commit")
    with engine.session() as s:
        with s.begin() as transaction:
            s.execute("INSERT INTO explicit_commit VALUES (1, 'a')")
            transaction.commit()
        assert not transaction.is_active
    assert ids(engine, "explicit_commit") == [1]


def test_exception_in_nested_rolls_back_to_the_savepoint_and_outer_commits(engine: evcs.Engine) -> None:
    make_table(engine, "nested")
    with engine.session() as s:
        s.execute("INSERT INTO nested VALUES (1, 'outer before')")
        with pytest.raises(ValueError, match="inner failure"):
            with s.begin_nested():
                s.execute("INSERT INTO nested VALUES (2, 'inner')")
                raise ValueError("inner failure")
        assert s.in_transaction
        s.execute("INSERT INTO nested VALUES (3, 'outer after')")
    assert ids(engine, "nested") == [1, 3]


def test_nested_block_without_exception_keeps_its_writes(engine: evcs.Engine) -> None:
    make_table(engine, "nested_ok")
    with engine.session() as s:
        with s.begin():
            s.execute("INSERT INTO nested_ok VALUES (1, 'outer')")
            with s.begin_nested():
                s.execute("INSERT INTO nested_ok VALUES (2, 'inner')")
    assert ids(engine, "nested_ok") == [1, 2]


def test_sql_error_in_nested_block_rolls_back_to_savepoint(engine: evcs.Engine) -> None:
    make_table(engine, "nested_sql_error")
    with engine.session() as s:
        s.execute("INSERT INTO nested_sql_error VALUES (1, 'a')")
        with pytest.raises(evcs.IntegrityError):
            with s.begin_nested():
                s.execute("INSERT INTO nested_sql_error VALUES (1, 'duplicate')")
        s.execute("INSERT INTO nested_sql_error VALUES (2, 'b')")
    assert ids(engine, "nested_sql_error") == [1, 2]


def test_run_in_transaction_commits_and_returns_the_value_of_fn(engine: evcs.Engine) -> None:
    make_table(engine, "run_ok")
    with engine.session() as s:

        def write(session: evcs.Session) -> str:
            session.execute("INSERT INTO run_ok VALUES (1, 'a')")
            return "done"

        assert s.run_in_transaction(write) == "done"
        assert not s.in_transaction
    assert ids(engine, "run_ok") == [1]


def test_run_in_transaction_retries_a_server_serialization_failure(engine: evcs.Engine) -> None:
    with engine.session() as s:
        s.execute("CREATE TABLE counter (id int PRIMARY KEY, value int)")
        s.execute("INSERT INTO counter VALUES (1, 0)")
    attempts: List[int] = []
    interferer = engine.session()

    def increment(session: evcs.Session) -> None:
        attempts.append(len(attempts) + 1)
        session.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        session.scalar("SELECT value FROM counter WHERE id = 1")  # takes the snapshot
        if len(attempts) == 1:  # a concurrent writer commits after our snapshot
            interferer.execute("UPDATE counter SET value = value + 100 WHERE id = 1")
            interferer.commit()
        session.execute("UPDATE counter SET value = value + 1 WHERE id = 1")

    with engine.session() as s:
        s.run_in_transaction(increment, attempts=3)
        assert attempts == [1, 2]
        assert s.scalar("SELECT value FROM counter WHERE id = 1") == 101
    interferer.close()


def test_run_in_transaction_retries_serialization_failure_raised_by_fn(engine: evcs.Engine) -> None:
    attempts: List[int] = []

    def flaky(session: evcs.Session) -> int:
        attempts.append(session.scalar("SELECT 1"))
        if len(attempts) < 3:
            raise evcs.SerializationFailure("simulated", sqlstate="40001")
        return len(attempts)

    with engine.session() as s:
        assert s.run_in_transaction(flaky, attempts=3) == 3


def test_run_in_transaction_gives_up_after_the_attempts(engine: evcs.Engine) -> None:
    attempts: List[int] = []

    def always_conflicts(session: evcs.Session) -> None:
        attempts.append(1)
        raise evcs.SerializationFailure("always", sqlstate="40001")

    with engine.session() as s:
        with pytest.raises(evcs.SerializationFailure) as raised:
            s.run_in_transaction(always_conflicts, attempts=2)
    assert len(attempts) == 2
    assert (raised.value.sqlstate, raised.value.retryable) == ("40001", True)


def test_run_in_transaction_does_not_retry_a_non_retryable_error(engine: evcs.Engine) -> None:
    make_table(engine, "run_integrity")
    attempts: List[int] = []

    def duplicate(session: evcs.Session) -> None:
        attempts.append(1)
        session.execute("INSERT INTO run_integrity VALUES (1, 'a'), (1, 'b')")

    with engine.session() as s:
        with pytest.raises(evcs.IntegrityError) as raised:
            s.run_in_transaction(duplicate, attempts=3)
    assert attempts == [1]
    assert (raised.value.code, raised.value.sqlstate, raised.value.retryable) == (
        "integrity_error",
        "23505",
        False,
    )


def test_run_in_transaction_reraises_a_python_exception_unchanged(engine: evcs.Engine) -> None:
    make_table(engine, "run_python_error")

    class Boom(Exception):
        pass

    boom = Boom("from fn")
    attempts: List[int] = []

    def explode(session: evcs.Session) -> None:
        attempts.append(1)
        session.execute("INSERT INTO run_python_error VALUES (1, 'a')")
        raise boom

    with engine.session() as s:
        with pytest.raises(Boom) as raised:
            s.run_in_transaction(explode)
        assert raised.value is boom
        assert not s.in_transaction
    assert attempts == [1]
    assert ids(engine, "run_python_error") == []


def test_one_session_used_from_two_threads_at_once_is_misuse(
    engine: evcs.Engine, admin: psycopg.Connection  # type: ignore[type-arg]
) -> None:
    s = engine.session()
    slow_result: List[object] = []
    slow = threading.Thread(
        target=lambda: slow_result.append(s.scalar("SELECT pg_sleep(0.3)::text || 'misuse probe'"))
    )
    slow.start()
    wait_until_query_runs(admin, "misuse probe")
    with pytest.raises(evcs.MisuseError, match="another operation is in progress") as raised:
        s.scalar("SELECT 1")
    slow.join()
    assert raised.value.code == "misuse"
    assert slow_result == ["misuse probe"]
    assert s.scalar("SELECT 2") == 2  # usable again once the other thread is done
    s.close()
