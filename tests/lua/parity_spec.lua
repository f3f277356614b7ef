-- Parity, Lua side: every capability of tests/parity/capabilities.txt exists in the module.
local evcs = require "evcs"

local function manifest_path()
  local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
  return here .. "../parity/capabilities.txt"
end

local function capabilities()
  local rows = {}
  for line in io.lines(manifest_path()) do
    if line:match("%S") and not line:match("^#") then
      local name, c_name, _, _, lua_name = line:match("^(%S+)%s+(%S+)%s+(%S+)%s+(%S+)%s+(%S+)%s*$")
      assert(name, "malformed capability row: " .. line)
      rows[#rows + 1] = { name = name, c = c_name, lua = lua_name }
    end
  end
  return rows
end

-- "a.b.c" indexes evcs; "f().x" calls evcs.f() once and indexes the object it returns.
local constructed = {}
local function resolve(path)
  local constructor, field = path:match("^([%w_]+)%(%)%.([%w_]+)$")
  if constructor then
    constructed[constructor] = constructed[constructor] or assert(evcs[constructor]())
    return constructed[constructor][field]
  end
  local target = evcs
  for part in path:gmatch("[^.]+") do
    target = target[part]
    if target == nil then return nil end
  end
  return target
end

local function contains(list, value)
  for _, item in ipairs(list) do
    if item == value then return true end
  end
  return false
end

-- A valid value for each option a parameter row names ("classes.Session.merge(message)").
local sample_argument_values = { as_of = 0, message = "parity", strategy = "ours", resolutions = {},
                                 document = "{}" }

-- Whether `method` accepts option `parameter`: called on a session of an engine that cannot
-- connect, it fails to reach the server rather than raising an unknown-option error.
local function accepts_option(method, parameter)
  local value = sample_argument_values[parameter]
  assert(value ~= nil, parameter .. " has no sample value in this spec")
  local engine <close> = evcs.engine { url = "postgresql:///none?host=/nonexistent-evcs" }
  local session <close> = engine:open_session()
  local ok, err = pcall(method, session, "parity", { [parameter] = value })
  return ok or not tostring(err and err.message or err):find("unknown option", 1, true)
end

-- A valid value for each engine option: an engine accepts it (engines connect lazily).
local sample_option_values = {
  url = "postgresql:///none?host=/nonexistent-evcs", pool_size = 2, max_overflow = 0,
  pool_timeout = 1.5, pool_recycle = 60, pool_pre_ping = false, echo = true,
  statement_cache_size = 5, application_name = "parity",
}

describe("parity", function()
  local rows = capabilities()

  it("reads the whole manifest", function()
    assert.is_true(#rows > 50)
  end)

  it("has every capability in Lua", function()
    for _, row in ipairs(rows) do
      if row.name:match("^error%.") then
        assert.is_true(contains(evcs.errors, row.lua), row.name)
        assert.are.equal(row.c, row.lua, row.name)
      elseif row.name:match("^option%.") then
        local value = sample_option_values[row.lua]
        assert.is_not_nil(value, row.name .. " has no sample value in this spec")
        local options = { url = "postgresql:///none?host=/nonexistent-evcs" }
        options[row.lua] = value
        local engine = evcs.engine(options)
        engine:close()
      else
        local path, parameter = row.lua:match("^([%w_.]+)%(([%w_]+)%)$")
        local method = resolve(path or row.lua)
        assert.is_not_nil(method, row.name .. ": " .. row.lua)
        if parameter then assert.is_true(accepts_option(method, parameter), row.name) end
      end
    end
    for _, object in pairs(constructed) do object:close() end
  end)
end)
