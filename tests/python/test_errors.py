"""Server and engine failures surface as the evcs error classes (docs/errors.md) with code,
SQLSTATE and retryability."""

from __future__ import annotations

import psycopg
import pytest

import evcs


def test_hierarchy_mirrors_the_spec_and_python_builtins() -> None:
    for cls in (
        evcs.NotFound, evcs.Conflict, evcs.BranchLocked, evcs.IntegrityError, evcs.InvalidArgument,
        evcs.PoolTimeout, evcs.ConnectionLost, evcs.SerializationFailure, evcs.MigrationError,
        evcs.MisuseError,
    ):
        assert cls.__bases__[0] is evcs.Error
    assert issubclass(evcs.MergeConflict, evcs.Conflict)
    assert issubclass(evcs.ConcurrentModification, evcs.Conflict)
    assert issubclass(evcs.InvalidArgument, ValueError)
    assert issubclass(evcs.PoolTimeout, TimeoutError)
    assert issubclass(evcs.ConnectionLost, ConnectionError)
    assert evcs.DatabaseError is evcs.Error
    assert evcs.OperationalError is evcs.ConnectionLost
    assert evcs.ProgrammingError is evcs.InvalidArgument
    assert evcs.DataError is evcs.InvalidArgument
    assert evcs.InterfaceError is evcs.MisuseError


def test_errors_built_in_python_carry_their_class_defaults() -> None:
    error = evcs.SerializationFailure("retry me", sqlstate="40001")
    assert (error.code, error.sqlstate, error.retryable, error.detail) == (
        "serialization_failure", "40001", True, None,
    )
    assert str(error) == "retry me [serialization_failure, SQLSTATE 40001]"
    assert str(evcs.NotFound("gone")) == "gone [not_found]"


@pytest.mark.parametrize(
    ("sql", "cls", "code", "sqlstate"),
    [
        ("INSERT INTO uniq VALUES (1), (1)", evcs.IntegrityError, "integrity_error", "23505"),
        ("INSERT INTO uniq VALUES (NULL)", evcs.IntegrityError, "integrity_error", "23502"),
        ("SELEC 1", evcs.InvalidArgument, "invalid_argument", "42601"),
        ("SELECT 1 / 0", evcs.InvalidArgument, "invalid_argument", "22012"),
        ("SELECT * FROM no_such_table", evcs.InvalidArgument, "invalid_argument", "42P01"),
        ("SELECT 'x'::int", evcs.InvalidArgument, "invalid_argument", "22P02"),
    ],
)
def test_server_error_maps_to_class_with_sqlstate(
    engine: evcs.Engine, sql: str, cls: type, code: str, sqlstate: str
) -> None:
    with engine.session() as s:
        s.execute("CREATE TABLE IF NOT EXISTS uniq (id int PRIMARY KEY)")
        s.commit()
        with pytest.raises(cls) as raised:
            s.execute(sql)
        s.rollback()
    error = raised.value
    assert type(error) is cls
    assert (error.code, error.sqlstate, error.retryable, error.detail) == (code, sqlstate, False, None)
    assert str(error).endswith(f" [{code}, SQLSTATE {sqlstate}]")


def test_failed_statement_poisons_the_transaction_until_rollback(engine: evcs.Engine) -> None:
    with engine.session() as s:
        with pytest.raises(evcs.InvalidArgument):
            s.execute("SELECT 1 / 0")
        with pytest.raises(evcs.MisuseError, match="roll back") as raised:
            s.execute("SELECT 1")
        assert raised.value.sqlstate == "25P02"
        s.rollback()
        assert s.scalar("SELECT 1") == 1


def test_concurrent_update_under_repeatable_read_is_a_retryable_serialization_failure(
    engine: evcs.Engine,
) -> None:
    with engine.session() as s:
        s.execute("CREATE TABLE contended (id int PRIMARY KEY, value int)")
        s.execute("INSERT INTO contended VALUES (1, 0)")
    with engine.session() as first, engine.session() as second:
        first.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        assert first.scalar("SELECT value FROM contended WHERE id = 1") == 0
        second.execute("UPDATE contended SET value = 5 WHERE id = 1")
        second.commit()
        with pytest.raises(evcs.SerializationFailure) as raised:
            first.execute("UPDATE contended SET value = value + 1 WHERE id = 1")
        first.rollback()
    assert (raised.value.code, raised.value.sqlstate, raised.value.retryable) == (
        "serialization_failure", "40001", True,
    )


def test_backend_terminated_mid_transaction_is_connection_lost_and_never_silently_retried(
    engine: evcs.Engine, admin: psycopg.Connection  # type: ignore[type-arg]
) -> None:
    with engine.session() as s:
        s.execute("CREATE TABLE survivors (id int)")
    s = engine.session()
    s.execute("INSERT INTO survivors VALUES (1)")
    admin.execute("SELECT pg_terminate_backend(%s)", (s.backend_pid,))
    with pytest.raises(evcs.ConnectionLost) as raised:
        s.execute("INSERT INTO survivors VALUES (2)")
    assert isinstance(raised.value, ConnectionError)
    assert (raised.value.code, raised.value.sqlstate, raised.value.retryable) == (
        "connection_lost", "08006", True,
    )
    assert str(raised.value).startswith("the connection to PostgreSQL was lost (")
    s.rollback()
    assert s.scalar("SELECT count(*) FROM survivors") == 0  # a fresh connection; nothing kept
    s.close()
