"""Engine: options, URL handling, the pool (timeout, pre-ping, no leaks), echo, lifecycle."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import List

import psycopg
import pytest

import evcs
from conftest import evcs_backends, settled_backends


def test_version_comes_from_the_library() -> None:
    assert evcs.__version__ == "0.1.0"


def test_unknown_option_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'pool_sise'"):
        evcs.Engine("dbname=x", pool_sise=3)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pool_size": 0}, "option pool_size='0' is not an integer between 1 and 100000"),
        ({"max_overflow": "many"}, "option max_overflow='many' is not an integer"),
        ({"pool_timeout": -1.5}, "option pool_timeout='-1.5' is not a number of seconds"),
        ({"pool_recycle": -3}, "option pool_recycle='-3' is not a number of seconds"),
    ],
)
def test_bad_option_value_is_invalid_argument_naming_the_option(options: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(evcs.InvalidArgument) as raised:
        evcs.Engine("dbname=x", **options)
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize("url", ["postgresql://[bad", "not a url at all"])
def test_malformed_url_is_invalid_argument(url: str) -> None:
    with pytest.raises(evcs.InvalidArgument, match="malformed database URL"):
        evcs.Engine(url)


def test_unreachable_server_is_connection_lost_at_first_statement() -> None:
    with evcs.Engine("postgresql://alice:secret@/db?host=/nonexistent-evcs-socket-dir") as engine:
        assert engine.url == "user=alice password=*** dbname=db host=/nonexistent-evcs-socket-dir"
        with engine.session() as s:
            with pytest.raises(evcs.ConnectionLost) as raised:
                s.scalar("SELECT 1")
    error = raised.value
    assert (error.code, error.sqlstate) == ("connection_lost", "08001")
    assert "secret" not in str(error)
    assert "Check that the server is running" in str(error)


def test_fourth_concurrent_checkout_times_out_naming_size_overflow_and_timeout(database_url: str) -> None:
    with evcs.Engine(database_url, pool_size=2, max_overflow=1, pool_timeout=0.5) as engine:
        holders = [engine.session() for _ in range(3)]
        for holder in holders:
            holder.execute("SELECT 1")
        assert engine.pool_status() == evcs.PoolStatus(size=3, checked_out=3, overflow=1)
        with engine.session() as fourth:
            with pytest.raises(evcs.PoolTimeout) as raised:
                fourth.execute("SELECT 1")
        message = str(raised.value)
        assert "pool_size=2" in message
        assert "max_overflow=1" in message
        assert "pool_timeout=0.5" in message
        assert "sessions that are not closed" in message
        assert (raised.value.code, raised.value.sqlstate) == ("pool_timeout", None)
        assert isinstance(raised.value, TimeoutError)
        for holder in holders:
            holder.close()
        with engine.session() as again:
            assert again.scalar("SELECT 1") == 1
        assert engine.pool_status() == evcs.PoolStatus(size=2, checked_out=0, overflow=0)


def test_pre_ping_replaces_connections_whose_backends_were_terminated(
    database_url: str, admin: psycopg.Connection  # type: ignore[type-arg]
) -> None:
    with evcs.Engine(database_url, pool_size=3, application_name="evcs-pre-ping") as engine:
        sessions = [engine.session() for _ in range(3)]
        old_pids = {s.scalar("SELECT pg_backend_pid()") for s in sessions}
        for s in sessions:
            s.close()
        assert len(old_pids) == 3
        terminated = admin.execute(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'evcs-pre-ping') AS t"
        ).fetchone()
        assert terminated == (3,)
        assert settled_backends(admin, "evcs-pre-ping", 0) == 0
        with engine.session() as s:
            assert s.scalar("SELECT 41 + 1") == 42
            assert s.backend_pid not in old_pids


def test_ten_thousand_sessions_leak_no_connection(
    database_url: str, admin: psycopg.Connection  # type: ignore[type-arg]
) -> None:
    with evcs.Engine(database_url, pool_size=4, application_name="evcs-leak") as engine:
        for number in range(10_000):
            with engine.session() as s:
                assert s.scalar("SELECT $1::int", (number,)) == number
        status = engine.pool_status()
        assert (status.checked_out, status.overflow) == (0, 0)
        assert status.size <= 4
        assert evcs_backends(admin, "evcs-leak") == status.size


def test_dispose_closes_idle_connections_and_close_ends_the_engine(
    database_url: str, admin: psycopg.Connection  # type: ignore[type-arg]
) -> None:
    engine = evcs.Engine(database_url, application_name="evcs-dispose")
    with engine.session() as s:
        s.scalar("SELECT 1")
    assert evcs_backends(admin, "evcs-dispose") == 1
    engine.dispose()
    assert engine.pool_status() == evcs.PoolStatus(0, 0, 0)
    assert settled_backends(admin, "evcs-dispose", 0) == 0
    engine.close()
    engine.close()  # idempotent
    assert engine.closed
    assert repr(engine) == "<evcs.Engine (closed)>"
    with pytest.raises(evcs.MisuseError, match="this engine is closed"):
        engine.session()


def test_sessions_outlive_a_closed_engine(database_url: str) -> None:
    engine = evcs.Engine(database_url)
    s = engine.session()
    engine.close()
    assert s.scalar("SELECT 'still works'") == "still works"
    s.close()


def test_echo_logs_statements_to_the_evcs_engine_logger(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="evcs.engine")
    with evcs.Engine(database_url, echo=True) as engine, engine.session() as s:
        s.scalar("SELECT $1::int + $2::int AS echo_probe", (1, 2))
    lines: List[str] = [r.getMessage() for r in caplog.records if r.name == "evcs.engine"]
    probes = [line for line in lines if "echo_probe" in line]
    assert len(probes) == 1
    assert probes[0].startswith("SELECT $1::int + $2::int AS echo_probe [2 params, ")
    assert probes[0].endswith(" ms]")
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "evcs.engine")


def test_echo_off_logs_nothing(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="evcs.engine")
    with evcs.Engine(database_url) as engine, engine.session() as s:
        s.scalar("SELECT 1")
    assert [r for r in caplog.records if r.name == "evcs.engine"] == []


def test_log_lines_stop_once_the_interpreter_begins_to_exit(database_url: str) -> None:
    """Engine threads must not enter Python once it shuts down: from the interpreter's exit
    handlers on (evcs registers one at import), echo lines are dropped, and the process ends
    cleanly. The script's own exit handler, registered before evcs's, runs after it."""
    script = (
        "import atexit, logging\n"
        "lines = []\n"
        "class Keep(logging.Handler):\n"
        "    def emit(self, record): lines.append(record.getMessage())\n"
        "def at_exit():\n"
        "    with engine.session() as s: s.scalar(\"SELECT 'after exit began'\")\n"
        "    print('after:', sum('after exit began' in line for line in lines))\n"
        "atexit.register(at_exit)\n"
        "import evcs\n"
        "logging.getLogger('evcs.engine').addHandler(Keep())\n"
        "logging.getLogger('evcs.engine').setLevel(logging.INFO)\n"
        "engine = evcs.Engine(URL, echo=True)\n"
        "with engine.session() as s: s.scalar(\"SELECT 'before exit'\")\n"
        "print('before:', sum('before exit' in line for line in lines))\n"
    ).replace("URL", repr(database_url))
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=60, env={**os.environ})
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == "before: 1\nafter: 0\n"
