--- evcs.values: the Lua stand-ins for SQL values Lua has no type of its own for (NULL, bytea,
-- timestamptz, json), and the reading of an instant argument. Parameters, results and records
-- all recognise these values by their metatables, so the metatables live here and nowhere else.
local errors = require("evcs.errors")

local values = {}

--- SQL NULL: as a parameter, and as the value of a NULL cell.
values.null = setmetatable({}, {
  __name = "evcs.null",
  __tostring = function() return "evcs.null" end,
  __newindex = function() error("evcs.null is immutable", 2) end,
  __tojson = function() return "null" end, -- JSON null inside records (dkjson's hook)
})

values.Bytes = { __name = "evcs.bytes" }
values.Timestamp = { __name = "evcs.timestamp" }
values.Json = { __name = "evcs.json" }

--- A bytea parameter.
function values.bytes(value) return setmetatable({ value = value }, values.Bytes) end
--- A timestamptz parameter: UTC microseconds since 1970-01-01 (an integer).
function values.timestamp(micros) return setmetatable({ value = micros }, values.Timestamp) end
--- A json/jsonb parameter given as JSON text (checked by the engine).
function values.json(text) return setmetatable({ value = text }, values.Json) end

-- An instant: integer UTC microseconds or evcs.timestamp(micros); nil for none.
function values.instant(value, what)
  if value == nil then return nil end
  if getmetatable(value) == values.Timestamp then value = value.value end
  local micros = math.tointeger(value)
  if micros == nil then errors.invalid_argument(what .. " must be integer UTC microseconds") end
  return micros
end

return values
