--- evcs.session: the Session class and its plain SQL work (execute, scalar, rows, commit,
-- rollback, modes). Every other topic adds its Session methods from its own module
-- (transaction, async, entity_types, repository, branching, commits, merge), so this file stays
-- the session's core and each concept is found under its own name.
local native = require("evcs_native")
local errors = require("evcs.errors")
local handles = require("evcs.handles")
local parameters = require("evcs.params")
local results = require("evcs.results")
local values = require("evcs.values")

local OK = native.EVCS_OK
local checked, status_call = errors.checked, errors.status_call

-- s:close() rolls back anything uncommitted, returns the connection and releases the session;
-- using it afterwards raises a misuse error.
local Session = handles.class("evcs.session", native.evcs_session_free)

-- evcs_session_execute: the status and the native result.
local function execute_native(session, sql, params)
  return parameters.with(params, function(params_handle)
    return native.evcs_session_execute(session.handle, sql, params_handle)
  end)
end

--- Executes `sql` with server-side parameters ($1, $2, ...). Returns the result table, or
--- nil, err.
function Session:execute(sql, params)
  return results.rows_or_failure(execute_native(self, sql, params))
end

--- Executes `sql` like execute and returns its rows as columns (docs/lua.md, "Columns"), or
--- nil, err.
function Session:columns(sql, params)
  local status, result_handle = execute_native(self, sql, params)
  if status ~= OK then return errors.failure(status) end
  local columns_status, columns = native.result_columns(result_handle, values.null)
  return results.columns(columns_status, columns, result_handle)
end

--- The first column of the first row (evcs.null for SQL NULL, nil when there is no row), or
--- nil, err.
function Session:scalar(sql, params)
  return results.first_cell(self:execute(sql, params))
end

-- Owns a native result while a generic `for` walks it; closed when the loop ends or breaks.
local RowCursor = handles.class("evcs.rows", native.evcs_result_free)

--- An iterator over the rows of `sql`, for generic `for`. Rows are converted one at a time.
--- A failure is raised (a generic `for` cannot receive nil, err): use s:execute for that form.
function Session:rows(sql, params)
  local status, result_handle = execute_native(self, sql, params)
  if status ~= OK then error(errors.last_error(status), 0) end
  local cursor = setmetatable({ handle = result_handle }, RowCursor)
  local row_count = checked(native.evcs_result_row_count(result_handle))
  local columns, readers = results.shape(result_handle)
  local next_row = 0
  local function next_row_table()
    if cursor.handle == nil or next_row >= row_count then return nil end
    next_row = next_row + 1
    return results.row(cursor.handle, next_row - 1, columns, readers)
  end
  return next_row_table, nil, nil, cursor
end

--- Commits the current transaction; `message` goes to the commit log. true, or nil, err.
function Session:commit(message)
  return status_call(native.evcs_session_commit, self.handle, message)
end

--- Rolls back the current transaction. true, or nil, err.
function Session:rollback()
  return status_call(native.evcs_session_rollback, self.handle)
end

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

return { Session = Session }
