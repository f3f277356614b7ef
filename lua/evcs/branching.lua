--- evcs.branching: creating branches (reading through to their parent without copies),
-- listing, locking and archiving them, and the diff between two branches (Session methods;
-- docs/versioning.md). Merging branches has its own module, evcs.merge.
local native = require("evcs_native")
local errors = require("evcs.errors")
local records = require("evcs.records")
local values = require("evcs.values")
local Session = require("evcs.session").Session

local status_call = errors.status_call
local check_keys = require("evcs.options").check_keys
local json_call = records.json_call
local instant = values.instant

local branch_keys = { from = true, mode = true, as_of = true }

--- A new branch reading through to `options.from` (default "main") without copies;
--- `options.mode` "snapshot" (default) or "live"; `options.as_of` (UTC micros or
--- evcs.timestamp) puts a snapshot branch's fork point at that past instant. true, or nil, err.
function Session:create_branch(name, options)
  options = check_keys("create_branch", options, branch_keys)
  return status_call(native.evcs_session_create_branch_as_of, self.handle, name, options.from,
                     options.mode, instant(options.as_of, "as_of"))
end

--- An array of { name, parent, mode, fork_stamp, status, created_at, created_by, head, base,
--- base_stamp } (timestamps in UTC microseconds; parent, fork_stamp, base and base_stamp nil
--- for main). head: the branch's last commit (or the one it was forked from); base: the merge
--- base with its parent (the fork point, or the last merge in either direction).
function Session:branches() return json_call(native.evcs_session_branches, self.handle) end

--- A locked branch rejects writes (branch_locked); reads still work. true, or nil, err.
function Session:lock_branch(name)
  return status_call(native.evcs_session_lock_branch, self.handle, name)
end
function Session:unlock_branch(name)
  return status_call(native.evcs_session_unlock_branch, self.handle, name)
end
--- An archived branch stays read-only for good.
function Session:archive_branch(name)
  return status_call(native.evcs_session_archive_branch, self.handle, name)
end

--- Every entity that differs between `source` and `target` (default "main") at `as_of`
--- (default now): an array of { entity_type, head_id, kind, fields = { name = { old, new } } }.
function Session:diff(source, target, as_of)
  return json_call(native.evcs_session_diff, self.handle, source, target, instant(as_of, "as_of"))
end
