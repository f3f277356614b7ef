"""Fixtures: each test module gets its own fresh database on the server the test run started
(DATABASE_URL, set by scripts/test), and an evcs engine on it.

The fixtures use psycopg, not evcs, for administration (CREATE DATABASE, pg_stat_activity,
pg_terminate_backend), so they do not depend on the code under test.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import time
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

import evcs


def server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("DATABASE_URL is not set: run the tests through scripts/test")
    return url


@pytest.fixture(scope="module")
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    module = request.module.__name__.rsplit(".", 1)[-1]
    name = "evcs_py_" + re.sub(r"\W", "_", module).lower()
    with psycopg.connect(server_url(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    yield make_conninfo(server_url(), dbname=name)
    with psycopg.connect(server_url(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[evcs.Engine]:
    with evcs.Engine(database_url) as engine:
        yield engine


@pytest.fixture
def empty_schema_engine(database_url: str) -> Iterator[evcs.Engine]:
    """An engine on the module's database with the public schema emptied first."""
    with evcs.Engine(database_url) as cleaner, cleaner.session() as setup:
        setup.execute("DROP SCHEMA public CASCADE")
        setup.execute("CREATE SCHEMA public")
    with evcs.Engine(database_url) as engine:
        yield engine


@pytest.fixture
def admin(database_url: str) -> Iterator[psycopg.Connection]:  # type: ignore[type-arg]
    """An autocommit connection to the test database, outside evcs."""
    with psycopg.connect(database_url, autocommit=True, application_name="evcs-test-admin") as conn:
        yield conn


def wait_until_query_runs(admin: psycopg.Connection, marker: str) -> None:  # type: ignore[type-arg]
    """Waits until a statement containing `marker` is executing on the server (no time limit:
    pytest's own timeout, if any, applies)."""
    while True:
        running = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s "
            "AND pid <> pg_backend_pid()",
            (f"%{marker}%",),
        ).fetchone()
        if running is not None and running[0] > 0:
            return
        time.sleep(0.01)


def evcs_backends(admin: psycopg.Connection, application_name: str = "evcs") -> int:  # type: ignore[type-arg]
    """Connections the engine holds on the test database."""
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = %s",
        (application_name,),
    ).fetchone()
    assert row is not None
    return int(row[0])


def settled_backends(admin: psycopg.Connection, application_name: str, expected: int) -> int:  # type: ignore[type-arg]
    """The engine's connection count once it reached `expected` or 30 s passed: a backend exits
    asynchronously after its client disconnects or it is terminated."""
    deadline = time.monotonic() + 30
    count = evcs_backends(admin, application_name)
    while count != expected and time.monotonic() < deadline:
        time.sleep(0.01)
        count = evcs_backends(admin, application_name)
    return count



PYTHON_DOCS = Path(__file__).resolve().parents[2] / "docs" / "python.md"


def docs_snippet(heading: str) -> Tuple[str, str]:
    """The Python block of docs/python.md's section `heading` (the text after "## "), and the
    text block of what it prints (the block after the word "prints")."""
    section = PYTHON_DOCS.read_text().split("## " + heading, 1)[1]
    match = re.search(r"```python\n(.*?)```\s*prints\s*```text\n(.*?)```", section, re.S)
    assert match is not None, f"no python block and printed text under '## {heading}'"
    return match.group(1), match.group(2)


def run_docs_snippet(heading: str, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs the snippet of docs/python.md's section `heading` on `database_url` (as
    DATABASE_URL, which the snippet's Engine() reads) and checks it prints what the docs say."""
    code, expected = docs_snippet(heading)
    monkeypatch.setenv("DATABASE_URL", database_url)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(PYTHON_DOCS), "exec"), {"__name__": "docs_snippet"})
    assert printed.getvalue() == expected


def not_a_violation(kind: str = "field") -> Dict[str, Any]:
    """The keys of a merge conflict that is no violation of a reference, unique key or check:
    its kind ("field", or "delete" for delete versus modify) and no rule or other entity."""
    return {"kind": kind, "constraint": None, "other_type": None, "other_head_id": None}
