--- evcs.repository: one entity type's versioned entities (the Repository class): writing
-- versions, reading them as of an instant, a commit or a range, finding and counting, and the
-- related records a find loads (docs/versioning.md, docs/relations.md). The largest topic of the
-- layer, kept apart from the session so that the session's core stays short.
local native = require("evcs_native")
local errors = require("evcs.errors")
local handles = require("evcs.handles")
local records = require("evcs.records")
local results = require("evcs.results")
local values = require("evcs.values")
local Session = require("evcs.session").Session

local OK = native.EVCS_OK
local failure, invalid_argument = errors.failure, errors.invalid_argument
local check_keys = require("evcs.options").check_keys
local encode, encode_object, json_call = records.encode, records.encode_object, records.json_call
local non_finite_text = records.non_finite_text
local instant = values.instant

-- The repositories of related types a find opened (Repository:related_repository) close with
-- the one that opened them.
local function close_related(repository)
  for _, related in pairs(repository.related or {}) do related:close() end
  repository.related = nil
end

-- r:close() releases the repository (the session stays open) and the related ones it opened.
local Repository = handles.class("evcs.repository", native.evcs_repository_free, close_related)

-- A version record as a table; valid_from is nil while the version is pending. Passes a
-- failure's nil, err through.
local function version_table(record, err)
  if record == nil then return nil, err end
  if record.valid_from == math.maxinteger then record.valid_from = nil end
  return record
end

-- A non-negative integer, or -1 for none (the C ABI's convention for optional versions).
local function optional_version(value, what)
  if value == nil then return -1 end
  local number = math.tointeger(value)
  if number == nil or number < 0 then invalid_argument(what .. " must be a non-negative integer") end
  return number
end

--- The repository of one entity type on this session's branch and transaction, or nil, err
--- (not_found for an unknown type).
function Session:repository(entity_type)
  local status, repository_handle = native.evcs_session_repository(self.handle, entity_type)
  if status ~= OK then return failure(status) end
  local repository = setmetatable({ handle = repository_handle, entity_type = entity_type,
                                    session = self, double_fields = {} }, Repository)
  local fields, err = repository:fields()
  if fields == nil then
    repository:close()
    return nil, err
  end
  for _, field in ipairs(fields) do
    if field.value_type == native.EVCS_TYPE_DOUBLE then
      repository.double_fields[#repository.double_fields + 1] = field.name
    end
  end
  return repository
end

-- A version record as version_table makes it, with the NaN and infinities of double fields
-- (JSON carries them as text) as numbers again.
function Repository:version(record, err)
  if record ~= nil and type(record.fields) == "table" then
    for _, name in ipairs(self.double_fields) do
      local number = non_finite_text[record.fields[name]]
      if number ~= nil then record.fields[name] = number end
    end
  end
  return version_table(record, err)
end

-- The repository of a type a find with include loaded, opened once in the same session (its
-- Repository:version decodes the related records).
function Repository:related_repository(entity_type)
  self.related = self.related or {}
  if self.related[entity_type] == nil then
    local related, err = self.session:repository(entity_type)
    if related == nil then return nil, err end
    self.related[entity_type] = related
  end
  return self.related[entity_type]
end

-- A page { versions = {...}, cursor = text or nil, relations = {name = {entity_type, to_one}}? }
-- as the array of its versions (each through Repository:version) with a `cursor` field; each
-- version's `included[name]` is the related version (or nil) of a many-to-one relation, the
-- array of them of a one-to-many one. Passes nil, err through.
local function version_page(repository, page, err)
  if page == nil then return nil, err end
  local records = page.versions
  for _, record in ipairs(records) do repository:version(record) end
  for name, relation in pairs(page.relations or {}) do
    local related, related_err = repository:related_repository(relation.entity_type)
    if related == nil then return nil, related_err end
    for _, record in ipairs(records) do
      local versions = record.included[name]
      for _, version in ipairs(versions) do related:version(version) end
      if relation.to_one then record.included[name] = versions[1] end
    end
  end
  records.cursor = page.cursor
  return records
end

--- The entity's fields in column order: an array of { name =, type = (the declared PostgreSQL
--- type), value_type = (the evcs_native.EVCS_TYPE_* kind of its values) }; a reference field
--- also has references = (the entity type it refers to) and on_delete =.
function Repository:fields()
  return json_call(native.evcs_repository_fields, self.handle)
end

--- A new entity (version 1 on the session's branch); `head_id` nil: a new uuid. The version
--- table, or nil, err.
function Repository:create(values, head_id)
  return self:version(json_call(native.evcs_repository_create, self.handle,
                                 encode_object(values, "values"), head_id))
end

-- The JSON array of a bulk write's rows (an array of values tables).
local function rows_json(rows)
  if type(rows) ~= "table" then invalid_argument("rows must be an array of values tables") end
  local encoded = {}
  for index, row in ipairs(rows) do encoded[index] = encode_object(row, "row " .. (index - 1)) end
  return "[" .. table.concat(encoded, ",") .. "]"
end

--- Many new entities at once (COPY): `rows` is an array of values tables, each optionally with
--- head_id. Outside a begin() block this commits them with `message` (optional) as one commit;
--- inside one it joins it. { head_ids = {...} (in row order), branch =, version = 1,
--- valid_from = (nil while pending), author = }, or nil, err.
function Repository:create_many(rows, message)
  return self:version(json_call(native.evcs_repository_create_many, self.handle,
                                 rows_json(rows), message))
end

--- Many entities updated at once: `rows` is an array of values tables, each with head_id and
--- the fields to change (merged over the current version). Outside a begin() block this is one
--- commit with `message` (optional), written with one UPDATE and one COPY (rows that change
--- nothing write nothing); inside one it joins it. { head_ids = {...}, versions = {...} (each
--- entity's version now, in row order), branch =, valid_from = (nil while pending or when
--- nothing changed), author = }, or nil, err (not_found for an entity the branch does not show).
function Repository:update_many(rows, message)
  return self:version(json_call(native.evcs_repository_update_many, self.handle,
                                 rows_json(rows), message))
end

--- A new version with `values` merged over the current ones; `expected_version` (optional)
--- gives optimistic concurrency (nil, err with err.code "concurrent_modification").
function Repository:update(head_id, values, expected_version)
  return self:version(json_call(native.evcs_repository_update, self.handle, head_id,
                                 encode_object(values, "values"),
                                 optional_version(expected_version, "expected_version")))
end

--- A tombstone version.
function Repository:delete(head_id)
  return self:version(json_call(native.evcs_repository_delete, self.handle, head_id))
end

--- A new live version with the last live content.
function Repository:restore(head_id)
  return self:version(json_call(native.evcs_repository_restore, self.handle, head_id))
end

local revert_keys = { to_version = true, as_of = true }

--- A new version with the content of an earlier one: `options` { to_version = n } or
--- { as_of = micros }.
function Repository:revert(head_id, options)
  options = check_keys("revert", options, revert_keys)
  return self:version(json_call(native.evcs_repository_revert, self.handle, head_id,
                                 optional_version(options.to_version, "to_version"),
                                 instant(options.as_of, "as_of")))
end

local get_keys = { as_of = true, branch = true }

--- The version visible at `options.as_of` (default now) on `options.branch` (default the
--- session's); nil (without an error) when there is none; nil, err on failure.
function Repository:get(head_id, options)
  options = check_keys("get", options, get_keys)
  return self:version(json_call(native.evcs_repository_get, self.handle, head_id,
                                 instant(options.as_of, "as_of"), options.branch))
end

local history_keys = { branch = true, limit = true, after = true }

--- Every version on the branch, oldest first (by valid_from, branch, version), each with
--- `changed` (the fields it changed). Options: branch, limit, after (as find's: with a limit the
--- result's `cursor` continues it).
function Repository:history(head_id, options)
  check_keys("history", options, history_keys)
  local encoded = options ~= nil and next(options) ~= nil and encode(options) or nil
  return version_page(self, json_call(native.evcs_repository_history_page, self.handle, head_id,
                                      encoded))
end

--- The version visible at commit `ref` (an id, a unique prefix of at least four hex digits, a
--- tag or a branch: its head) on the commit's branch; nil (without an error) when there is
--- none; nil, err on failure (not_found for an unknown commit).
function Repository:get_at_commit(head_id, ref)
  return self:version(json_call(native.evcs_repository_get_at_commit, self.handle, head_id, ref))
end

local range_keys = { from = true, to = true, mode = true, branch = true, limit = true,
                     after = true }

--- Every version of the type on a branch over a system-time range, oldest first. `range`:
--- from, to (UTC micros or evcs.timestamp; nil: open), mode ("from_to": valid at some instant
--- of [from, to), the default; "between": of [from, to]; "contained_in": began and ended
--- within [from, to]), branch (default the session's; only its own versions), limit, after (as
--- find's: with a limit the result's `cursor` continues it). Ordered by valid_from, head_id.
function Repository:versions(range)
  if range ~= nil and type(range) ~= "table" then invalid_argument("versions takes a table") end
  check_keys("versions", range, range_keys)
  local given = {}
  for key, value in pairs(range or {}) do given[key] = value end
  given.from = instant(given.from, "from")
  given.to = instant(given.to, "to")
  local encoded = next(given) ~= nil and encode(given) or nil
  return version_page(self, json_call(native.evcs_repository_versions_page, self.handle, encoded))
end

-- The find options as JSON text; the engine checks the keys and their values.
local function find_options(options)
  if options == nil then return nil end
  if type(options) ~= "table" then invalid_argument("find options must be a table") end
  local given = {}
  for key, value in pairs(options) do given[key] = value end
  if given.where ~= nil then
    if type(given.where) ~= "table" then invalid_argument("where must be a table") end
    if next(given.where) == nil then given.where = nil end
  end
  if given.as_of ~= nil then given.as_of = instant(given.as_of, "as_of") end
  if next(given) == nil then return nil end
  return encode(given)
end

--- The state of every entity matching `options.where` at `options.as_of`: an array of version
--- tables. Options: where, order_by ("field", "-field" or an array), limit, offset, as_of, branch,
--- as_of_commit (a commit ref instead of as_of: the state of the commit's branch at the commit),
--- after (a cursor), include (relation names: each version's `included[name]` holds what it
--- loaded, as of the same instant; see docs/relations.md). With a limit the array's `cursor`
--- field is the cursor of the next page (nil after the last): repo:find{limit = 100, after =
--- page.cursor} with the same where, order_by and branch continues the walk, as of the instant
--- the first page pinned.
function Repository:find(options)
  return version_page(self, json_call(native.evcs_repository_find_page, self.handle,
                                      find_options(options)))
end

--- find's versions as columns (docs/lua.md, "Columns"): head_id, branch, version, valid_from,
--- valid_to, deleted, parent_branch, parent_version, merged_from, author, then the fields; options
--- as find's but include. nil, err on failure.
function Repository:find_columns(options)
  return results.columns(native.find_columns(self.handle, find_options(options) or "{}",
                                             values.null))
end

--- How many entities match (options as find's: where, as_of, branch, as_of_commit).
function Repository:count(options)
  local status, count = native.evcs_repository_count(self.handle, find_options(options))
  if status ~= OK then return failure(status) end
  return count
end

--- Whether any entity matches (options as find's: where, as_of, branch, as_of_commit).
function Repository:exists(options)
  local status, found = native.evcs_repository_exists(self.handle, find_options(options))
  if status ~= OK then return failure(status) end
  return found ~= 0
end

return { Repository = Repository }
