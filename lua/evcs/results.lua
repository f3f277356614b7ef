--- evcs.results: native results as Lua tables, a cell at a time (docs/lua.md, "Values"). Kept
-- apart from sessions because the engine's autocommit statements, futures and row iterators
-- read results the same way.
local native = require("evcs_native")
local errors = require("evcs.errors")
local values = require("evcs.values")

local OK = native.EVCS_OK
local checked = errors.checked

local results = {}

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
function results.shape(result_handle)
  local columns, readers = {}, {}
  for column = 0, checked(native.evcs_result_column_count(result_handle)) - 1 do
    columns[column + 1] = checked(native.evcs_result_column_name(result_handle, column))
    local column_type = checked(native.evcs_result_column_type(result_handle, column))
    readers[column + 1] = cell_readers[column_type] or native.evcs_result_get_text
  end
  return columns, readers
end

function results.row(result_handle, row, columns, readers)
  local row_values = {}
  for index, name in ipairs(columns) do
    if checked(native.evcs_result_is_null(result_handle, row, index - 1)) ~= 0 then
      row_values[name] = values.null
    else
      row_values[name] = checked(readers[index](result_handle, row, index - 1))
    end
  end
  return row_values
end

-- The Lua form of a native result (which it frees): an array of rows keyed by column name,
-- plus `columns` (array of names) and `rows_affected`.
function results.rows(result_handle)
  local ok, result = pcall(function()
    local columns, readers = results.shape(result_handle)
    local rows = { columns = columns,
                   rows_affected = checked(native.evcs_result_rows_affected(result_handle)) }
    for row = 0, checked(native.evcs_result_row_count(result_handle)) - 1 do
      rows[row + 1] = results.row(result_handle, row, columns, readers)
    end
    return rows
  end)
  native.evcs_result_free(result_handle)
  if not ok then error(result, 0) end
  return result
end

-- The columns table of native.result_columns' status and columns (nil, err on failure), freeing
-- the result they were read from when one is given.
function results.columns(status, columns, result_handle)
  if result_handle ~= nil then native.evcs_result_free(result_handle) end
  if status ~= OK then return errors.failure(status) end
  return columns
end

-- The result table of a native execute call's status and result, or nil, err.
function results.rows_or_failure(status, result_handle)
  if status ~= OK then return errors.failure(status) end
  return results.rows(result_handle)
end

-- The first column of the first row of a result table (evcs.null for SQL NULL, nil when
-- there is no row), or the nil, err it was given.
function results.first_cell(rows, err)
  if rows == nil then return nil, err end
  if rows[1] == nil or rows.columns[1] == nil then return nil end
  return rows[1][rows.columns[1]]
end

return results
