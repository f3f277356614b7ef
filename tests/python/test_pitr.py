"""Point-in-time recovery (docs/backup.md) with the real PostgreSQL 15 binaries.

A throwaway primary archives its WAL into a directory; a base backup is taken with
pg_basebackup; versions are written through evcs; the instant T and the as-of-T state are
remembered; more versions are written; the primary is stopped (the loss). The base backup is
restored into a new data directory and recovered with restore_command and
recovery_target_time = T. The recovered database must show exactly the state evcs showed as of
T, and nothing written after T.

The clusters are this module's own (temp directories under /tmp, Unix sockets only); every
server it started is stopped when the test ends, whatever happened.
"""

from __future__ import annotations

import datetime
import decimal
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
from typing import Dict, Iterator, List, Optional

import psycopg
import pytest

import evcs

PG_BIN = pathlib.Path("/usr/lib/postgresql/15/bin")
#: Seconds pg_ctl waits for a start or a stop, and this module for recovery and archiving.
SERVER_TIMEOUT = 120


def as_owner(argv: List[str]) -> List[str]:
    """initdb and the server refuse to run as root: as root, run them as `postgres`."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def give_to_owner(path: pathlib.Path) -> None:
    """Hands files this (root) process created to the cluster owner."""
    if os.geteuid() != 0:
        return
    owner = pathlib.Path("/var/lib/postgresql")  # the postgres user's home, owned by it
    uid, gid = owner.stat().st_uid, owner.stat().st_gid
    os.chown(path, uid, gid)
    if path.is_dir():
        for root, directories, files in os.walk(path):
            for name in directories + files:
                os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def run(argv: List[str]) -> str:
    completed = subprocess.run(argv, capture_output=True, text=True, cwd="/")
    if completed.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({completed.returncode}):\n{completed.stderr}")
    return completed.stdout


class Cluster:
    """One PostgreSQL data directory with its socket directory and log."""

    def __init__(self, root: pathlib.Path, name: str) -> None:
        self.socket_dir = root / name
        self.socket_dir.mkdir()
        give_to_owner(self.socket_dir)
        self.data = self.socket_dir / "data"
        self.log = self.socket_dir / "server.log"
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql:///postgres?host={self.socket_dir}&user=postgres"

    def initdb(self) -> None:
        run(as_owner([str(PG_BIN / "initdb"), "-D", str(self.data), "--no-sync", "-A", "trust",
                      "-U", "postgres", "-E", "UTF8", "--locale=C"]))

    def start(self, settings: Dict[str, str]) -> None:
        options = " ".join([f"-k {self.socket_dir}", "-c listen_addresses=''"] +
                           [f"-c {name}={value}" for name, value in settings.items()])
        self.running = True  # from here on the server may exist: stop() must be tried
        run(as_owner([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                      "-t", str(SERVER_TIMEOUT), "-o", options, "start"]))

    def stop(self) -> None:
        """Stops the server if it runs: a fast shutdown, else an immediate one."""
        if not self.running:
            return
        for mode in ("fast", "immediate"):
            if not self.is_running():
                break
            subprocess.run(as_owner([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t",
                                     str(SERVER_TIMEOUT), "-m", mode, "stop"]),
                           capture_output=True, cwd="/")
        self.running = self.is_running()

    def is_running(self) -> bool:
        status = subprocess.run(as_owner([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"]),
                                capture_output=True, cwd="/")
        return status.returncode == 0

    def scalar(self, sql: str) -> object:
        with psycopg.connect(self.url, autocommit=True) as connection:
            row = connection.execute(sql).fetchone()
        assert row is not None
        return row[0]


class Workspace:
    """A short temp dir (socket paths stay under 108 bytes) for clusters, archive and backup."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        self.clusters: List[Cluster] = []

    def directory(self, name: str) -> pathlib.Path:
        path = self.root / name
        path.mkdir()
        give_to_owner(path)
        return path

    def cluster(self, name: str) -> Cluster:
        cluster = Cluster(self.root, name)
        self.clusters.append(cluster)
        return cluster


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    """Every server started in the workspace is stopped at the end, then it is removed."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="evcs-pitr-", dir="/tmp"))
    give_to_owner(root)
    space = Workspace(root)
    try:
        yield space
    finally:
        for cluster in space.clusters:
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
        still_running = [cluster.data for cluster in space.clusters if cluster.running]
        assert not still_running, f"servers that would not stop: {still_running}"


def wait_for(condition_sql: str, cluster: Cluster, what: str) -> None:
    """Polls until `condition_sql` is true on the cluster (at most SERVER_TIMEOUT seconds)."""
    deadline = time.monotonic() + SERVER_TIMEOUT
    while cluster.scalar(f"SELECT {condition_sql}") is not True:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {SERVER_TIMEOUT} s; "
                                 f"server log:\n{cluster.log.read_text()}")
        time.sleep(0.05)


def state(repo: evcs.Repository, as_of: Optional[datetime.datetime] = None) -> List[evcs.Version]:
    return list(repo.find(order_by="name", as_of=as_of))


def test_recovery_to_an_instant_restores_exactly_the_versions_visible_then(
    workspace: Workspace,
) -> None:
    archive = workspace.directory("archive")
    primary = workspace.cluster("primary")
    primary.initdb()
    primary.start({
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": f"'test ! -f {archive}/%f && cp %p {archive}/%f'",
        "fsync": "off",
    })

    # 1. The base backup, taken before any evcs data exists.
    base = workspace.root / "base"
    run(as_owner([str(PG_BIN / "pg_basebackup"), "-h", str(primary.socket_dir), "-U", "postgres",
                  "-D", str(base), "-c", "fast", "-X", "stream", "--no-sync"]))

    # 2. Versioned data, then the instant T and what evcs shows as of T.
    with evcs.Engine(primary.url) as engine:
        with engine.session(author="planner") as s:
            s.create_entity_type("work_package", {"name": "text not null",
                                                  "budget": "numeric(14,2)", "tags": "text[]"})
            repo = s.repository("work_package")
            design = repo.create({"name": "design", "budget": decimal.Decimal("1200.00")}).head_id
            build = repo.create({"name": "build", "budget": decimal.Decimal("8000.00")}).head_id
            s.commit("plan")
            repo.update(design, {"budget": decimal.Decimal("1350.50"), "tags": ["approved"]})
            s.commit("design change order")
            at_t = s.scalar("SELECT clock_timestamp()")
            assert isinstance(at_t, datetime.datetime)
            visible_at_t = state(repo, as_of=at_t)
            commits_at_t = s.scalar("SELECT count(*) FROM evcs_commit")

        # 3. Work after T: an update, a delete and a new entity.
        with engine.session(author="planner") as s:
            repo = s.repository("work_package")
            repo.update(build, {"budget": decimal.Decimal("9100.00")})
            repo.delete(design)
            late = repo.create({"name": "late", "budget": decimal.Decimal("1.00")}).head_id
            s.commit("after T")
            assert state(repo) != visible_at_t, "the later work changed the current state"
            assert [v["name"] for v in visible_at_t] == ["build", "design"]
            assert visible_at_t[1]["budget"] == decimal.Decimal("1350.50")
            segment = s.scalar("SELECT pg_walfile_name(pg_switch_wal())")
    assert isinstance(segment, str)
    # The segment holding the work after T must reach the archive before the loss.
    wait_for(f"coalesce((SELECT last_archived_wal >= '{segment}' FROM pg_stat_archiver), false)",
             primary, f"archiving of WAL segment {segment}")
    assert (archive / segment).is_file()

    # 4. The loss: the primary is gone; only the base backup and the WAL archive remain.
    primary.stop()
    assert not primary.running

    # 5. Recovery into a new data directory, up to T.
    restored = workspace.cluster("restored")
    shutil.copytree(base, restored.data, symlinks=True)
    os.chmod(restored.data, 0o700)
    with open(restored.data / "postgresql.auto.conf", "a") as settings:
        settings.write(f"restore_command = 'cp {archive}/%f %p'\n"
                       f"recovery_target_time = '{at_t.isoformat()}'\n"
                       "recovery_target_action = 'promote'\n")
    (restored.data / "recovery.signal").touch()
    give_to_owner(restored.data)
    restored.start({"archive_mode": "off", "fsync": "off"})
    wait_for("NOT pg_is_in_recovery()", restored, "promotion at the recovery target")
    assert "recovery stopping before commit of transaction" in restored.log.read_text()

    # 6. evcs on the recovered database: the state as of T, and nothing after it.
    with evcs.Engine(restored.url) as engine, engine.session() as s:
        repo = s.repository("work_package")
        assert state(repo, as_of=at_t) == visible_at_t
        assert state(repo) == visible_at_t, "nothing written after T survived recovery"
        assert repo.get(late) is None
        assert list(repo.history(late)) == []
        assert [v.version for v in repo.history(build)] == [1]
        assert [v.version for v in repo.history(design)] == [1, 2]
        assert s.scalar("SELECT count(*) FROM evcs_commit") == commits_at_t
        newest = s.scalar("SELECT max(valid_from) FROM work_package_version")
        assert isinstance(newest, datetime.datetime) and newest < at_t
