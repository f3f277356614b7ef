--- evcs.transaction: explicit transactions and savepoints (the Transaction class), the scoped
-- blocks s:begin(fn) and s:begin_nested(fn), and s:run_in_transaction(fn) with the engine's
-- retries. Separate because how a block's results decide commit or rollback is one rule, which
-- engine:session(fn) follows too (finish_block).
local native = require("evcs_native")
local errors = require("evcs.errors")
local handles = require("evcs.handles")
local Session = require("evcs.session").Session

local OK = native.EVCS_OK
local failure, is_error, status_call = errors.failure, errors.is_error, errors.status_call

local transaction = {}

local Transaction = handles.class("evcs.transaction", native.evcs_transaction_free)
transaction.Transaction = Transaction

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
  return status_call(native.evcs_transaction_commit, self.handle)
end

function Transaction:rollback()
  return status_call(native.evcs_transaction_rollback, self.handle)
end

function Transaction:is_active()
  return errors.checked(native.evcs_transaction_is_active(self.handle)) ~= 0
end

-- Whether a unit of work's results mean failure in the `nil, err` convention.
local function returned_failure(results)
  return results[1] and results[2] == nil and is_error(results[3])
end

-- A scoped block's results from pcall's: true when it returned none, so `assert(...)` works.
local function block_results(results)
  if results.n == 1 then return true end
  return table.unpack(results, 2, results.n)
end

-- Ends a scoped block given pcall's results: `commit` on a normal return, `rollback` on an
-- error (re-raised) or a returned `nil, err` (returned). Returns the block's results. A failing
-- rollback never hides the block's own error.
function transaction.finish_block(results, commit, rollback)
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
  local open <close>, err = open_transaction(session, opener)
  if open == nil then return nil, err end
  return transaction.finish_block(table.pack(pcall(fn)),
                                  function() return open:commit() end,
                                  function() open:rollback() end)
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
    if is_error(err) then return native.evcs_error_set(err.status, err.sqlstate, err.message) end
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

return transaction
