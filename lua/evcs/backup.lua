--- evcs.backup: dumping a database and restoring it with verification (docs/backup.md). These
-- work on database URLs, not on an engine or a session, so they form a topic of their own.
-- A manifest is { archive, server_version_num, tables = { { table, rows, md5 }, ... } }.
local native = require("evcs_native")
local json_call = require("evcs.records").json_call

local backup = {}

--- Dumps the database at `url` into `archive` and writes its manifest; the manifest or nil, err.
function backup.backup(url, archive) return json_call(native.evcs_database_backup, url, archive) end

--- Restores `archive` into the empty database at `target_url` and verifies it.
function backup.restore(archive, target_url)
  return json_call(native.evcs_database_restore, archive, target_url)
end

--- Checks the database at `target_url` against the manifest of `archive`.
function backup.verify_restore(archive, target_url)
  return json_call(native.evcs_database_verify_restore, archive, target_url)
end

return backup
