--- evcs.merge: three-way merges between branches, in one step or staged (start, resolve,
-- continue, abort), and the commits that apply or undo another commit's changes (revert_commit,
-- cherry_pick) (Session methods; docs/versioning.md). They share one set of options and one
-- result shape, which is why they live together and apart from branching.
local native = require("evcs_native")
local errors = require("evcs.errors")
local records = require("evcs.records")
local Session = require("evcs.session").Session

local invalid_argument, status_call = errors.invalid_argument, errors.status_call
local check_keys = require("evcs.options").check_keys
local encode, json_call = records.encode, records.json_call

local merge_keys = { into = true, strategy = true, message = true, resolutions = true }

-- An array of conflict resolutions (checked to be a table; the engine checks each one).
local function resolution_list(resolutions)
  if type(resolutions) ~= "table" then
    invalid_argument("resolutions must be an array of { entity_type =, head_id =, field =, take =, value = } tables")
  end
  return resolutions
end

local function resolutions_json(resolutions)
  if next(resolution_list(resolutions)) == nil then return "[]" end
  return encode(resolutions)
end

-- Merge (revert, cherry-pick) options as JSON text, nil for none; the engine checks the values.
local function merge_options(what, options)
  if options ~= nil and type(options) ~= "table" then invalid_argument(what .. " options must be a table") end
  check_keys(what, options, merge_keys)
  if options == nil or next(options) == nil then return nil end
  local given = {}
  for key, value in pairs(options) do given[key] = value end
  if given.resolutions ~= nil then resolution_list(given.resolutions) end
  return encode(given)
end

-- The Session method `name(source, options)` that calls `call` with merge's options as JSON
-- text: merge, merge_preview, merge_start, revert_commit and cherry_pick differ in nothing else.
local function merge_method(name, call)
  return function(self, source, options)
    return json_call(call, self.handle, source, merge_options(name, options))
  end
end

--- A three-way merge of `source`'s head into `options.into` (default its parent; any branch
--- sharing history with it: a parent into its branch, between siblings), committed as one
--- transaction with `options.message` (default "merge <source>"). The base is the merge base
--- of the two heads. `options.resolutions` settles conflicts one by one: an array of
--- { entity_type =, head_id =, field =, take = "ours" | "theirs" | "value", value = } (field
--- "deleted" with "ours"/"theirs" for delete-versus-modify; value = evcs.null for NULL); a
--- resolution that meets no conflict raises invalid_argument. `options.strategy` "fail"
--- (default), "theirs" or "ours" settles the rest, but never a violation: a conflict whose
--- `kind` is "reference", "referenced", "unique" or "check" (the merged entity breaks that
--- rule; `constraint`, `other_type`, `other_head_id` say which and with whom) is settled by a
--- resolution naming the entity and any of its fields, or "deleted" ("ours": do not bring it).
--- Returns { changes = {...}, conflicts = {...}
--- (each with `resolution` when settled), stamp = micros, target =, source_commit =,
--- base_commit =, commit = (nil when there was nothing to merge), unresolved = n }, or nil,
--- err; a merge_conflict error carries the unsettled conflicts in err.conflicts (and as JSON
--- text in err.detail).
Session.merge = merge_method("merge", native.evcs_session_merge_with_options)

--- What merge with the same options would write and the conflicts, writing nothing (stamp and
--- commit nil).
Session.merge_preview = merge_method("merge_preview",
                                     native.evcs_session_merge_preview_with_options)

--- Starts a staged merge of `source` (options as merge's; one per target branch): it is
--- pinned to the source's head and writes no version. Returns the merge result with its
--- conflicts (commit nil). Settle them with merge_resolve, then merge_continue, or merge_abort.
Session.merge_start = merge_method("merge_start", native.evcs_session_merge_start)

--- The staged merge into `target` (default the session's branch) planned again against the
--- target now; nil, err (not_found) when none is in progress.
function Session:merge_status(target)
  return json_call(native.evcs_session_merge_status, self.handle, target)
end

--- Adds resolutions (an array as merge's options.resolutions) to the staged merge into
--- `target` (default the session's branch); a later one for a conflict replaces the earlier.
--- Returns the merge result as merge_status does.
function Session:merge_resolve(resolutions, target)
  return json_call(native.evcs_session_merge_resolve, self.handle, resolutions_json(resolutions),
                   target)
end

--- Commits the staged merge into `target` (default the session's branch) with `message`
--- (default the one given at start); nil, err (merge_conflict) while conflicts are unsettled.
function Session:merge_continue(target, message)
  return json_call(native.evcs_session_merge_continue, self.handle, target, message)
end

--- Forgets the staged merge into `target` (default the session's branch); it lands with the
--- session's commit. true, or nil, err (not_found when none is in progress).
function Session:merge_abort(target)
  return status_call(native.evcs_session_merge_abort, self.handle, target)
end

--- The merge base of two commits (refs) as commit_info returns it; nil (without an error) when
--- they share no commit.
function Session:merge_base(first, second)
  return json_call(native.evcs_session_merge_base, self.handle, first, second)
end

--- A new commit on `options.into` (default the session's branch) undoing commit `ref` field by
--- field (of a merge: relative to its first parent); options and result as merge's.
Session.revert_commit = merge_method("revert_commit", native.evcs_session_revert_commit)

--- A new commit on `options.into` (default the session's branch) applying commit `ref`'s
--- changes field by field; options and result as merge's.
Session.cherry_pick = merge_method("cherry_pick", native.evcs_session_cherry_pick)
