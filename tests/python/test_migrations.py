"""evcs.MigrationRunner (docs/migrations.md) against a real server: dataclasses out, concurrent runners,
a failing step, edited files, offline SQL against what upgrade sends, batch progress."""

from __future__ import annotations

import datetime
import logging
import pathlib
import threading
import time
from typing import Any, Iterator, List, Tuple

import psycopg
import pytest

import evcs

LOCK_KEY = 7311140392490592114


@pytest.fixture
def directory(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path


@pytest.fixture(autouse=True)
def empty_schema(admin: psycopg.Connection) -> None:  # type: ignore[type-arg]
    admin.execute("DROP SCHEMA public CASCADE")
    admin.execute("CREATE SCHEMA public")


def step(directory: pathlib.Path, name: str, up: str, down: str) -> pathlib.Path:
    (directory / f"{name}.up.sql").write_text(up)
    (directory / f"{name}.down.sql").write_text(down)
    return directory / f"{name}.up.sql"


def three_steps(directory: pathlib.Path) -> None:
    step(directory, "0001_create_project",
         "CREATE TABLE project (id int PRIMARY KEY, name text NOT NULL);\n",
         "DROP TABLE project;\n")
    step(directory, "0002_seed_project",
         "INSERT INTO project VALUES (1, 'alpha'), (2, 'beta');\n",
         "DELETE FROM project;\n")
    step(directory, "0003_create_task",
         "CREATE TABLE task (id int PRIMARY KEY, project_id int NOT NULL REFERENCES project (id));\n",
         "DROP TABLE task;\n")


def scalar(admin: psycopg.Connection, sql: str) -> Any:  # type: ignore[type-arg]
    row = admin.execute(sql).fetchone()
    assert row is not None
    return row[0]


def schema(admin: psycopg.Connection) -> List[Tuple[Any, ...]]:  # type: ignore[type-arg]
    """Every column and index of the public schema, to compare before and after."""
    columns = admin.execute(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY 1, 2"
    ).fetchall()
    indexes = admin.execute(
        "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
    ).fetchall()
    return columns + indexes


def test_upgrade_history_pending_downgrade_return_dataclasses(
    engine: evcs.Engine, directory: pathlib.Path, admin: psycopg.Connection  # type: ignore[type-arg]
) -> None:
    three_steps(directory)
    with evcs.MigrationRunner(engine, directory, author="alice") as runner:
        assert runner.directory == str(directory)
        assert runner.current() is None
        assert [s.name for s in runner.pending()] == [
            "0001_create_project", "0002_seed_project", "0003_create_task"]
        first = runner.steps[0]
        assert first == evcs.MigrationStep(
            version=1, slug="create_project", name="0001_create_project",
            up_path=str(directory / "0001_create_project.up.sql"),
            down_path=str(directory / "0001_create_project.down.sql"), checksum=first.checksum)
        assert len(first.checksum) == 64

        assert runner.upgrade(2) == runner.steps[:2]
        assert runner.current() == 2
        assert [s.version for s in runner.upgrade()] == [3]
        assert runner.upgrade() == []
        assert scalar(admin, "SELECT string_agg(name, ',' ORDER BY id) FROM project") == "alpha,beta"

        history = runner.history()
        user = scalar(admin, "SELECT current_user")
        assert [(h.version, h.slug, h.applied_by) for h in history] == [
            (1, "create_project", f"{user} (alice)"),
            (2, "seed_project", f"{user} (alice)"),
            (3, "create_task", f"{user} (alice)"),
        ]
        assert history[2].checksum == runner.steps[2].checksum
        assert history[2].applied_at == scalar(
            admin, "SELECT applied_at FROM evcs_migration WHERE version = 3")
        assert history[2].applied_at.tzinfo == datetime.timezone.utc
        assert history[2].duration_ms >= 0
        runner.verify()

        assert [s.name for s in runner.downgrade("-2")] == ["0003_create_task", "0002_seed_project"]
        assert runner.current() == 1
        assert scalar(admin, "SELECT count(*) FROM project") == 0
        assert [s.name for s in runner.downgrade("base")] == ["0001_create_project"]
        assert runner.current() is None
        assert runner.history() == []
    assert runner.closed
    with pytest.raises(evcs.MisuseError, match="this migration runner is closed"):
        runner.current()


def test_concurrent_runners_apply_each_step_once(
    engine: evcs.Engine, directory: pathlib.Path, admin: psycopg.Connection  # type: ignore[type-arg]
) -> None:
    step(directory, "0001_create_log", "CREATE TABLE applied_log (step int);\n",
         "DROP TABLE applied_log;\n")
    step(directory, "0002_log_two", "INSERT INTO applied_log VALUES (2);\n",
         "DELETE FROM applied_log WHERE step = 2;\n")
    step(directory, "0003_log_three", "INSERT INTO applied_log VALUES (3);\n",
         "DELETE FROM applied_log WHERE step = 3;\n")
    applied: List[int] = []
    failures: List[BaseException] = []

    def run() -> None:
        try:
            with evcs.MigrationRunner(engine, directory) as runner:
                applied.append(len(runner.upgrade()))
        except BaseException as failure:  # reported below, on the test's thread
            failures.append(failure)

    # Both runners queue behind the lock, so they certainly overlap; then one goes first.
    admin.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    while scalar(admin, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND NOT granted") < 2:
        time.sleep(0.01)
    admin.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(applied) == [0, 3]
    assert admin.execute("SELECT step FROM applied_log ORDER BY step").fetchall() == [(2,), (3,)]
    assert scalar(admin, "SELECT count(*) FROM evcs_migration") == 3


def test_a_failing_step_leaves_the_schema_as_before(
    engine: evcs.Engine, directory: pathlib.Path, admin: psycopg.Connection  # type: ignore[type-arg]
) -> None:
    three_steps(directory)
    broken = step(directory, "0004_broken",
                  "CREATE TABLE label (id int);\n"
                  "ALTER TABLE project ADD COLUMN budget numeric;\n"
                  "CREATE INDEX project_name ON project (name);\n"
                  "INSERT INTO project VALUES (3, 'gamma');\n"
                  "UPDATE project\n"
                  "SET name = no_such_column;\n",
                  "DROP TABLE label;\n")
    runner = evcs.MigrationRunner(engine, directory)
    runner.upgrade(3)
    before = schema(admin)
    with pytest.raises(evcs.MigrationError) as raised:
        runner.upgrade()
    assert raised.value.code == "migration_error"
    assert raised.value.sqlstate == "42703"
    assert str(raised.value).startswith(
        f'{broken}:6: column "no_such_column" does not exist. The step was rolled back')
    assert schema(admin) == before
    assert scalar(admin, "SELECT count(*) FROM project") == 2
    assert runner.current() == 3
    assert [s.name for s in runner.pending()] == ["0004_broken"]


def test_verify_names_the_edited_file(engine: evcs.Engine, directory: pathlib.Path) -> None:
    three_steps(directory)
    evcs.MigrationRunner(engine, directory).upgrade()
    edited = directory / "0002_seed_project.up.sql"
    edited.write_text("INSERT INTO project VALUES (9, 'edited');\n")
    runner = evcs.MigrationRunner(engine, directory)
    with pytest.raises(evcs.MigrationError) as raised:
        runner.verify()
    assert raised.value.sqlstate is None
    assert str(raised.value).startswith(f"{edited} was edited after it was applied")
    with pytest.raises(evcs.MigrationError, match="was edited after it was applied"):
        runner.upgrade()


class StatementLog(logging.Handler):
    """The statements an echo engine logs, without their "[N params, T ms]" suffix."""

    def __init__(self) -> None:
        super().__init__()
        self.statements: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        self.statements.append(line[: line.rfind(" [")])


def offline_statements(sql: str) -> List[str]:
    """The statements of upgrade_sql text: comment lines dropped, split at ";" line ends (the
    steps of this test have no ";" inside a statement)."""
    text = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    return [statement.strip() for statement in text.split(";\n") if statement.strip()]


def test_offline_sql_equals_what_upgrade_runs(
    database_url: str, directory: pathlib.Path, admin: psycopg.Connection  # type: ignore[type-arg]
) -> None:
    three_steps(directory)
    step(directory, "0004_index_task",
         "-- evcs: transactional=false\n"
         "CREATE INDEX CONCURRENTLY task_project ON task (project_id);\n",
         "-- evcs: transactional=false\nDROP INDEX CONCURRENTLY task_project;\n")
    log = StatementLog()
    logging.getLogger("evcs.engine").addHandler(log)
    try:
        with evcs.Engine(database_url, echo=True) as engine:
            runner = evcs.MigrationRunner(engine, directory, author="o'brien")
            offline = runner.upgrade_sql()
            assert scalar(admin, "SELECT to_regclass('evcs_migration') IS NULL") is True
            assert scalar(admin, "SELECT to_regclass('project') IS NULL") is True
            assert offline.startswith("BEGIN;\nCREATE TABLE IF NOT EXISTS evcs_migration (")
            log.statements.clear()
            assert len(runner.upgrade()) == 4
            sent = list(log.statements)
            runner.close()
    finally:
        logging.getLogger("evcs.engine").removeHandler(log)
    # BEGIN travels with the first statement of a transaction instead of being logged alone.
    expected = [s for s in offline_statements(offline) if s != "BEGIN"]
    first = sent.index(expected[0])
    assert sent[first : first + len(expected)] == expected
    assert scalar(admin, "SELECT count(*) FROM evcs_migration") == 4


@pytest.fixture
def backfill(directory: pathlib.Path) -> pathlib.Path:
    step(directory, "0001_create_big",
         "CREATE TABLE big (id int PRIMARY KEY, migrated bool NOT NULL DEFAULT false);\n"
         "INSERT INTO big (id) SELECT generate_series(1, 2500);\n",
         "DROP TABLE big;\n")
    return step(directory, "0002_backfill",
                "-- evcs: batch\n"
                "UPDATE big SET migrated = true\n"
                "WHERE id IN (SELECT id FROM big WHERE NOT migrated ORDER BY id LIMIT 1000);\n",
                "UPDATE big SET migrated = false;\n")


def test_batch_progress_reaches_the_callback(
    engine: evcs.Engine, directory: pathlib.Path, backfill: pathlib.Path
) -> None:
    seen: List[evcs.BatchProgress] = []
    runner = evcs.MigrationRunner(engine, directory, on_batch=seen.append)
    assert len(runner.upgrade()) == 2
    assert seen == [
        evcs.BatchProgress(str(backfill), 1, 1000, 1000),
        evcs.BatchProgress(str(backfill), 2, 1000, 2000),
        evcs.BatchProgress(str(backfill), 3, 500, 2500),
    ]


def test_an_exception_in_the_callback_stops_the_run(
    engine: evcs.Engine, directory: pathlib.Path, backfill: pathlib.Path,
    admin: psycopg.Connection  # type: ignore[type-arg]
) -> None:
    class Stop(Exception):
        pass

    def stop_at_second_batch(progress: evcs.BatchProgress) -> None:
        if progress.batch == 2:
            raise Stop("enough")

    runner = evcs.MigrationRunner(engine, directory, on_batch=stop_at_second_batch)
    with pytest.raises(Stop, match="enough"):
        runner.upgrade()
    assert runner.current() == 1
    # The batches before the stop were committed: the step can be re-run.
    assert scalar(admin, "SELECT count(*) FROM big WHERE migrated") == 2000
    assert [s.name for s in runner.pending()] == ["0002_backfill"]
    assert [s.name for s in evcs.MigrationRunner(engine, directory).upgrade()] == ["0002_backfill"]
    assert scalar(admin, "SELECT count(*) FROM big WHERE NOT migrated") == 0


def test_progress_bar_counts_the_rows_of_a_batched_step(
    engine: evcs.Engine, directory: pathlib.Path, backfill: pathlib.Path,
    capsys: pytest.CaptureFixture[str]
) -> None:
    runner = evcs.MigrationRunner(engine, directory, progress=True)
    assert len(runner.upgrade()) == 2
    bar = capsys.readouterr().err.split("\r")[-1]
    assert bar.startswith("0002_backfill.up.sql: 2500 rows [")


def test_stamp_new_step_and_bad_targets(
    engine: evcs.Engine, directory: pathlib.Path, admin: psycopg.Connection  # type: ignore[type-arg]
) -> None:
    three_steps(directory)
    runner = evcs.MigrationRunner(engine, directory)
    runner.stamp("head")
    assert runner.current() == 3
    assert scalar(admin, "SELECT to_regclass('project') IS NULL") is True
    assert [h.duration_ms for h in runner.history()] == [0, 0, 0]
    runner.stamp(1)
    assert runner.current() == 1
    with pytest.raises(evcs.InvalidArgument):
        runner.downgrade(2)
    with pytest.raises(evcs.NotFound):
        runner.upgrade(7)
    assert runner.current() == 1

    path = evcs.MigrationRunner.new_step(directory, "Add a label table!")
    assert path == str(directory / "0004_add_a_label_table.up.sql")
    assert (directory / "0004_add_a_label_table.down.sql").read_text() == (
        "-- Reverts 0004_add_a_label_table.up.sql\n")
    with pytest.raises(evcs.InvalidArgument, match="has no letters or digits"):
        evcs.MigrationRunner.new_step(directory, "!!!")
    assert [s.version for s in evcs.MigrationRunner(engine, directory).pending()] == [2, 3, 4]


def test_a_malformed_directory_is_a_migration_error(
    engine: evcs.Engine, directory: pathlib.Path
) -> None:
    (directory / "notes.sql").write_text("SELECT 1;\n")
    with pytest.raises(evcs.MigrationError) as raised:
        evcs.MigrationRunner(engine, directory)
    assert str(raised.value).startswith(f"malformed migration file name {directory / 'notes.sql'}")
    with pytest.raises(evcs.MigrationError, match="does not exist"):
        evcs.MigrationRunner(engine, directory / "missing")


def test_the_runner_outlives_a_closed_engine(
    database_url: str, directory: pathlib.Path
) -> None:
    three_steps(directory)
    engine = evcs.Engine(database_url, echo=True)
    runner = evcs.MigrationRunner(engine, directory)
    engine.close()
    assert len(runner.upgrade()) == 3
    assert runner.current() == 3


@pytest.fixture
def restore_target(database_url: str) -> Iterator[str]:
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS evcs_py_restore_target WITH (FORCE)")
        admin.execute("CREATE DATABASE evcs_py_restore_target")
    yield psycopg.conninfo.make_conninfo(database_url, dbname="evcs_py_restore_target")
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS evcs_py_restore_target WITH (FORCE)")


def test_backup_restore_and_verify(
    database_url: str, restore_target: str, tmp_path: pathlib.Path
) -> None:
    # A new engine: the schema was just emptied, and the module's engine remembers the catalog.
    with evcs.Engine(database_url) as engine, engine.session(author="erin") as s:
        s.create_entity_type("project", {"name": "text"})
        s.commit()
        s.repository("project").create({"name": "alpha"})
        s.commit("seed")
    archive = tmp_path / "backup.dump"
    manifest = evcs.backup(database_url, archive)
    assert manifest.archive == "backup.dump"
    assert manifest.server_version_num >= 150000
    tables = {table.table: table for table in manifest.tables}
    assert tables["public.project_version"].rows == 1
    assert len(tables["public.project_version"].md5) == 32
    assert (tmp_path / "backup.dump.manifest.json").is_file()

    restored = evcs.restore(archive, restore_target)
    assert restored.tables == manifest.tables
    assert evcs.verify_restore(archive, restore_target).tables == manifest.tables
    with evcs.Engine(restore_target) as target, target.session() as s:
        assert s.scalar("SELECT name FROM project_current") == "alpha"
    with pytest.raises(evcs.InvalidArgument, match="is not empty"):
        evcs.restore(archive, restore_target)


def test_the_catalog_runner_records_the_catalog_apart_from_user_steps(
    database_url: str, directory: pathlib.Path, admin: psycopg.Connection  # type: ignore[type-arg]
) -> None:
    step(directory, "0001_create_project", "CREATE TABLE project (id int);\n",
         "DROP TABLE project;\n")
    user = scalar(admin, "SELECT current_user::text")
    # A new engine: it has not checked this database's catalog yet.
    with evcs.Engine(database_url) as engine:
        with evcs.MigrationRunner.catalog(engine, author="ops") as catalog:
            assert catalog.directory == "evcs:catalog"
            steps = catalog.steps
            assert [s.name for s in steps[:2]] == ["0001_evcs_catalog", "0002_evcs_entity_ddl"]
            assert steps[0].up_path == "evcs:catalog/0001_evcs_catalog.up.sql"
            assert catalog.current() is None
            with engine.session() as s:
                assert [b.name for b in s.branches()] == ["main"]
            assert catalog.current() == len(steps)
            history = catalog.history()
            assert [r.version for r in history] == list(range(1, len(steps) + 1))
            assert [r.checksum for r in history] == [s.checksum for s in steps]
            assert [r.applied_by for r in history] == [user] * len(steps)
            catalog.verify()
            assert catalog.pending() == []

            assert [s.version for s in catalog.downgrade("-1")] == [len(steps)]
            assert catalog.current() == len(steps) - 1
            assert [s.version for s in catalog.upgrade()] == [len(steps)]
            assert catalog.history()[-1].applied_by == f"{user} (ops)"
        with evcs.MigrationRunner(engine, directory) as mine:
            assert [s.name for s in mine.upgrade()] == ["0001_create_project"]
            assert mine.current() == 1
    assert scalar(admin, "SELECT count(*) FROM evcs_catalog_migration") == len(steps)
    assert scalar(admin, "SELECT count(*) FROM evcs_migration") == 1
