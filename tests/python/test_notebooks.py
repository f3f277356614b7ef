"""The notebooks run headless in a real Jupyter kernel (against this module's database) and
print what their cells promise."""

from __future__ import annotations

import hashlib
import os
import pathlib
import re
from typing import Iterator, List

import nbclient
import nbformat
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[2] / "notebooks"


def cell_text(cell: nbformat.NotebookNode) -> str:
    parts: List[str] = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
    return "".join(parts)


def executed(name: str, database_url: str) -> List[nbformat.NotebookNode]:
    """Runs notebooks/`name` in a python3 kernel on `database_url`; its code cells, with outputs."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    environment = {
        "DATABASE_URL": database_url,
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    previous = {variable: os.environ.get(variable) for variable in environment}
    os.environ.update(environment)  # the kernel process inherits this environment
    try:
        nbclient.NotebookClient(notebook, kernel_name="python3", timeout=120).execute()
    finally:
        for variable, value in previous.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_quickstart_notebook_runs_and_prints_the_expected_outputs(database_url: str) -> None:
    code_cells = executed("01-quickstart.ipynb", database_url)
    assert cell_text(code_cells[0]) == "evcs 0.1.0\n"
    assert cell_text(code_cells[1]) == "after commit: 2\n"
    assert cell_text(code_cells[2]) == "inside the transaction: 3\nafter rollback: 2\n"
    assert cell_text(code_cells[3]) == (
        "rolled back to the savepoint: integrity_error 23505\nrows in the outer transaction: 3\n"
    )
    assert cell_text(code_cells[4]) == "async inserts: 10\n"
    assert cell_text(code_cells[5]) == "frame shape: (13, 3)\ntotal budget: 15760.50\n"
    html = code_cells[5].outputs[-1]["data"]["text/html"]
    assert html.startswith("<table><thead><tr><th>id</th><th>name</th><th>budget</th></tr></thead>")
    assert "<tr><td>1</td><td>apollo</td><td>1000.50</td></tr>" in html
    assert "more rows" not in html


def test_time_travel_and_branches_notebook_tells_the_change_order_story(database_url: str) -> None:
    code_cells = executed("02-time-travel-and-branches.ipynb", database_url)
    plan, branch, diff, conflict, merge, travel, plot, close = code_cells
    assert cell_text(plan) == (
        "work packages: 3\nbaseline total: 750000.00\n"
        "types: project_id=UUID, budget=Decimal, due=date, tags=list\n"
    )
    baseline_table = plan.outputs[-1]["data"]["text/html"]
    assert "<td>structure</td>" in baseline_table and "<td>450000.00</td>" in baseline_table
    assert cell_text(branch) == "branch total: 895000.00\nmain total: 745000.00\n"
    assert cell_text(diff) == "entities that differ: 4\n"
    assert diff.outputs[-1]["data"]["text/plain"].splitlines()[1:] == [
        "0       facade  modified  budget   180000.00                   210000.00",
        "1       facade  modified    tags  [baseline]  [baseline, change-order-7]",
        "2   foundation  modified  budget   125000.00                   120000.00",
        "3   solar roof     added  budget        None                    95000.00",
        "4   solar roof     added    tags        None            [change-order-7]",
        "5    structure  modified  budget   440000.00                   470000.00",
    ]
    assert cell_text(conflict) == (
        "conflicts: 1\n"
        "structure budget: base 450000.00, main 440000.00, change order 470000.00\n"
        "merge refused: merge_conflict - 1 conflict, nothing written\n"
    )
    assert cell_text(merge) == (
        "merged entities: 3\n"
        "merged budget: 455000.00 from change-order-7\n"
        "foundation, changed on main only: 125000.00\n"
        "facade, changed on the branch only: 210000.00\n"
        "total after merge: 885000.00\n"
    )
    assert cell_text(travel) == (
        "baseline: structure budget 450000.00 (version 1)\n"
        "before merge: structure budget 440000.00 (version 2)\n"
        "now: structure budget 455000.00 (version 3)\n"
        "solar roof at baseline: None\n"
        "solar roof now: 95000.00\n"
        "total at baseline: 750000.00\n"
    )
    history_table = travel.outputs[-1]["data"]["text/html"]
    assert history_table.count("<td>site</td>") == 1 and history_table.count("<td>pm</td>") == 2
    # A branch's history explains what it shows: main's version it read through to up to the
    # fork, then the branch's own two.
    assert cell_text(plot) == "versions plotted: 3 on main, 3 on change-order-7\n"
    assert [output["output_type"] for output in plot.outputs] == ["display_data", "stream"]
    assert "image/png" in plot.outputs[0]["data"]
    assert close.outputs == []


@pytest.fixture
def migrations_database_url(database_url: str) -> Iterator[str]:
    """A database of its own: the notebook's steps create `project`, as notebook 02 does."""
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS evcs_py_notebook_migrations WITH (FORCE)")
        admin.execute("CREATE DATABASE evcs_py_notebook_migrations")
    yield make_conninfo(database_url, dbname="evcs_py_notebook_migrations")
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS evcs_py_notebook_migrations WITH (FORCE)")


def test_migrations_notebook_upgrades_downgrades_and_prints_offline_sql(
    migrations_database_url: str,
) -> None:
    code_cells = executed("03-migrations.ipynb", migrations_database_url)
    setup, new_steps, upgrade, history, entity, downgrade, offline, close = code_cells
    with psycopg.connect(migrations_database_url) as conn:
        row = conn.execute("SELECT current_user").fetchone()
        assert row is not None
        user = row[0]
    branches, catalog = cell_text(setup).splitlines()
    assert branches == "branches: ['main']"
    # The catalog is at its newest step, however many this build compiled in.
    assert re.fullmatch(r"evcs catalog version: (\d+) of \1", catalog)
    assert cell_text(new_steps) == (
        "0001_create_project.down.sql\n0001_create_project.up.sql\n"
        "0002_add_project_budget.down.sql\n0002_add_project_budget.up.sql\n"
    )
    assert cell_text(upgrade) == (
        "current: None\n"
        "pending: ['0001_create_project', '0002_add_project_budget']\n"
        "applied: ['0001_create_project', '0002_add_project_budget']\n"
        "current: 2\n"
    )
    assert [line.split() for line in cell_text(history).splitlines()] == [
        ["version", "slug", "applied_by"],
        ["1", "create_project", user, "(notebook)"],
        ["2", "add_project_budget", user, "(notebook)"],
    ]
    table = history.outputs[-1]["data"]["text/html"]
    assert "<th>applied_at</th>" in table and "<th>duration_ms</th>" in table
    assert table.count("<td>create_project</td>") == 1
    assert cell_text(entity) == "versions: [(1, '1200.00'), (2, '1350.00')]\n"
    assert cell_text(downgrade) == (
        "reverted: ['0002_add_project_budget']\ncurrent: 1\n"
        "fields now: ['name']\nversions kept: 2\n"
    )
    up_sql = "SELECT evcs_add_column('project', 'budget', 'numeric(14,2)');\n"
    checksum = hashlib.sha256(up_sql.encode()).hexdigest()
    assert cell_text(offline) == (
        "-- 0002_add_project_budget.up.sql\n"
        "BEGIN;\n"
        + up_sql
        + "INSERT INTO evcs_migration (version, slug, checksum, duration_ms, applied_by) VALUES "
        f"(2, 'add_project_budget', '{checksum}', (extract(epoch FROM clock_timestamp() - "
        "transaction_timestamp()) * 1000)::bigint, current_user || ' (notebook)');\n"
        "COMMIT;\n\n\n"
        "current is still: 1\n"
    )
    assert close.outputs == []


def test_relations_notebook_holds_the_rules_and_reads_across_relations(
    empty_schema_engine: object, database_url: str,
) -> None:
    setup, dangling, cascade, merge, include, walk = executed("04-relations.ipynb", database_url)
    assert cell_text(setup) == (
        "tasks of apollo refer to: Reference(entity_type='project', on_delete='cascade')\n"
        "live tasks: 4\n"
    )
    assert cell_text(dangling) == (
        '23503 task late on branch "main" refers to project Gemini (field project_id), '
        "which is deleted or absent there\nlive tasks: 3\n"
    )
    assert cell_text(cascade) == (
        "commit: close apollo - versions written: 4\n"
        "  v1 design\n"
        "  v2 deleted (the close's stamp)\n"
        "design now: None\n"
        "design before: design\n"
    )
    assert cell_text(merge) == (
        "unique email Kim Lee vs Kim Park\n"
        "people on main: 2\n"
        "merged, commit written: True\n"
        "['ada@example.com', 'kim.lee@example.com', 'kim@example.com']\n"
    )
    assert cell_text(include) == (
        "queries: 2\n"
        "Apollo ['build', 'design', 'test']\n"
        "now: Hermes ['launch', 'orbit']\n"
    )
    assert cell_text(walk) == (
        "pages: 10 - tasks seen: 10000 - distinct titles: 10000\n"
        "renamed titles seen: 0\n"
        "live tasks of Big now: 10000 - renamed now: 10\n"
    )
