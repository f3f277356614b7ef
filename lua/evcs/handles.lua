--- evcs.handles: Lua objects that own one native handle. Every class of the layer frees its
-- handle the same way (close(), `<close>` and garbage collection; closing twice is safe because
-- the C ABI's destroy functions accept NULL), so that rule is written once, here.
local errors = require("evcs.errors")

local handles = {}

-- A class named `name` whose objects hold their native handle in `object.handle`: close()
-- (also `__close` and `__gc`) runs `before_free(object)` when given, then frees the handle with
-- `free` and forgets it.
function handles.class(name, free, before_free)
  local Class = { __name = name }
  Class.__index = Class
  function Class:close()
    if before_free then before_free(self) end
    free(self.handle)
    self.handle = nil
  end
  Class.__close = Class.close
  Class.__gc = Class.close
  return Class
end

-- A native handle made by `new()` (a call returning a status and the handle) and filled by
-- `fill(handle)`; if filling raises, the handle is freed with `free` and the error re-raised.
function handles.new_filled(new, free, fill)
  local handle = errors.checked(new())
  local ok, err = pcall(fill, handle)
  if not ok then
    free(handle)
    error(err, 0)
  end
  return handle
end

-- Calls `call(handle)` (a native call returning a status and a handle) with a native `handle`
-- made for this call alone, then frees that with `free`: the call's status and handle.
function handles.lend(handle, free, call)
  local status, result = call(handle)
  free(handle)
  return status, result
end

return handles
