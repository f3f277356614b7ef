--- evcs.options: Lua tables of named arguments, either handed to the engine as a native
-- evcs_options (engine and embedded-server options, which the engine checks by name) or checked
-- here against the keys a method takes. One place decides how an unknown option is reported.
local native = require("evcs_native")
local errors = require("evcs.errors")
local handles = require("evcs.handles")

local OK = native.EVCS_OK
local invalid_argument, checked = errors.invalid_argument, errors.checked

local options = {}

local function option_text(key, value)
  local kind = type(value)
  if kind == "string" then return value end
  if kind == "boolean" then return value and "true" or "false" end
  if kind == "number" then return tostring(value) end
  invalid_argument("option '" .. tostring(key) .. "' must be a string, number or boolean, not a " .. kind)
end

-- A native evcs_options filled from a Lua table; the engine rejects unknown keys by name.
local function native_options(given)
  local new, free = native.evcs_options_new, native.evcs_options_free
  return handles.new_filled(new, free, function(options_handle)
    for key, value in pairs(given or {}) do
      if type(key) ~= "string" then invalid_argument("option names are strings, got a " .. type(key) .. " key") end
      checked(native.evcs_options_set(options_handle, key, option_text(key, value)))
    end
  end)
end

-- Opens a native object from `given` with `open(options_handle)` (a native call returning a
-- status and a handle): the handle, or the failure as errors.failure reports it.
function options.open_with(given, open)
  local status, handle = handles.lend(native_options(given), native.evcs_options_free, open)
  if status ~= OK then return errors.failure(status) end
  return handle
end

-- Checks that a table of named arguments only uses `allowed` keys. Returns the arguments (an
-- empty table for nil).
function options.check_keys(what, arguments, allowed)
  for key in pairs(arguments or {}) do
    if not allowed[key] then invalid_argument(what .. ": unknown option '" .. tostring(key) .. "'") end
  end
  return arguments or {}
end

return options
