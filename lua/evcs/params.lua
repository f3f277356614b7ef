--- evcs.params: Lua values as the server-side parameters ($1, $2, ...) of a statement. Sessions,
-- futures and the engine's autocommit statements all send parameters, so the mapping from Lua
-- value to SQL value (docs/lua.md, "Values") is written once, here.
local native = require("evcs_native")
local errors = require("evcs.errors")
local handles = require("evcs.handles")
local values = require("evcs.values")

local invalid_argument = errors.invalid_argument

local params = {}

local wrapped_adders = {
  [values.Bytes] = native.evcs_params_add_bytes,
  [values.Json] = native.evcs_params_add_json,
}

local function add_parameter(params_handle, index, value)
  local kind = type(value)
  if value == nil or value == values.null then return native.evcs_params_add_null(params_handle) end
  if kind == "string" then return native.evcs_params_add_text(params_handle, value) end
  if kind == "boolean" then return native.evcs_params_add_bool(params_handle, value and 1 or 0) end
  if kind == "number" then
    if math.type(value) == "integer" then return native.evcs_params_add_int64(params_handle, value) end
    return native.evcs_params_add_double(params_handle, value)
  end
  local wrapper = getmetatable(value)
  if wrapper == values.Timestamp then
    local micros = math.tointeger(value.value)
    if micros == nil then invalid_argument("parameter " .. index .. ": evcs.timestamp needs integer microseconds") end
    return native.evcs_params_add_timestamp(params_handle, micros)
  end
  if wrapped_adders[wrapper] then
    if type(value.value) ~= "string" then
      invalid_argument("parameter " .. index .. ": " .. wrapper.__name .. " needs a string")
    end
    return wrapped_adders[wrapper](params_handle, value.value)
  end
  if kind == "table" then
    invalid_argument("parameter " .. index .. ": a table is not a SQL value; pass JSON text " ..
                     "(evcs.json(text)) for json, evcs.null for NULL")
  end
  invalid_argument("parameter " .. index .. ": a " .. kind .. " is not a SQL value")
end

-- A native evcs_params for `list` (nil when there is none). Positions 1..list.n (or 1..#list);
-- evcs.null, and nil below list.n, stand for NULL.
local function native_params(list)
  if list == nil then return nil end
  if type(list) ~= "table" then invalid_argument("parameters are passed as a table (array)") end
  local new, free = native.evcs_params_new, native.evcs_params_free
  return handles.new_filled(new, free, function(params_handle)
    for index = 1, list.n or #list do
      errors.checked(add_parameter(params_handle, index, list[index]))
    end
  end)
end

-- Runs `call(params_handle)` (a native call returning a status and a handle) with the
-- parameters `list` converted, freeing them afterwards.
function params.with(list, call)
  return handles.lend(native_params(list), native.evcs_params_free, call)
end

return params
