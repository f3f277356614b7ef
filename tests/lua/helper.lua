--- Test support: each spec file gets its own fresh database on the server the test run started
--- (DATABASE_URL, set by scripts/test).
local evcs = require "evcs"

local helper = {}

function helper.server_url()
  local url = os.getenv("DATABASE_URL")
  assert(url ~= nil and url ~= "", "DATABASE_URL is not set: run the tests through scripts/test")
  return url
end

--- `url` (a libpq URL or key=value conninfo) with its database replaced by `dbname`.
function helper.url_with_database(url, dbname)
  local scheme, rest = url:match("^(postgres[a-z]*://)(.*)$")
  if scheme then
    local authority, query = rest:match("^([^/?]*)/?[^?]*(.*)$")
    return scheme .. authority .. "/" .. dbname .. query
  end
  local without_dbname = url:gsub("dbname%s*=%s*'[^']*'", ""):gsub("dbname%s*=%s*%S+", "")
  return without_dbname .. " dbname=" .. dbname
end

-- Statements that cannot run inside a transaction block (every evcs statement runs in one) go
-- through dblink, which opens its own connection to the server.
local function exec_outside_transaction(admin, sql)
  assert(admin:session(function(s)
    if s:scalar("SELECT count(*) FROM pg_extension WHERE extname = 'dblink'") == 0 then
      assert(s:execute("CREATE EXTENSION dblink"))
    end
    return assert(s:execute("SELECT dblink_exec($1, $2)", { helper.server_url(), sql }))
  end))
end

--- Drops and re-creates database `evcs_lua_<name>` and returns a URL for it.
function helper.fresh_database(name)
  local dbname = "evcs_lua_" .. name
  local admin <close> = assert(evcs.engine { url = helper.server_url(), pool_size = 1 })
  exec_outside_transaction(admin, "DROP DATABASE IF EXISTS " .. dbname .. " WITH (FORCE)")
  exec_outside_transaction(admin, "CREATE DATABASE " .. dbname .. " STRATEGY FILE_COPY")
  return helper.url_with_database(helper.server_url(), dbname)
end

--- Empties the public schema of the database at `url` (its entity types and evcs's catalog go;
--- the next engine installs the catalog again).
function helper.empty_schema(url)
  local cleaner <close> = assert(evcs.engine { url = url })
  assert(cleaner:session(function(s)
    assert(s:execute("DROP SCHEMA public CASCADE"))
    assert(s:execute("CREATE SCHEMA public"))
  end))
end

return helper
