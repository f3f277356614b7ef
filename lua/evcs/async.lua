--- evcs.async: work started on the engine's I/O thread and collected later (the Future class,
-- the session's *_async methods, evcs.gather). Sessions and the engine both hand out futures,
-- so the class and the way a started operation becomes one live here.
local native = require("evcs_native")
local errors = require("evcs.errors")
local handles = require("evcs.handles")
local parameters = require("evcs.params")
local results = require("evcs.results")
local Session = require("evcs.session").Session

local OK = native.EVCS_OK

local async = {}

-- Closing a future frees it; a still-running operation completes and its result is discarded.
local Future = handles.class("evcs.future", native.evcs_future_free)
async.Future = Future

-- The future of a native call that started an operation (its status and future handle), or
-- nil, err when it could not be queued.
local function started(status, future_handle)
  if status ~= OK then return errors.failure(status) end
  return setmetatable({ handle = future_handle }, Future)
end

-- The execute_async(sql, params) method of a class whose objects start a statement with
-- `start(handle, sql, params_handle)`: sessions and engines differ in nothing else.
function async.execute_method(start)
  return function(self, sql, params)
    return started(parameters.with(params, function(params_handle)
      return start(self.handle, sql, params_handle)
    end))
  end
end

--- Starts `sql` on the engine's I/O thread and returns a future; the session is in use until
--- it completes. Raises on misuse or invalid arguments; nil, err if it could not be queued.
Session.execute_async = async.execute_method(native.evcs_session_execute_future)

--- Starts a commit (with `message` for the commit log) on the I/O thread; wait() gives true.
function Session:commit_async(message)
  return started(native.evcs_session_commit_future(self.handle, message))
end

--- Starts a rollback on the I/O thread; wait() gives true.
function Session:rollback_async()
  return started(native.evcs_session_rollback_future(self.handle))
end

function Future:ready() return errors.checked(native.evcs_future_ready(self.handle)) ~= 0 end

--- Waits up to `timeout` seconds (nil: until done). The result table (true for commit and
--- rollback futures), or nil, err. A wait that times out returns nil, err (code "pending":
--- the operation is still running) and may be repeated.
function Future:wait(timeout)
  local status, result_handle = native.evcs_future_wait(self.handle, timeout or -1)
  if status ~= OK then return errors.failure(status) end
  if result_handle == nil then return true end
  return results.rows(result_handle)
end

--- Waits for every future of the array. Returns the array of result tables, or nil and the
--- first failure (after all have completed).
function async.gather(futures)
  local gathered, first_err = {}, nil
  for index, future in ipairs(futures) do
    local rows, err = future:wait()
    gathered[index] = rows
    first_err = first_err or err
  end
  if first_err then return nil, first_err end
  return gathered
end

return async
