--- evcs.embedded: the process's embedded PostgreSQL server (docs/embedded.md). A program uses
-- it instead of a server URL, or not at all, so it stands apart from the engine.
local native = require("evcs_native")
local errors = require("evcs.errors")
local handles = require("evcs.handles")
local options_module = require("evcs.options")

local checked = errors.checked

local embedded = {}

-- Closing releases this handle; the server stops when no handle or engine uses it any more.
local Embedded = handles.class("evcs.embedded", native.evcs_embedded_free)
embedded.Embedded = Embedded

--- Starts (or joins) the process's embedded PostgreSQL server (docs/embedded.md). `options`:
--- { data_dir = nil, persist = false }. Fields: url, data_dir, persist.
function embedded.start(options)
  local embedded_handle, err = options_module.open_with(options, native.evcs_embedded_start)
  if embedded_handle == nil then return nil, err end
  return setmetatable({
    handle = embedded_handle,
    url = checked(native.evcs_embedded_url(embedded_handle)),
    data_dir = checked(native.evcs_embedded_data_dir(embedded_handle)),
    persist = checked(native.evcs_embedded_persist(embedded_handle)) ~= 0,
  }, Embedded)
end

return embedded
