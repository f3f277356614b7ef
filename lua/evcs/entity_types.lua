--- evcs.entity_types: declaring entity types and changing their columns, references, unique
-- keys and checks (Session methods, usable in migrations; docs/relations.md). Schema changes are
-- a topic of their own in the engine (core/src/catalog/entity_types.cpp) and stay one here too.
local native = require("evcs_native")
local errors = require("evcs.errors")
local records = require("evcs.records")
local Session = require("evcs.session").Session

local invalid_argument, status_call = errors.invalid_argument, errors.status_call
local encode, encode_object = records.encode, records.encode_object

-- One column as the C ABI takes it, from a {name, type} or {name, {references = ...}} pair.
local function column_entry(index, pair)
  if type(pair) ~= "table" or #pair ~= 2 or type(pair[1]) ~= "string" then
    invalid_argument("column " .. index .. " must be a {name, type} pair")
  end
  local name, spec = pair[1], pair[2]
  if type(spec) == "string" then return { name = name, type = spec } end
  if type(spec) ~= "table" or type(spec.references) ~= "string" then
    invalid_argument("column " .. index .. ": a type must be a string, a reference {references = type, on_delete = ...}")
  end
  local entry = { name = name }
  for key, value in pairs(spec) do
    if (key ~= "references" and key ~= "on_delete" and key ~= "type") or type(value) ~= "string" then
      invalid_argument("column " .. index .. ": a reference takes the strings references, on_delete and type only")
    end
    entry[key] = value
  end
  return entry
end

--- Declares an entity type: `columns` is an array of {name, type} pairs in column order, e.g.
--- { {"title", "text not null"}, {"budget", "numeric(14,2)"} }. A column that refers to an
--- entity of another type (or of its own) gives {references = "project", on_delete = "restrict"
--- | "cascade" | "set null"} as its type. `constraints` (optional): {unique = {{"email"}},
--- checks = {positive_qty = "qty > 0"}}: keys unique among the live entities of each branch,
--- and SQL checks every version keeps. true, or nil, err.
function Session:create_entity_type(name, columns, constraints)
  if type(columns) ~= "table" then invalid_argument("columns must be an array of {name, type} pairs") end
  local listed = {}
  for index, pair in ipairs(columns) do listed[index] = column_entry(index, pair) end
  local rules = {}
  if constraints ~= nil then
    if type(constraints) ~= "table" then invalid_argument("constraints must be a table") end
    for key in pairs(constraints) do
      if key ~= "unique" and key ~= "checks" then
        invalid_argument("constraints take unique and checks only, not " .. tostring(key))
      end
    end
    if constraints.unique ~= nil and next(constraints.unique) ~= nil then rules.unique = constraints.unique end
    if constraints.checks ~= nil and next(constraints.checks) ~= nil then rules.checks = constraints.checks end
  end
  return status_call(native.evcs_session_create_entity_type_with, self.handle, name,
                     #listed == 0 and "[]" or encode(listed), encode_object(rules, "constraints"))
end

--- Adds a column to an entity type, keeping every version (usable in a migration). `type` is a
--- PostgreSQL type, optionally followed by "not null"; versions written before the column read
--- nil in it. `default` (optional, a literal of the type) is what entities created afterwards get
--- when they leave the column out; a "not null" column of a type with versions needs one.
--- true, or nil, err.
function Session:add_column(entity_type, column, column_type, default)
  if default ~= nil and type(default) ~= "string" then
    invalid_argument("the default value must be a string (a literal of the column's type) or nil")
  end
  return status_call(native.evcs_session_add_column, self.handle, entity_type, column, column_type,
                     default)
end

--- Removes a column (and its values) from every version of an entity type. true, or nil, err.
function Session:drop_column(entity_type, column)
  return status_call(native.evcs_session_drop_column, self.handle, entity_type, column)
end

--- Renames a column of an entity type in every version, keeping values and history.
--- true, or nil, err.
function Session:rename_column(entity_type, column, new_name)
  return status_call(native.evcs_session_rename_column, self.handle, entity_type, column, new_name)
end

--- Relation changes of an existing entity type (docs/relations.md), usable in a migration. A
--- rule added must hold for the data already there, or it fails with err.code "integrity_error"
--- naming an entity that breaks it, and nothing changes. A new referencing column is
--- add_column(type, column, "uuid") and then add_reference. Each returns true, or nil, err.
--- add_reference: `on_delete` "restrict" (nil), "cascade" or "set null".
function Session:add_reference(entity_type, column, references, on_delete)
  return status_call(native.evcs_session_add_reference, self.handle, entity_type, column,
                     references, on_delete)
end

function Session:drop_reference(entity_type, column)
  return status_call(native.evcs_session_drop_reference, self.handle, entity_type, column)
end

function Session:alter_reference(entity_type, column, on_delete)
  return status_call(native.evcs_session_alter_reference, self.handle, entity_type, column,
                     on_delete)
end

-- A unique key's columns as the C ABI takes them: a JSON array of names.
local function key_json(columns)
  if type(columns) ~= "table" or #columns == 0 then
    invalid_argument("a unique key is a non-empty array of column names, e.g. {\"org_id\", \"code\"}")
  end
  return encode(columns)
end

--- `columns`: an array of column names, e.g. {"org_id", "code"}.
function Session:add_unique_key(entity_type, columns)
  return status_call(native.evcs_session_add_unique_key, self.handle, entity_type, key_json(columns))
end

--- Drops the key of exactly these columns, in this order.
function Session:drop_unique_key(entity_type, columns)
  return status_call(native.evcs_session_drop_unique_key, self.handle, entity_type, key_json(columns))
end

--- A named SQL boolean expression every version keeps, history included.
function Session:add_check(entity_type, name, expression)
  return status_call(native.evcs_session_add_check, self.handle, entity_type, name, expression)
end

function Session:drop_check(entity_type, name)
  return status_call(native.evcs_session_drop_check, self.handle, entity_type, name)
end
