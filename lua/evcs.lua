--- evcs: versioned entities on PostgreSQL, for Lua 5.4.
--
-- A thin idiomatic layer over `evcs_native` (SWIG over the C ABI). All behaviour lives in the
-- engine; this layer translates Lua values, handles and errors, and nothing else.
-- Conventions (LuaSQL): expected database failures return `nil, err`; misuse and invalid
-- arguments raise `error(err)`. docs/lua.md has the long form.
--
-- This file only assembles the public table, so the whole API can be read in one place; each
-- topic lives in lua/evcs/<topic>.lua:
--   values, errors, handles             SQL values Lua lacks; the error object and conventions;
--                                       objects owning a native handle
--   options, params, results, records   named arguments; statement parameters; result tables;
--                                       records as JSON text
--   engine, session, transaction, async the pool, sessions, transactions, futures
--   entity_types, repository            declaring entity types; their versioned entities
--   branching, commits, merge           branches; commit history and tags; merges
--   embedded, migrations, backup        embedded server; schema migrations; backup and restore
local native = require("evcs_native")
local values = require("evcs.values")
local errors = require("evcs.errors")
local engine = require("evcs.engine")
local async = require("evcs.async")
local embedded = require("evcs.embedded")
local migrations = require("evcs.migrations")
local backup = require("evcs.backup")
-- These add their methods to the Session class of evcs.session.
local Transaction = require("evcs.transaction").Transaction
local Repository = require("evcs.repository").Repository
require("evcs.entity_types")
require("evcs.branching")
require("evcs.commits")
require("evcs.merge")

return {
  version = native.evcs_version(),

  null = values.null,
  bytes = values.bytes,
  timestamp = values.timestamp,
  json = values.json,

  is_error = errors.is_error,
  errors = errors.codes,

  engine = engine.open,
  gather = async.gather,
  embedded = embedded.start,

  migration_runner = migrations.migration_runner,
  catalog_migration_runner = migrations.catalog_migration_runner,
  new_migration_step = migrations.new_migration_step,
  autogenerate = migrations.autogenerate,

  backup = backup.backup,
  restore = backup.restore,
  verify_restore = backup.verify_restore,

  -- The classes behind the objects, for introspection (the parity test checks their methods).
  classes = {
    Engine = engine.Engine,
    Session = require("evcs.session").Session,
    Transaction = Transaction,
    Future = async.Future,
    Embedded = embedded.Embedded,
    Repository = Repository,
    MigrationRunner = migrations.MigrationRunner,
  },
}
