local evcs = require "evcs"

-- Whether a file exists (and can be opened for reading).
local function file_exists(path)
  local file = io.open(path, "r")
  if file == nil then return false end
  file:close()
  return true
end

-- A fresh path for a directory that does not exist yet.
local function unused_directory_path()
  local path = os.tmpname()
  os.remove(path)
  return path
end

describe("embedded server", function()
  it("starts a private server that an engine can use, and stops it at close", function()
    local data_dir = unused_directory_path()
    local server = assert(evcs.embedded { data_dir = data_dir })
    assert.are.equal(data_dir, server.data_dir)
    assert.is_false(server.persist)
    assert.are.equal("string", type(server.url))
    assert.is_true(file_exists(data_dir .. "/PG_VERSION"))
    do
      local engine <close> = assert(evcs.engine { url = server.url })
      assert.are.equal(42, engine:session(function(s) return s:scalar("SELECT 42") end))
    end
    server:close()
    assert.is_false(file_exists(data_dir .. "/PG_VERSION"))
  end)

  it("raises invalid_argument naming an unknown option", function()
    local ok, err = pcall(evcs.embedded, { data_directory = "/tmp/x" })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    assert.matches("data_directory", err.message)
  end)
end)
