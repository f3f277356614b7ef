--- evcs.commits: the commit history every write leaves (Session methods): the log, one commit,
-- tags naming commits, and the diff between two points of history. Apart from branching and
-- merge because these read history whichever branch or merge wrote it.
local native = require("evcs_native")
local errors = require("evcs.errors")
local records = require("evcs.records")
local values = require("evcs.values")
local Session = require("evcs.session").Session

local invalid_argument, status_call = errors.invalid_argument, errors.status_call
local check_keys = require("evcs.options").check_keys
local encode, json_call = records.encode, records.json_call
local instant = values.instant

--- The commit log, newest first: an array of { id = (40 hex digits), parents = {...}, stamp =
--- micros, branch =, author =, message =, changes =, merged_from = (nil unless a merge) }, or
--- nil, err. `options`:
--- branch, entity_type, head_id (with entity_type: the commits that wrote that entity), limit.
function Session:commit_log(options)
  if options ~= nil and type(options) ~= "table" then
    invalid_argument("commit_log options must be a table")
  end
  local encoded = (options == nil or next(options) == nil) and nil or encode(options)
  return json_call(native.evcs_session_commit_log, self.handle, encoded)
end

--- The commit `ref` names (an id, a unique prefix of at least four hex digits, a tag or a
--- branch: its head): { id =, parents = {...}, stamp =, branch =, author =, message =,
--- changes =, merged_from = }, or nil, err (not_found).
function Session:commit_info(ref)
  return json_call(native.evcs_session_commit_info, self.handle, ref)
end

local tag_keys = { commit = true, message = true }

--- Names a commit: `options.commit` (a ref; default the head of the session's branch),
--- `options.message`. Lands with the session's commit. Returns { name =, commit =, message =,
--- created_at =, created_by = }; a tag that exists raises invalid_argument.
function Session:tag(name, options)
  options = check_keys("tag", options, tag_keys)
  return json_call(native.evcs_session_tag, self.handle, name, options.commit, options.message)
end

--- Every tag, by name.
function Session:tags() return json_call(native.evcs_session_tags, self.handle) end

--- Deletes a tag (lands with the session's commit). true, or nil, err (not_found).
function Session:delete_tag(name)
  return status_call(native.evcs_session_delete_tag, self.handle, name)
end

-- A point in history as JSON text: a string is a commit ref, a number an instant.
local function history_point(value, what)
  if type(value) == "string" then return encode(value) end
  local micros = value ~= nil and instant(value, what) or nil
  if micros == nil then
    invalid_argument(what .. " must be a commit (a string) or an instant (integer UTC microseconds)")
  end
  return tostring(micros)
end

local diff_history_keys = { branch = true }

--- The entities that differ between two states of history, as diff's entries ("old" at `from`,
--- "new" at `to`). `from`, `to`: a commit ref (a string) or an instant (UTC micros or
--- evcs.timestamp) of `options.branch` (default the session's branch).
function Session:diff_history(from, to, options)
  options = check_keys("diff_history", options, diff_history_keys)
  return json_call(native.evcs_session_diff_history, self.handle, history_point(from, "from"),
                   history_point(to, "to"), options.branch)
end
