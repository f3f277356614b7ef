--- evcs.records: versions, commits, branches, merge results and migration records cross the
-- C ABI as JSON text; this module is the one road between that text and Lua tables, shared by
-- every topic that sends or receives records.
--
-- lua-dkjson converts between JSON text and tables. JSON null becomes nil (a field that is NULL
-- is absent from `fields`); evcs.null in a table is sent as null. An empty Lua table is sent as
-- an empty JSON array unless it has the metatable { __jsontype = "object" } (dkjson's
-- convention); `values` and `where` themselves are always objects.
local native = require("evcs_native")
-- lua-dkjson (Debian package lua-dkjson): JSON text <-> tables for whole records.
local json = require("dkjson")
local errors = require("evcs.errors")

local OK = native.EVCS_OK

local records = {}

-- JSON has no NaN or infinities (dkjson writes null for them): they go as PostgreSQL's text for
-- them, which the engine hands to the column. A table holding one is copied; others go as they are.
records.non_finite_text = { ["NaN"] = 0 / 0, ["Infinity"] = math.huge, ["-Infinity"] = -math.huge }

local function finite_json(value)
  if type(value) == "number" then
    if value ~= value then return "NaN", true end
    if value == math.huge then return "Infinity", true end
    if value == -math.huge then return "-Infinity", true end
    return value, false
  end
  if type(value) ~= "table" then return value, false end
  local copy, changed = nil, false
  for key, item in pairs(value) do
    local replaced, item_changed = finite_json(item)
    if item_changed then
      copy = copy or setmetatable({}, getmetatable(value))
      copy[key] = replaced
      changed = true
    end
  end
  if not changed then return value, false end
  for key, item in pairs(value) do
    if copy[key] == nil then copy[key] = item end
  end
  return copy, true
end

function records.encode(value)
  local ok, text = pcall(json.encode, (finite_json(value)))
  if not ok then errors.invalid_argument("cannot convert to JSON: " .. tostring(text)) end
  return text
end

-- A table sent as a JSON object even when empty.
function records.encode_object(value, what)
  if type(value) ~= "table" then errors.invalid_argument(what .. " must be a table, not a " .. type(value)) end
  if next(value) == nil then return "{}" end
  return records.encode(value)
end

local function decode(text)
  local value, _, err = json.decode(text, 1, nil)
  if err then error("evcs: cannot decode the engine's JSON: " .. err, 0) end
  return value
end

-- Calls `call(...)` (a native call returning a status and JSON text) and decodes the text.
function records.json_call(call, ...)
  local status, text = call(...)
  if status ~= OK then return errors.failure(status) end
  return decode(text)
end

return records
