--- evcs.migrations: versioned schema migrations (docs/migrations.md): the MigrationRunner class
-- over a directory of steps or over the SDK's own catalog, new empty steps, and steps generated
-- from a declared schema. Apart from the session topics because a migration run is driven from
-- outside any session, by files on disk.
--
-- Steps are tables { version, slug, name, up_path, down_path, checksum }; applied records
-- { version, slug, checksum, applied_at (UTC micros), duration_ms, applied_by }.
local native = require("evcs_native")
local errors = require("evcs.errors")
local handles = require("evcs.handles")
local records = require("evcs.records")

local OK = native.EVCS_OK
local failure, invalid_argument, checked = errors.failure, errors.invalid_argument, errors.checked
local status_call = errors.status_call
local check_keys = require("evcs.options").check_keys
local json_call = records.json_call

-- Calls `call(...)` (a native call returning a status and allocated text) and returns the text.
local function text_call(call, ...)
  local status, text = call(...)
  if status ~= OK then return failure(status) end
  return text
end

local migrations = {}

-- Closing releases the runner (and its hold on the engine).
local MigrationRunner = handles.class("evcs.migration_runner", native.evcs_migration_runner_free)
migrations.MigrationRunner = MigrationRunner

local migration_runner_keys = { author = true, on_batch = true }

-- The runner over what `open(options)` opened: status, handle.
local function open_migration_runner(name, options, open)
  options = check_keys(name, options, migration_runner_keys)
  local status, runner_handle = open(options)
  if status ~= OK then return failure(status) end
  local runner = setmetatable({ handle = runner_handle }, MigrationRunner)
  runner:set_on_batch(options.on_batch)
  return runner
end

--- A runner for the steps of `directory` on `engine`'s database, or nil, err (migration_error
--- naming the file when the directory is malformed). `options`: { author = nil, on_batch = nil };
--- on_batch(file, batch, rows, total_rows) is called after every batch of a batched step, and
--- an error it raises stops the run (the committed batches stay, the step stays pending).
--- The runner keeps the engine alive until it is closed.
function migrations.migration_runner(engine, directory, options)
  return open_migration_runner("migration_runner", options, function(opened)
    return native.evcs_migration_runner_open(engine and engine.handle, directory, opened.author)
  end)
end

--- The SDK's own catalog as a runner (same methods and options): its steps are compiled into
--- the engine, recorded in evcs_catalog_migration apart from the user's evcs_migration, and
--- every engine applies the pending ones on first use. runner:current() is the catalog's
--- version; runner:directory() is "evcs:catalog".
function migrations.catalog_migration_runner(engine, options)
  return open_migration_runner("catalog_migration_runner", options, function(opened)
    return native.evcs_migration_runner_open_catalog(engine and engine.handle, opened.author)
  end)
end

--- Sets (or, with nil, removes) the batch progress function of later upgrades and downgrades.
function MigrationRunner:set_on_batch(on_batch)
  if on_batch ~= nil and type(on_batch) ~= "function" then
    invalid_argument("set_on_batch: on_batch must be a function or nil")
  end
  self.on_batch = on_batch
end

function MigrationRunner:directory() return checked(native.evcs_migration_runner_directory(self.handle)) end

--- Every step of the directory, in order.
function MigrationRunner:steps() return json_call(native.evcs_migration_runner_steps, self.handle) end

-- A target as text: versions may be given as integers.
local function target_text(target)
  if target == nil or type(target) == "string" then return target end
  local version = math.tointeger(target)
  if version == nil then invalid_argument("a migration target is \"head\", \"base\", a version or \"+N\"/\"-N\"") end
  return tostring(version)
end

--- Applies the steps up to `target` ("head" when nil, a version, "+N"); the steps applied, or
--- nil, err.
function MigrationRunner:upgrade(target)
  return json_call(native.migration_run, self.handle, "upgrade", target_text(target), self.on_batch)
end

--- Reverts applied steps, newest first, down to `target` ("base", a version, "-N"); the steps
--- reverted, or nil, err.
function MigrationRunner:downgrade(target)
  return json_call(native.migration_run, self.handle, "downgrade", target_text(target), self.on_batch)
end

--- Offline mode: exactly the SQL upgrade(target) would run now (nothing changes), or nil, err.
function MigrationRunner:upgrade_sql(target)
  return text_call(native.evcs_migration_runner_upgrade_sql, self.handle, target_text(target))
end

--- Offline mode for downgrade(target).
function MigrationRunner:downgrade_sql(target)
  return text_call(native.evcs_migration_runner_downgrade_sql, self.handle, target_text(target))
end

--- The newest applied version; 0 at base (nothing applied). nil, err on failure.
function MigrationRunner:current()
  local status, version = native.evcs_migration_runner_current(self.handle)
  if status ~= OK then return failure(status) end
  return version
end

--- Applied records, oldest first.
function MigrationRunner:history() return json_call(native.evcs_migration_runner_history, self.handle) end

--- Steps not applied yet, in order.
function MigrationRunner:pending() return json_call(native.evcs_migration_runner_pending, self.handle) end

--- true, or nil, err (migration_error naming the applied file that was edited or removed).
function MigrationRunner:verify() return status_call(native.evcs_migration_runner_verify, self.handle) end

--- Records `target` ("head", "base", a version) as current without running a step.
function MigrationRunner:stamp(target)
  return status_call(native.evcs_migration_runner_stamp, self.handle, target_text(target))
end

--- Writes the next-numbered empty pair for `message` into `directory` (created if missing);
--- the path of the up file, or nil, err.
function migrations.new_migration_step(directory, message)
  return text_call(native.evcs_migration_new_step, directory, message)
end

-- Autogenerate writes the next step from the difference between a declared schema and the
-- database, so it belongs with the steps it writes.
local autogenerate_keys = { schema = true, document = true, dir = true }

--- Compares the declared schema file options.schema (JSON; docs/migrations.md, "Autogenerate")
--- with `engine`'s database and writes the next-numbered up/down pair for `message` into
--- options.dir (default "migrations"). Instead of a file, options.document may give the same
--- JSON document as text. Returns { changes = {...}, warnings = {...}, up_sql, down_sql,
--- up_path, down_path }: no changes and nil paths when the database already matches (nothing
--- written); or nil, err (migration_error while steps of the directory are not applied). A bad
--- schema raises invalid_argument naming the file (or "schema") and the JSON path.
function migrations.autogenerate(engine, message, options)
  options = check_keys("autogenerate", options, autogenerate_keys)
  if type(options.document) == "string" and options.schema == nil then
    return json_call(native.evcs_migration_autogenerate_text, engine and engine.handle, message,
                     options.document, options.dir)
  end
  if type(options.schema) ~= "string" or options.document ~= nil then
    invalid_argument("autogenerate needs either options.schema, the path of the schema file, "
                     .. "or options.document, the schema as JSON text")
  end
  return json_call(native.evcs_migration_autogenerate, engine and engine.handle, message,
                   options.schema, options.dir)
end

return migrations
