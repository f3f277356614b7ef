--- evcs: versioned entities on PostgreSQL, for Lua 5.4.
--
-- A thin idiomatic layer over `evcs_native` (SWIG over the C ABI). All behaviour lives in the
-- engine; this file translates Lua values, handles and errors, and nothing else.
-- Conventions (LuaSQL): expected database failures return `nil, err`; misuse and invalid
-- arguments raise `error(err)`. docs/lua.md has the long form.
local native = require "evcs_native"
-- lua-dkjson (Debian package lua-dkjson): JSON text <-> tables for whole records.
local json = require "dkjson"

local OK = native.EVCS_OK

local evcs = {}

evcs.version = native.evcs_version()

-- ---- values ----------------------------------------------------------------------------------

--- SQL NULL: as a parameter, and as the value of a NULL cell.
evcs.null = setmetatable({}, {
  __name = "evcs.null",
  __tostring = function() return "evcs.null" end,
  __newindex = function() error("evcs.null is immutable", 2) end,
  __tojson = function() return "null" end, -- JSON null inside records (dkjson's hook)
})

local Bytes = { __name = "evcs.bytes" }
local Timestamp = { __name = "evcs.timestamp" }
local Json = { __name = "evcs.json" }

--- A bytea parameter.
function evcs.bytes(value) return setmetatable({ value = value }, Bytes) end
--- A timestamptz parameter: UTC microseconds since 1970-01-01 (an integer).
function evcs.timestamp(micros) return setmetatable({ value = micros }, Timestamp) end
--- A json/jsonb parameter given as JSON text (checked by the engine).
function evcs.json(text) return setmetatable({ value = text }, Json) end

-- ---- errors ----------------------------------------------------------------------------------

local Error = { __name = "evcs.error" }
Error.__index = Error
function Error:__tostring()
  local sqlstate = self.sqlstate and (" [SQLSTATE " .. self.sqlstate .. "]") or ""
  return "evcs." .. self.code .. ": " .. self.message .. sqlstate
end

--- Whether `value` is an error object of this library.
function evcs.is_error(value) return getmetatable(value) == Error end

--- The stable short names of the error codes, in status order (-1, -2, ...).
evcs.errors = {}
for status = native.EVCS_ERROR, native.EVCS_EMISUSE, -1 do
  evcs.errors[#evcs.errors + 1] = native.evcs_error_code_name(status)
end

local function empty_to_nil(text)
  if text == "" then return nil end
  return text
end

-- The calling thread's last failure as an error object; `status` is what the call returned.
-- A merge conflict also carries its conflict list decoded, as err.conflicts.
local function last_error(status)
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
local function fail(err)
  if raised_statuses[err.status] then error(err, 0) end
  return nil, err
end

local function failure(status) return fail(last_error(status)) end

-- Raises an invalid_argument error made by the engine's own error table.
local function invalid_argument(message)
  error(last_error(native.evcs_error_set(native.EVCS_EINVALID, nil, message)), 0)
end

-- For calls that cannot fail on a live handle of the right kind (getters): raise on failure.
local function checked(status, ...)
  if status ~= OK then error(last_error(status), 0) end
  return ...
end

-- ---- options ---------------------------------------------------------------------------------

local function option_text(key, value)
  local kind = type(value)
  if kind == "string" then return value end
  if kind == "boolean" then return value and "true" or "false" end
  if kind == "number" then return tostring(value) end
  invalid_argument("option '" .. tostring(key) .. "' must be a string, number or boolean, not a " .. kind)
end

-- Runs `fill()`; if it raises, frees `handle` with `free` and re-raises. Returns `handle`.
local function free_on_error(handle, free, fill)
  local ok, err = pcall(fill)
  if not ok then
    free(handle)
    error(err, 0)
  end
  return handle
end

-- A native evcs_options filled from a Lua table; the engine rejects unknown keys by name.
local function native_options(options)
  local options_handle = checked(native.evcs_options_new())
  return free_on_error(options_handle, native.evcs_options_free, function()
    for key, value in pairs(options or {}) do
      if type(key) ~= "string" then invalid_argument("option names are strings, got a " .. type(key) .. " key") end
      local status = native.evcs_options_set(options_handle, key, option_text(key, value))
      if status ~= OK then error(last_error(status), 0) end
    end
  end)
end

-- Checks that a table of named arguments only uses `allowed` keys.
local function check_keys(what, arguments, allowed)
  for key in pairs(arguments or {}) do
    if not allowed[key] then invalid_argument(what .. ": unknown option '" .. tostring(key) .. "'") end
  end
end

-- ---- parameters ------------------------------------------------------------------------------

local wrapped_adders = {
  [Bytes] = native.evcs_params_add_bytes,
  [Json] = native.evcs_params_add_json,
}

local function add_parameter(params_handle, index, value)
  local kind = type(value)
  if value == nil or value == evcs.null then return native.evcs_params_add_null(params_handle) end
  if kind == "string" then return native.evcs_params_add_text(params_handle, value) end
  if kind == "boolean" then return native.evcs_params_add_bool(params_handle, value and 1 or 0) end
  if kind == "number" then
    if math.type(value) == "integer" then return native.evcs_params_add_int64(params_handle, value) end
    return native.evcs_params_add_double(params_handle, value)
  end
  local wrapper = getmetatable(value)
  if wrapper == Timestamp then
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

-- A native evcs_params for `params` (nil when there are none). Positions 1..params.n (or
-- 1..#params); evcs.null, and nil below params.n, stand for NULL.
local function native_params(params)
  if params == nil then return nil end
  if type(params) ~= "table" then invalid_argument("parameters are passed as a table (array)") end
  local params_handle = checked(native.evcs_params_new())
  return free_on_error(params_handle, native.evcs_params_free, function()
    for index = 1, params.n or #params do
      local status = add_parameter(params_handle, index, params[index])
      if status ~= OK then error(last_error(status), 0) end
    end
  end)
end

-- ---- results ---------------------------------------------------------------------------------

local cell_readers = {
  [native.EVCS_TYPE_INT64] = native.evcs_result_get_int64,
  [native.EVCS_TYPE_DOUBLE] = native.evcs_result_get_double,
  [native.EVCS_TYPE_BOOL] = function(...)
    local status, value = native.evcs_result_get_bool(...)
    return status, value ~= 0
  end,
  [native.EVCS_TYPE_BYTES] = native.evcs_result_get_bytes,
  [native.EVCS_TYPE_TIMESTAMP] = native.evcs_result_get_timestamp,
}

-- Column names and cell readers of a native result.
local function result_shape(result_handle)
  local columns, readers = {}, {}
  for column = 0, checked(native.evcs_result_column_count(result_handle)) - 1 do
    columns[column + 1] = checked(native.evcs_result_column_name(result_handle, column))
    local column_type = checked(native.evcs_result_column_type(result_handle, column))
    readers[column + 1] = cell_readers[column_type] or native.evcs_result_get_text
  end
  return columns, readers
end

local function row_table(result_handle, row, columns, readers)
  local values = {}
  for index, name in ipairs(columns) do
    if checked(native.evcs_result_is_null(result_handle, row, index - 1)) ~= 0 then
      values[name] = evcs.null
    else
      values[name] = checked(readers[index](result_handle, row, index - 1))
    end
  end
  return values
end

-- The Lua form of a native result (which it frees): an array of rows keyed by column name,
-- plus `columns` (array of names) and `rows_affected`.
local function result_table(result_handle)
  local ok, result = pcall(function()
    local columns, readers = result_shape(result_handle)
    local rows = { columns = columns,
                   rows_affected = checked(native.evcs_result_rows_affected(result_handle)) }
    for row = 0, checked(native.evcs_result_row_count(result_handle)) - 1 do
      rows[row + 1] = row_table(result_handle, row, columns, readers)
    end
    return rows
  end)
  native.evcs_result_free(result_handle)
  if not ok then error(result, 0) end
  return result
end

-- ---- sessions and transactions ---------------------------------------------------------------

local Session = { __name = "evcs.session" }
Session.__index = Session
local Transaction = { __name = "evcs.transaction" }
Transaction.__index = Transaction
local Future = { __name = "evcs.future" }
Future.__index = Future

-- Runs `call(params_handle)` (a native call returning a status and a handle) with `params`
-- converted, freeing them afterwards.
local function with_params(params, call)
  local params_handle = native_params(params)
  local status, handle = call(params_handle)
  native.evcs_params_free(params_handle)
  return status, handle
end

-- evcs_session_execute: the status and the native result.
local function execute_native(session, sql, params)
  return with_params(params, function(params_handle)
    return native.evcs_session_execute(session.handle, sql, params_handle)
  end)
end

-- The result table of a native execute call's status and result, or nil, err.
local function rows_or_failure(status, result_handle)
  if status ~= OK then return failure(status) end
  return result_table(result_handle)
end

-- The first column of the first row of a result table (evcs.null for SQL NULL, nil when
-- there is no row), or the nil, err it was given.
local function first_cell(rows, err)
  if rows == nil then return nil, err end
  if rows[1] == nil or rows.columns[1] == nil then return nil end
  return rows[1][rows.columns[1]]
end

--- Executes `sql` with server-side parameters ($1, $2, ...). Returns the result table, or
--- nil, err.
function Session:execute(sql, params)
  return rows_or_failure(execute_native(self, sql, params))
end

--- The first column of the first row (evcs.null for SQL NULL, nil when there is no row), or
--- nil, err.
function Session:scalar(sql, params)
  return first_cell(self:execute(sql, params))
end

-- Owns a native result while a generic `for` walks it; closed when the loop ends or breaks.
local RowCursor = { __name = "evcs.rows" }
RowCursor.__index = RowCursor
function RowCursor:close()
  native.evcs_result_free(self.handle)
  self.handle = nil
end
RowCursor.__close = RowCursor.close
RowCursor.__gc = RowCursor.close

--- An iterator over the rows of `sql`, for generic `for`. Rows are converted one at a time.
--- A failure is raised (a generic `for` cannot receive nil, err): use s:execute for that form.
function Session:rows(sql, params)
  local status, result_handle = execute_native(self, sql, params)
  if status ~= OK then error(last_error(status), 0) end
  local cursor = setmetatable({ handle = result_handle }, RowCursor)
  local row_count = checked(native.evcs_result_row_count(result_handle))
  local columns, readers = result_shape(result_handle)
  local next_row = 0
  local function next_row_table()
    if cursor.handle == nil or next_row >= row_count then return nil end
    next_row = next_row + 1
    return row_table(cursor.handle, next_row - 1, columns, readers)
  end
  return next_row_table, nil, nil, cursor
end

--- Commits the current transaction; `message` goes to the commit log. true, or nil, err.
function Session:commit(message)
  local status = native.evcs_session_commit(self.handle, message)
  if status ~= OK then return failure(status) end
  return true
end

--- Rolls back the current transaction. true, or nil, err.
function Session:rollback()
  local status = native.evcs_session_rollback(self.handle)
  if status ~= OK then return failure(status) end
  return true
end

--- Rolls back anything uncommitted, returns the connection and releases the session; using it
--- afterwards raises a misuse error. Safe to call twice.
function Session:close()
  native.evcs_session_free(self.handle)
  self.handle = nil
end
Session.__close = Session.close
Session.__gc = Session.close

function Session:in_transaction()
  return checked(native.evcs_session_in_transaction(self.handle)) ~= 0
end

--- Autocommit mode: outside begin_transaction, each statement is its own transaction and each
--- repository write commits by itself in one round trip; create_branch, merge and create_many
--- still land whole. Errors (misuse) while a transaction is in progress.
function Session:set_autocommit(on)
  checked(native.evcs_session_set_autocommit(self.handle, on and 1 or 0))
end
function Session:autocommit()
  return checked(native.evcs_session_autocommit(self.handle)) ~= 0
end
function Session:branch() return checked(native.evcs_session_branch(self.handle)) end
function Session:author() return checked(native.evcs_session_author(self.handle)) end

--- The backend process id of the session's connection (0 when none is checked out).
function Session:backend_pid() return checked(native.evcs_session_backend_pid(self.handle)) end

local function open_transaction(session, opener)
  local status, transaction_handle = opener(session.handle)
  if status ~= OK then return failure(status) end
  return setmetatable({ handle = transaction_handle }, Transaction)
end

--- An explicit transaction (BEGIN): tx:commit(), tx:rollback(); closing it (or `<close>`, or
--- garbage collection) while still active rolls it back.
function Session:begin_transaction() return open_transaction(self, native.evcs_session_begin) end

--- A SAVEPOINT, with the same methods as begin_transaction's.
function Session:begin_nested_transaction()
  return open_transaction(self, native.evcs_session_begin_nested)
end

function Transaction:commit()
  local status = native.evcs_transaction_commit(self.handle)
  if status ~= OK then return failure(status) end
  return true
end

function Transaction:rollback()
  local status = native.evcs_transaction_rollback(self.handle)
  if status ~= OK then return failure(status) end
  return true
end

function Transaction:is_active()
  return checked(native.evcs_transaction_is_active(self.handle)) ~= 0
end

function Transaction:close()
  native.evcs_transaction_free(self.handle)
  self.handle = nil
end
Transaction.__close = Transaction.close
Transaction.__gc = Transaction.close

-- Whether a unit of work's results mean failure in the `nil, err` convention.
local function returned_failure(results)
  return results[1] and results[2] == nil and evcs.is_error(results[3])
end

-- A scoped block's results from pcall's: true when it returned none, so `assert(...)` works.
local function block_results(results)
  if results.n == 1 then return true end
  return table.unpack(results, 2, results.n)
end

-- Ends a scoped block given pcall's results: `commit` on a normal return, `rollback` on an
-- error (re-raised) or a returned `nil, err` (returned). Returns the block's results. A failing
-- rollback never hides the block's own error.
local function finish_block(results, commit, rollback)
  if not results[1] then
    pcall(rollback)
    error(results[2], 0)
  end
  if returned_failure(results) then
    pcall(rollback)
    return nil, results[3]
  end
  local committed, err = commit()
  if not committed then return nil, err end
  return block_results(results)
end

local function run_block(session, opener, fn)
  local transaction <close>, err = open_transaction(session, opener)
  if transaction == nil then return nil, err end
  return finish_block(table.pack(pcall(fn)),
                      function() return transaction:commit() end,
                      function() transaction:rollback() end)
end

--- Runs `fn()` in an explicit transaction: commits on a normal return, rolls back when it
--- raises (re-raising) or returns nil, err (returning them). Returns fn's results (true when
--- it returns none).
function Session:begin(fn) return run_block(self, native.evcs_session_begin, fn) end

--- Runs `fn()` in a SAVEPOINT with begin's semantics; the outer transaction continues.
function Session:begin_nested(fn) return run_block(self, native.evcs_session_begin_nested, fn) end

--- Runs `fn(session)` in a transaction and commits; the engine retries the whole transaction
--- on a retryable failure (serialization failure, deadlock, connection lost before the outcome
--- was in doubt), `attempts` times in all (default 3). `fn` reports an evcs failure by raising
--- the error object (e.g. `assert(s:execute(...))`) or by returning nil, err. Returns fn's
--- results; nil, err when the transaction failed; any other Lua error is re-raised as is.
function Session:run_in_transaction(fn, attempts)
  local results, foreign_error
  local function attempt()
    foreign_error = nil
    results = table.pack(pcall(fn, self))
    local err
    if not results[1] then
      err = results[2]
    elseif returned_failure(results) then
      err = results[3]
    else
      return OK
    end
    if evcs.is_error(err) then return native.evcs_error_set(err.status, err.sqlstate, err.message) end
    foreign_error = err
    return native.evcs_error_set(native.EVCS_ERROR, nil, tostring(err))
  end
  local status = native.run_in_transaction(self.handle, attempts or 3, attempt)
  if status ~= OK then
    if foreign_error ~= nil then error(foreign_error, 0) end
    return failure(status)
  end
  return block_results(results)
end

--- Starts `sql` on the engine's I/O thread and returns a future; the session is in use until
--- it completes. Raises on misuse or invalid arguments; nil, err if it could not be queued.
function Session:execute_async(sql, params)
  local status, future_handle = with_params(params, function(params_handle)
    return native.evcs_session_execute_future(self.handle, sql, params_handle)
  end)
  if status ~= OK then return failure(status) end
  return setmetatable({ handle = future_handle }, Future)
end

--- Starts a commit (with `message` for the commit log) on the I/O thread; wait() gives true.
function Session:commit_async(message)
  local status, future_handle = native.evcs_session_commit_future(self.handle, message)
  if status ~= OK then return failure(status) end
  return setmetatable({ handle = future_handle }, Future)
end

--- Starts a rollback on the I/O thread; wait() gives true.
function Session:rollback_async()
  local status, future_handle = native.evcs_session_rollback_future(self.handle)
  if status ~= OK then return failure(status) end
  return setmetatable({ handle = future_handle }, Future)
end

function Future:ready() return checked(native.evcs_future_ready(self.handle)) ~= 0 end

--- Waits up to `timeout` seconds (nil: until done). The result table (true for commit and
--- rollback futures), or nil, err. A wait that times out returns nil, err (code "pending":
--- the operation is still running) and may be repeated.
function Future:wait(timeout)
  local status, result_handle = native.evcs_future_wait(self.handle, timeout or -1)
  if status ~= OK then return failure(status) end
  if result_handle == nil then return true end
  return result_table(result_handle)
end

--- Frees the future; a still-running operation completes and its result is discarded.
function Future:close()
  native.evcs_future_free(self.handle)
  self.handle = nil
end
Future.__close = Future.close
Future.__gc = Future.close

--- Waits for every future of the array. Returns the array of result tables, or nil and the
--- first failure (after all have completed).
function evcs.gather(futures)
  local results, first_err = {}, nil
  for index, future in ipairs(futures) do
    local rows, err = future:wait()
    results[index] = rows
    first_err = first_err or err
  end
  if first_err then return nil, first_err end
  return results
end

-- ---- versioned entities, branches, diff and merge ------------------------------------------------
-- Records cross the C ABI as JSON text; lua-dkjson converts between it and tables. JSON null
-- becomes nil (a field that is NULL is absent from `fields`); evcs.null in a table is sent as
-- null. An empty Lua table is sent as an empty JSON array unless it has the metatable
-- { __jsontype = "object" } (dkjson's convention); `values` and `where` themselves are always
-- objects.

local Repository = { __name = "evcs.repository" }
Repository.__index = Repository

-- JSON has no NaN or infinities (dkjson writes null for them): they go as PostgreSQL's text for
-- them, which the engine hands to the column. A table holding one is copied; others go as they are.
local non_finite_text = { ["NaN"] = 0 / 0, ["Infinity"] = math.huge, ["-Infinity"] = -math.huge }

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

local function encode(value)
  local ok, text = pcall(json.encode, (finite_json(value)))
  if not ok then invalid_argument("cannot convert to JSON: " .. tostring(text)) end
  return text
end

-- A table sent as a JSON object even when empty.
local function encode_object(value, what)
  if type(value) ~= "table" then invalid_argument(what .. " must be a table, not a " .. type(value)) end
  if next(value) == nil then return "{}" end
  return encode(value)
end

local function decode(text)
  local value, _, err = json.decode(text, 1, nil)
  if err then error("evcs: cannot decode the engine's JSON: " .. err, 0) end
  return value
end

-- A version record as a table; valid_from is nil while the version is pending. Passes a
-- failure's nil, err through.
local function version_table(record, err)
  if record == nil then return nil, err end
  if record.valid_from == math.maxinteger then record.valid_from = nil end
  return record
end

-- Calls `call(...)` (a native call returning a status and JSON text) and decodes the text.
local function json_call(call, ...)
  local status, text = call(...)
  if status ~= OK then return failure(status) end
  return decode(text)
end

local function status_call(call, ...)
  local status = call(...)
  if status ~= OK then return failure(status) end
  return true
end

-- An instant: integer UTC microseconds or evcs.timestamp(micros); nil for none.
local function instant(value, what)
  if value == nil then return nil end
  if getmetatable(value) == Timestamp then value = value.value end
  local micros = math.tointeger(value)
  if micros == nil then invalid_argument(what .. " must be integer UTC microseconds") end
  return micros
end

-- A non-negative integer, or -1 for none (the C ABI's convention for optional versions).
local function optional_version(value, what)
  if value == nil then return -1 end
  local number = math.tointeger(value)
  if number == nil or number < 0 then invalid_argument(what .. " must be a non-negative integer") end
  return number
end

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

--- Releases the repository (the session stays open). Safe to call twice.
function Repository:close()
  for _, related in pairs(self.related or {}) do related:close() end
  self.related = nil
  native.evcs_repository_free(self.handle)
  self.handle = nil
end
Repository.__close = Repository.close
Repository.__gc = Repository.close

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

--- Many new entities at once (COPY): `rows` is an array of values tables, each optionally with
--- head_id. Outside a begin() block this commits them with `message` (optional) as one commit;
--- inside one it joins it. { head_ids = {...} (in row order), branch =, version = 1,
--- valid_from = (nil while pending), author = }, or nil, err.
function Repository:create_many(rows, message)
  if type(rows) ~= "table" then invalid_argument("rows must be an array of values tables") end
  local encoded = {}
  for index, row in ipairs(rows) do encoded[index] = encode_object(row, "row " .. (index - 1)) end
  return self:version(json_call(native.evcs_repository_create_many, self.handle,
                                 "[" .. table.concat(encoded, ",") .. "]", message))
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
  check_keys("revert", options, revert_keys)
  options = options or {}
  return self:version(json_call(native.evcs_repository_revert, self.handle, head_id,
                                 optional_version(options.to_version, "to_version"),
                                 instant(options.as_of, "as_of")))
end

local get_keys = { as_of = true, branch = true }

--- The version visible at `options.as_of` (default now) on `options.branch` (default the
--- session's); nil (without an error) when there is none; nil, err on failure.
function Repository:get(head_id, options)
  check_keys("get", options, get_keys)
  options = options or {}
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

local branch_keys = { from = true, mode = true, as_of = true }

--- A new branch reading through to `options.from` (default "main") without copies;
--- `options.mode` "snapshot" (default) or "live"; `options.as_of` (UTC micros or
--- evcs.timestamp) puts a snapshot branch's fork point at that past instant. true, or nil, err.
function Session:create_branch(name, options)
  check_keys("create_branch", options, branch_keys)
  options = options or {}
  return status_call(native.evcs_session_create_branch_as_of, self.handle, name, options.from,
                     options.mode, instant(options.as_of, "as_of"))
end

--- An array of { name, parent, mode, fork_stamp, status, created_at, created_by, head, base,
--- base_stamp } (timestamps in UTC microseconds; parent, fork_stamp, base and base_stamp nil
--- for main). head: the branch's last commit (or the one it was forked from); base: the merge
--- base with its parent (the fork point, or the last merge in either direction).
function Session:branches() return json_call(native.evcs_session_branches, self.handle) end

--- A locked branch rejects writes (branch_locked); reads still work. true, or nil, err.
function Session:lock_branch(name)
  return status_call(native.evcs_session_lock_branch, self.handle, name)
end
function Session:unlock_branch(name)
  return status_call(native.evcs_session_unlock_branch, self.handle, name)
end
--- An archived branch stays read-only for good.
function Session:archive_branch(name)
  return status_call(native.evcs_session_archive_branch, self.handle, name)
end

--- Every entity that differs between `source` and `target` (default "main") at `as_of`
--- (default now): an array of { entity_type, head_id, kind, fields = { name = { old, new } } }.
function Session:diff(source, target, as_of)
  return json_call(native.evcs_session_diff, self.handle, source, target, instant(as_of, "as_of"))
end

--- The commit log, newest first: an array of { id = (40 hex digits), parents = {...}, stamp =
--- micros, branch =, author =, message =, changes =, merged_from = (nil unless a merge) }, or
--- nil, err. `options`:
--- branch, entity_type, head_id (with entity_type: the commits that wrote that entity), limit.
function Session:commit_log(options)
  if options ~= nil and type(options) ~= "table" then
    invalid_argument("commit_log options must be a table")
  end
  local encoded = (options == nil or next(options) == nil) and nil or encode(options)
  return json_call(native.evcs_session_commit_log, self.handle, encoded)
end

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
function Session:merge(source, options)
  return json_call(native.evcs_session_merge_with_options, self.handle, source,
                   merge_options("merge", options))
end

--- What merge with the same options would write and the conflicts, writing nothing (stamp and
--- commit nil).
function Session:merge_preview(source, options)
  return json_call(native.evcs_session_merge_preview_with_options, self.handle, source,
                   merge_options("merge_preview", options))
end

--- Starts a staged merge of `source` (options as merge's; one per target branch): it is
--- pinned to the source's head and writes no version. Returns the merge result with its
--- conflicts (commit nil). Settle them with merge_resolve, then merge_continue, or merge_abort.
function Session:merge_start(source, options)
  return json_call(native.evcs_session_merge_start, self.handle, source,
                   merge_options("merge_start", options))
end

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

--- The commit `ref` names (an id, a unique prefix of at least four hex digits, a tag or a
--- branch: its head): { id =, parents = {...}, stamp =, branch =, author =, message =,
--- changes =, merged_from = }, or nil, err (not_found).
function Session:commit_info(ref)
  return json_call(native.evcs_session_commit_info, self.handle, ref)
end

--- The merge base of two commits (refs) as commit_info returns it; nil (without an error) when
--- they share no commit.
function Session:merge_base(first, second)
  return json_call(native.evcs_session_merge_base, self.handle, first, second)
end

local tag_keys = { commit = true, message = true }

--- Names a commit: `options.commit` (a ref; default the head of the session's branch),
--- `options.message`. Lands with the session's commit. Returns { name =, commit =, message =,
--- created_at =, created_by = }; a tag that exists raises invalid_argument.
function Session:tag(name, options)
  check_keys("tag", options, tag_keys)
  options = options or {}
  return json_call(native.evcs_session_tag, self.handle, name, options.commit, options.message)
end

--- Every tag, by name.
function Session:tags() return json_call(native.evcs_session_tags, self.handle) end

--- Deletes a tag (lands with the session's commit). true, or nil, err (not_found).
function Session:delete_tag(name)
  return status_call(native.evcs_session_delete_tag, self.handle, name)
end

--- A new commit on `options.into` (default the session's branch) undoing commit `ref` field by
--- field (of a merge: relative to its first parent); options and result as merge's.
function Session:revert_commit(ref, options)
  return json_call(native.evcs_session_revert_commit, self.handle, ref,
                   merge_options("revert_commit", options))
end

--- A new commit on `options.into` (default the session's branch) applying commit `ref`'s
--- changes field by field; options and result as merge's.
function Session:cherry_pick(ref, options)
  return json_call(native.evcs_session_cherry_pick, self.handle, ref,
                   merge_options("cherry_pick", options))
end

-- A point in history as JSON text: a string is a commit ref, a number an instant.
local function history_point(value, what)
  if type(value) == "string" then return encode(value) end
  local micros = value ~= nil and instant(value, what) or nil
  if micros == nil then
    invalid_argument(what .. " must be a commit (a string) or an instant (integer UTC microseconds)")
  end
  return tostring(micros)
end

local diff_history_keys = { branch = true }

--- The entities that differ between two states of history, as diff's entries ("old" at `from`,
--- "new" at `to`). `from`, `to`: a commit ref (a string) or an instant (UTC micros or
--- evcs.timestamp) of `options.branch` (default the session's branch).
function Session:diff_history(from, to, options)
  check_keys("diff_history", options, diff_history_keys)
  options = options or {}
  return json_call(native.evcs_session_diff_history, self.handle, history_point(from, "from"),
                   history_point(to, "to"), options.branch)
end

-- ---- engine ----------------------------------------------------------------------------------

local Engine = { __name = "evcs.engine" }
Engine.__index = Engine

--- Opens an engine (a connection pool). `options` is a table of engine options (url, pool_size,
--- max_overflow, pool_timeout, pool_recycle, pool_pre_ping, echo, statement_cache_size,
--- application_name) or a URL string. An unknown option raises an error naming it.
function evcs.engine(options)
  if type(options) == "string" then options = { url = options } end
  local options_handle = native_options(options)
  local status, engine_handle = native.evcs_engine_open(options_handle)
  local err = status ~= OK and last_error(status)
  native.evcs_options_free(options_handle)
  if err then return fail(err) end
  return setmetatable({ handle = engine_handle }, Engine)
end

--- Releases the engine (idle connections close; open sessions keep it alive). Safe to call
--- twice.
function Engine:close()
  native.evcs_engine_free(self.handle)
  self.handle = nil
end
Engine.__close = Engine.close
Engine.__gc = Engine.close

function Engine:url() return checked(native.evcs_engine_url(self.handle)) end

--- Closes every idle pooled connection.
function Engine:dispose()
  local status = native.evcs_engine_dispose(self.handle)
  if status ~= OK then return failure(status) end
  return true
end

--- { size = kept connections, checked_out = in use, overflow = overflow in use }
function Engine:pool_status()
  local size, checked_out, overflow = checked(native.evcs_engine_pool_status(self.handle))
  return { size = size, checked_out = checked_out, overflow = overflow }
end

--- Runs one statement in autocommit mode, outside any session: a pooled connection runs it in
--- its own transaction (one round trip, no BEGIN/COMMIT) and goes straight back to the pool.
--- Returns the result table, or nil, err.
function Engine:execute(sql, params)
  return rows_or_failure(with_params(params, function(params_handle)
    return native.evcs_engine_execute(self.handle, sql, params_handle)
  end))
end

--- Engine:execute returning the first column of the first row, or nil, err.
function Engine:scalar(sql, params)
  return first_cell(self:execute(sql, params))
end

--- Starts an autocommit statement on the engine's I/O thread and returns a future; any number
--- may be in flight at once, sharing the pool. nil, err if it could not be queued.
function Engine:execute_async(sql, params)
  local status, future_handle = with_params(params, function(params_handle)
    return native.evcs_engine_execute_future(self.handle, sql, params_handle)
  end)
  if status ~= OK then return failure(status) end
  return setmetatable({ handle = future_handle }, Future)
end

local session_option_keys = { branch = true, author = true, autocommit = true }

--- A session for explicit control (s:commit, s:rollback, s:close; `<close>` closes it).
--- `options`: { branch = "main", author = nil }.
function Engine:open_session(options)
  check_keys("open_session", options, session_option_keys)
  options = options or {}
  local status, session_handle = native.evcs_session_open(self.handle, options.branch, options.author)
  if status ~= OK then return failure(status) end
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

-- ---- embedded server -------------------------------------------------------------------------

local Embedded = { __name = "evcs.embedded" }
Embedded.__index = Embedded

--- Starts (or joins) the process's embedded PostgreSQL server (docs/embedded.md). `options`:
--- { data_dir = nil, persist = false }. Fields: url, data_dir, persist.
function evcs.embedded(options)
  local options_handle = native_options(options)
  local status, embedded_handle = native.evcs_embedded_start(options_handle)
  local err = status ~= OK and last_error(status)
  native.evcs_options_free(options_handle)
  if err then return fail(err) end
  return setmetatable({
    handle = embedded_handle,
    url = checked(native.evcs_embedded_url(embedded_handle)),
    data_dir = checked(native.evcs_embedded_data_dir(embedded_handle)),
    persist = checked(native.evcs_embedded_persist(embedded_handle)) ~= 0,
  }, Embedded)
end

--- Releases this handle; the server stops when no handle or engine uses it any more.
function Embedded:close()
  native.evcs_embedded_free(self.handle)
  self.handle = nil
end
Embedded.__close = Embedded.close
Embedded.__gc = Embedded.close

-- ---- migrations (docs/migrations.md) --------------------------------------------------------------------
-- Steps are tables { version, slug, name, up_path, down_path, checksum }; applied records
-- { version, slug, checksum, applied_at (UTC micros), duration_ms, applied_by }.

local MigrationRunner = { __name = "evcs.migration_runner" }
MigrationRunner.__index = MigrationRunner

local migration_runner_keys = { author = true, on_batch = true }

--- A runner for the steps of `directory` on `engine`'s database, or nil, err (migration_error
--- naming the file when the directory is malformed). `options`: { author = nil, on_batch = nil };
--- on_batch(file, batch, rows, total_rows) is called after every batch of a batched step, and
--- an error it raises stops the run (the committed batches stay, the step stays pending).
--- The runner keeps the engine alive until it is closed.
-- The runner over what `open(options)` opened: status, handle.
local function open_migration_runner(name, options, open)
  check_keys(name, options, migration_runner_keys)
  options = options or {}
  local status, runner_handle = open(options)
  if status ~= OK then return failure(status) end
  local runner = setmetatable({ handle = runner_handle }, MigrationRunner)
  runner:set_on_batch(options.on_batch)
  return runner
end

function evcs.migration_runner(engine, directory, options)
  return open_migration_runner("migration_runner", options, function(opened)
    return native.evcs_migration_runner_open(engine and engine.handle, directory, opened.author)
  end)
end

--- The SDK's own catalog as a runner (same methods and options): its steps are compiled into
--- the engine, recorded in evcs_catalog_migration apart from the user's evcs_migration, and
--- every engine applies the pending ones on first use. runner:current() is the catalog's
--- version; runner:directory() is "evcs:catalog".
function evcs.catalog_migration_runner(engine, options)
  return open_migration_runner("catalog_migration_runner", options, function(opened)
    return native.evcs_migration_runner_open_catalog(engine and engine.handle, opened.author)
  end)
end

--- Sets (or, with nil, removes) the batch progress function of later upgrades and downgrades.
function MigrationRunner:set_on_batch(on_batch)
  if on_batch ~= nil and type(on_batch) ~= "function" then
    invalid_argument("set_on_batch: on_batch must be a function or nil")
  end
  self.on_batch = on_batch
end

--- Releases the runner (and its hold on the engine). Safe to call twice.
function MigrationRunner:close()
  native.evcs_migration_runner_free(self.handle)
  self.handle = nil
end
MigrationRunner.__close = MigrationRunner.close
MigrationRunner.__gc = MigrationRunner.close

function MigrationRunner:directory() return checked(native.evcs_migration_runner_directory(self.handle)) end

--- Every step of the directory, in order.
function MigrationRunner:steps() return json_call(native.evcs_migration_runner_steps, self.handle) end

-- A target as text: versions may be given as integers.
local function target_text(target)
  if target == nil or type(target) == "string" then return target end
  local version = math.tointeger(target)
  if version == nil then invalid_argument("a migration target is \"head\", \"base\", a version or \"+N\"/\"-N\"") end
  return tostring(version)
end

--- Applies the steps up to `target` ("head" when nil, a version, "+N"); the steps applied, or
--- nil, err.
function MigrationRunner:upgrade(target)
  return json_call(native.migration_run, self.handle, "upgrade", target_text(target), self.on_batch)
end

--- Reverts applied steps, newest first, down to `target` ("base", a version, "-N"); the steps
--- reverted, or nil, err.
function MigrationRunner:downgrade(target)
  return json_call(native.migration_run, self.handle, "downgrade", target_text(target), self.on_batch)
end

-- Calls `call(...)` (a native call returning a status and allocated text) and returns the text.
local function text_call(call, ...)
  local status, text = call(...)
  if status ~= OK then return failure(status) end
  return text
end

--- Offline mode: exactly the SQL upgrade(target) would run now (nothing changes), or nil, err.
function MigrationRunner:upgrade_sql(target)
  return text_call(native.evcs_migration_runner_upgrade_sql, self.handle, target_text(target))
end

--- Offline mode for downgrade(target).
function MigrationRunner:downgrade_sql(target)
  return text_call(native.evcs_migration_runner_downgrade_sql, self.handle, target_text(target))
end

--- The newest applied version; 0 at base (nothing applied). nil, err on failure.
function MigrationRunner:current()
  local status, version = native.evcs_migration_runner_current(self.handle)
  if status ~= OK then return failure(status) end
  return version
end

--- Applied records, oldest first.
function MigrationRunner:history() return json_call(native.evcs_migration_runner_history, self.handle) end

--- Steps not applied yet, in order.
function MigrationRunner:pending() return json_call(native.evcs_migration_runner_pending, self.handle) end

--- true, or nil, err (migration_error naming the applied file that was edited or removed).
function MigrationRunner:verify() return status_call(native.evcs_migration_runner_verify, self.handle) end

--- Records `target` ("head", "base", a version) as current without running a step.
function MigrationRunner:stamp(target)
  return status_call(native.evcs_migration_runner_stamp, self.handle, target_text(target))
end

--- Writes the next-numbered empty pair for `message` into `directory` (created if missing);
--- the path of the up file, or nil, err.
function evcs.new_migration_step(directory, message)
  return text_call(native.evcs_migration_new_step, directory, message)
end

-- ---- migration autogenerate (docs/migrations.md) -------------------------------------------------------

local autogenerate_keys = { schema = true, document = true, dir = true }

--- Compares the declared schema file options.schema (JSON; docs/migrations.md, "Autogenerate")
--- with `engine`'s database and writes the next-numbered up/down pair for `message` into
--- options.dir (default "migrations"). Instead of a file, options.document may give the same
--- JSON document as text. Returns { changes = {...}, warnings = {...}, up_sql, down_sql,
--- up_path, down_path }: no changes and nil paths when the database already matches (nothing
--- written); or nil, err (migration_error while steps of the directory are not applied). A bad
--- schema raises invalid_argument naming the file (or "schema") and the JSON path.
function evcs.autogenerate(engine, message, options)
  check_keys("autogenerate", options, autogenerate_keys)
  options = options or {}
  if type(options.document) == "string" and options.schema == nil then
    return json_call(native.evcs_migration_autogenerate_text, engine and engine.handle, message,
                     options.document, options.dir)
  end
  if type(options.schema) ~= "string" or options.document ~= nil then
    invalid_argument("autogenerate needs either options.schema, the path of the schema file, "
                     .. "or options.document, the schema as JSON text")
  end
  return json_call(native.evcs_migration_autogenerate, engine and engine.handle, message,
                   options.schema, options.dir)
end

-- ---- backup and verified restore (docs/backup.md) -------------------------------------------------
-- A manifest is { archive, server_version_num, tables = { { table, rows, md5 }, ... } }.

--- Dumps the database at `url` into `archive` and writes its manifest; the manifest or nil, err.
function evcs.backup(url, archive) return json_call(native.evcs_database_backup, url, archive) end

--- Restores `archive` into the empty database at `target_url` and verifies it.
function evcs.restore(archive, target_url)
  return json_call(native.evcs_database_restore, archive, target_url)
end

--- Checks the database at `target_url` against the manifest of `archive`.
function evcs.verify_restore(archive, target_url)
  return json_call(native.evcs_database_verify_restore, archive, target_url)
end

-- The classes behind the objects, for introspection (the parity test checks their methods).
evcs.classes = { Engine = Engine, Session = Session, Transaction = Transaction, Future = Future,
                 Embedded = Embedded, Repository = Repository }

evcs.classes.MigrationRunner = MigrationRunner

return evcs
