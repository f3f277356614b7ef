--- evcs.engine: the Engine class (a connection pool), the sessions it opens and the autocommit
-- statements it runs outside any session. The entry point of every program, kept apart from the
-- session so that each class is found in a file of its own name.
local native = require("evcs_native")
local errors = require("evcs.errors")
local handles = require("evcs.handles")
local options_module = require("evcs.options")
local parameters = require("evcs.params")
local results = require("evcs.results")
local async = require("evcs.async")
local Session = require("evcs.session").Session
local finish_block = require("evcs.transaction").finish_block

local OK = native.EVCS_OK
local checked = errors.checked
local check_keys = options_module.check_keys

local engine = {}

-- e:close() releases the engine (idle connections close; open sessions keep it alive).
local Engine = handles.class("evcs.engine", native.evcs_engine_free)
engine.Engine = Engine

--- Opens an engine (a connection pool). `options` is a table of engine options (url, pool_size,
--- max_overflow, pool_timeout, pool_recycle, pool_pre_ping, echo, statement_cache_size,
--- application_name) or a URL string. An unknown option raises an error naming it.
function engine.open(options)
  if type(options) == "string" then options = { url = options } end
  local engine_handle, err = options_module.open_with(options, native.evcs_engine_open)
  if engine_handle == nil then return nil, err end
  return setmetatable({ handle = engine_handle }, Engine)
end

function Engine:url() return checked(native.evcs_engine_url(self.handle)) end

--- Closes every idle pooled connection.
function Engine:dispose() return errors.status_call(native.evcs_engine_dispose, self.handle) end

--- { size = kept connections, checked_out = in use, overflow = overflow in use }
function Engine:pool_status()
  local size, checked_out, overflow = checked(native.evcs_engine_pool_status(self.handle))
  return { size = size, checked_out = checked_out, overflow = overflow }
end

--- Runs one statement in autocommit mode, outside any session: a pooled connection runs it in
--- its own transaction (one round trip, no BEGIN/COMMIT) and goes straight back to the pool.
--- Returns the result table, or nil, err.
function Engine:execute(sql, params)
  return results.rows_or_failure(parameters.with(params, function(params_handle)
    return native.evcs_engine_execute(self.handle, sql, params_handle)
  end))
end

--- Engine:execute returning the first column of the first row, or nil, err.
function Engine:scalar(sql, params)
  return results.first_cell(self:execute(sql, params))
end

--- Starts an autocommit statement on the engine's I/O thread and returns a future; any number
--- may be in flight at once, sharing the pool. nil, err if it could not be queued.
Engine.execute_async = async.execute_method(native.evcs_engine_execute_future)

local session_option_keys = { branch = true, author = true, autocommit = true }

--- A session for explicit control (s:commit, s:rollback, s:close; `<close>` closes it).
--- `options`: { branch = "main", author = nil }.
function Engine:open_session(options)
  options = check_keys("open_session", options, session_option_keys)
  local status, session_handle = native.evcs_session_open(self.handle, options.branch, options.author)
  if status ~= OK then return errors.failure(status) end
  local session = setmetatable({ handle = session_handle }, Session)
  if options.autocommit then session:set_autocommit(true) end
  return session
end

--- Runs `fn(session)`: commits when it returns normally, rolls back when it raises
--- (re-raising) or returns nil, err (returning them); always closes the session. Returns fn's
--- results, or nil, err when the commit failed.
function Engine:session(fn, options)
  local session <close>, err = self:open_session(options)
  if session == nil then return nil, err end
  return finish_block(table.pack(pcall(fn, session)),
                      function() return session:commit() end,
                      function() session:rollback() end)
end

return engine
