"""evcs — versioned entities on PostgreSQL (Python surface over the evcs C ABI).

Quick start::

    import evcs
    with evcs.Engine() as engine, engine.session() as s:
        s.execute("create table t (id int primary key, name text)")
        s.execute("insert into t values ($1, $2)", (1, "one"))

Thread/task contract: an Engine is thread-safe; a Session (or AsyncSession) belongs to one
thread (or task) at a time, and concurrent use raises MisuseError. See docs/python.md.
"""

from . import _native
from .errors import (
    BranchLocked,
    ConcurrentModification,
    Conflict,
    ConnectionLost,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InvalidArgument,
    MergeConflict,
    MigrationError,
    MisuseError,
    NotFound,
    OperationalError,
    PoolTimeout,
    ProgrammingError,
    SerializationFailure,
)
from .aio import AsyncRepository, AsyncSession, AsyncTransaction
from .autogenerate import AutogenerateResult, autogenerate
from .branching import (
    Branch,
    Commit,
    ConflictList,
    MergeConflictInfo,
    MergeResult,
    Resolution,
    Tag,
)
from .engine import EmbeddedServer, Engine, PoolStatus, embedded
from .repository import (
    CreatedEntities,
    UpdatedEntities,
    HistoryPoint,
    Reference,
    Repository,
    Version,
    VersionList,
)
from .model import (
    AsyncModelRepository,
    Model,
    ModelList,
    ModelRepository,
    OnDelete,
    Ref,
    autogenerate_models,
    field,
    meta,
    schema_document,
)
from .migrations import AppliedMigration, BatchProgress, MigrationRunner, MigrationStep
from .backup import BackupManifest, TableChecksum, backup, restore, verify_restore
from .result import Result, Row
from .session import Params, Session, Transaction

__version__: str = _native.version()

__all__ = [
    "__version__",
    "Engine",
    "PoolStatus",
    "Session",
    "Transaction",
    "AsyncRepository",
    "AsyncSession",
    "AsyncTransaction",
    "Result",
    "Row",
    "Params",
    "Repository",
    "Version",
    "VersionList",
    "CreatedEntities",
    "UpdatedEntities",
    "HistoryPoint",
    "Branch",
    "Commit",
    "Tag",
    "MergeResult",
    "MergeConflictInfo",
    "ConflictList",
    "Reference",
    "Resolution",
    "AutogenerateResult",
    "autogenerate",
    "Model",
    "Ref",
    "OnDelete",
    "field",
    "meta",
    "ModelList",
    "ModelRepository",
    "AsyncModelRepository",
    "schema_document",
    "autogenerate_models",
    "MigrationRunner",
    "MigrationStep",
    "AppliedMigration",
    "BatchProgress",
    "BackupManifest",
    "TableChecksum",
    "backup",
    "restore",
    "verify_restore",
    "EmbeddedServer",
    "embedded",
    "Error",
    "NotFound",
    "Conflict",
    "MergeConflict",
    "ConcurrentModification",
    "BranchLocked",
    "IntegrityError",
    "InvalidArgument",
    "PoolTimeout",
    "ConnectionLost",
    "SerializationFailure",
    "MigrationError",
    "MisuseError",
    "DatabaseError",
    "OperationalError",
    "ProgrammingError",
    "DataError",
    "InterfaceError",
]
