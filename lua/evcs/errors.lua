--- evcs.errors: the error object, the engine's error codes, and how a native call's status
-- leaves a Lua call (LuaSQL: `nil, err` for expected database failures, `error(err)` for misuse
-- and invalid arguments). Every other module reports failures through these functions, so the
-- convention has one home and cannot drift between topics.
local native = require("evcs_native")
-- lua-dkjson (Debian package lua-dkjson): a merge conflict's detail is JSON text.
local json = require("dkjson")

local OK = native.EVCS_OK

local errors = {}

local Error = { __name = "evcs.error" }
Error.__index = Error
function Error:__tostring()
  local sqlstate = self.sqlstate and (" [SQLSTATE " .. self.sqlstate .. "]") or ""
  return "evcs." .. self.code .. ": " .. self.message .. sqlstate
end

--- Whether `value` is an error object of this library.
function errors.is_error(value) return getmetatable(value) == Error end

--- The stable short names of the error codes, in status order (-1, -2, ...).
errors.codes = {}
for status = native.EVCS_ERROR, native.EVCS_EMISUSE, -1 do
  errors.codes[#errors.codes + 1] = native.evcs_error_code_name(status)
end

local function empty_to_nil(text)
  if text == "" then return nil end
  return text
end

-- The calling thread's last failure as an error object; `status` is what the call returned.
-- A merge conflict also carries its conflict list decoded, as err.conflicts.
function errors.last_error(status)
  local detail = native.evcs_error_last_detail()
  local err = setmetatable({
    status = status,
    code = native.evcs_error_code_name(status),
    message = native.evcs_error_last_message(),
    sqlstate = empty_to_nil(native.evcs_error_last_sqlstate()),
    retryable = native.evcs_error_last_retryable() ~= 0,
    detail = detail ~= "null" and detail or nil,
  }, Error)
  if status == native.EVCS_EMERGECONFLICT and err.detail then
    local decoded = json.decode(err.detail, 1, nil)
    err.conflicts = type(decoded) == "table" and decoded.conflicts or nil
  end
  return err
end

local raised_statuses = { [native.EVCS_EMISUSE] = true, [native.EVCS_EINVALID] = true }

-- `nil, err` for an expected failure; raises for misuse and invalid arguments.
function errors.fail(err)
  if raised_statuses[err.status] then error(err, 0) end
  return nil, err
end

function errors.failure(status) return errors.fail(errors.last_error(status)) end

-- Raises an invalid_argument error made by the engine's own error table.
function errors.invalid_argument(message)
  error(errors.last_error(native.evcs_error_set(native.EVCS_EINVALID, nil, message)), 0)
end

-- For calls that cannot fail on a live handle of the right kind (getters): raise on failure.
function errors.checked(status, ...)
  if status ~= OK then error(errors.last_error(status), 0) end
  return ...
end

-- Calls `call(...)` (a native call returning only a status): true, or nil, err.
function errors.status_call(call, ...)
  local status = call(...)
  if status ~= OK then return errors.failure(status) end
  return true
end

return errors
