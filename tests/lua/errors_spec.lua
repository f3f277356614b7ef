local evcs = require "evcs"
local helper = require "helper"

-- Runs fn and returns the error value it raised (failing the test if it did not raise).
local function raised_by(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error to be raised")
  return err
end

describe("errors", function()
  local url, engine

  setup(function()
    url = helper.fresh_database("errors")
    engine = assert(evcs.engine { url = url })
    assert(engine:session(function(s)
      assert(s:execute("CREATE TABLE account (id bigint PRIMARY KEY, email text UNIQUE)"))
    end))
  end)

  teardown(function() engine:close() end)

  it("lists the stable code names in status order", function()
    assert.are.same({ "error", "not_found", "conflict", "merge_conflict", "concurrent_modification",
                      "branch_locked", "integrity_error", "invalid_argument", "pool_timeout",
                      "connection_lost", "serialization_failure", "migration_error", "misuse" },
                    evcs.errors)
    assert.are.equal("0.1.0", evcs.version)
  end)

  it("returns nil, err for a unique violation", function()
    local s <close> = engine:open_session()
    assert(s:execute("INSERT INTO account VALUES (1, 'ada@example.org')"))
    local result, err = s:execute("INSERT INTO account VALUES (2, 'ada@example.org')")
    assert.is_nil(result)
    assert.is_true(evcs.is_error(err))
    assert.are.equal("integrity_error", err.code)
    assert.are.equal(-7, err.status)
    assert.are.equal("23505", err.sqlstate)
    assert.is_false(err.retryable)
    assert.matches("account_email_key", err.message)
    assert.matches("^evcs%.integrity_error: .*%[SQLSTATE 23505%]$", tostring(err))
  end)

  it("raises invalid_argument for a syntax error", function()
    local s <close> = engine:open_session()
    local err = raised_by(s.execute, s, "SELEC 1")
    assert.is_true(evcs.is_error(err))
    assert.are.equal("invalid_argument", err.code)
    assert.are.equal(-8, err.status)
    assert.are.equal("42601", err.sqlstate)
    assert.matches('syntax error at or near "SELEC"', err.message)
  end)

  it("raises invalid_argument for a text parameter that is not valid UTF-8", function()
    local s <close> = engine:open_session()
    local err = raised_by(s.execute, s, "SELECT $1::text", { "abc\xff" })
    assert.are.equal("invalid_argument", err.code)
    assert.matches("not valid UTF%-8", err.message)
    assert.is_nil(err.sqlstate)
  end)

  it("returns nil, err with code pool_timeout naming size, overflow and timeout", function()
    local small <close> = assert(evcs.engine { url = url, pool_size = 1, max_overflow = 0, pool_timeout = 0.3 })
    local holder <close> = small:open_session()
    local waiter <close> = small:open_session()
    assert(holder:execute("SELECT 1"))
    local result, err = waiter:execute("SELECT 1")
    assert.is_nil(result)
    assert.are.equal("pool_timeout", err.code)
    assert.are.equal(-9, err.status)
    assert.matches("pool_size=1", err.message, 1, true)
    assert.matches("max_overflow=0", err.message, 1, true)
    assert.matches("pool_timeout=0.3", err.message, 1, true)
    holder:close()
    assert.are.equal(1, waiter:scalar("SELECT 1"))
  end)

  it("raises invalid_argument naming an unknown engine option", function()
    local err = raised_by(evcs.engine, { url = url, pool_sise = 3 })
    assert.are.equal("invalid_argument", err.code)
    assert.matches("pool_sise", err.message)
  end)

  it("raises invalid_argument for an option value of the wrong form", function()
    local err = raised_by(evcs.engine, { url = url, pool_size = "many" })
    assert.are.equal("invalid_argument", err.code)
    assert.matches("pool_size", err.message)
    err = raised_by(evcs.engine, { url = url, echo = {} })
    assert.are.equal("invalid_argument", err.code)
    assert.matches("echo", err.message)
  end)

  it("raises invalid_argument for a malformed URL", function()
    local err = raised_by(evcs.engine, "this is = not a URL")
    assert.are.equal("invalid_argument", err.code)
    assert.matches("malformed database URL", err.message)
  end)

  it("returns nil, err connection_lost when the server is down", function()
    local down_url = "postgresql:///postgres?host=/nonexistent-evcs-socket&user=postgres"
    local down <close> = assert(evcs.engine { url = down_url })
    local s <close> = down:open_session()
    local result, err = s:execute("SELECT 1")
    assert.is_nil(result)
    assert.are.equal("connection_lost", err.code)
    assert.are.equal("08001", err.sqlstate)
    assert.matches("nonexistent%-evcs%-socket", err.message)
  end)

  it("raises misuse when a closed engine is used", function()
    local closed = assert(evcs.engine { url = url })
    closed:close()
    local err = raised_by(closed.open_session, closed)
    assert.are.equal("misuse", err.code)
    assert.matches("engine", err.message)
  end)
end)
