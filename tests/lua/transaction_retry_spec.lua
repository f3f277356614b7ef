local evcs = require "evcs"
local helper = require "helper"

-- Raises an evcs error object as is, as plain Lua `assert(result, err)` does. (Inside busted,
-- `assert` wraps a raised value that has __tostring into its own failure object.)
local function raise_on_failure(result, err)
  if result == nil then error(err, 0) end
  return result
end

describe("run_in_transaction", function()
  local engine

  setup(function()
    engine = assert(evcs.engine { url = helper.fresh_database("retry") })
    assert(engine:session(function(s)
      assert(s:execute("CREATE TABLE counter (id int PRIMARY KEY, value bigint NOT NULL)"))
    end))
  end)

  teardown(function() engine:close() end)

  before_each(function()
    assert(engine:session(function(s)
      assert(s:execute("TRUNCATE counter"))
      assert(s:execute("INSERT INTO counter VALUES (1, 0)"))
    end))
  end)

  local function counter_value()
    return engine:session(function(s) return s:scalar("SELECT value FROM counter WHERE id = 1") end)
  end

  -- The first attempt reads under REPEATABLE READ, then another session commits an update of
  -- the same row, so the attempt's own update fails with a serialization failure (40001).
  local function increment_with_interference(s, attempts_seen)
    attempts_seen[#attempts_seen + 1] = true
    assert(s:execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
    local value = s:scalar("SELECT value FROM counter WHERE id = 1")
    if #attempts_seen == 1 then
      assert(engine:session(function(other)
        assert(other:execute("UPDATE counter SET value = value + 100 WHERE id = 1"))
      end))
    end
    raise_on_failure(s:execute("UPDATE counter SET value = $1 WHERE id = 1", { value + 1 }))
    return value + 1
  end

  it("retries a serialization failure raised as the error object and returns the results", function()
    local s <close> = engine:open_session()
    local attempts_seen = {}
    local result = s:run_in_transaction(function(session)
      return increment_with_interference(session, attempts_seen)
    end, 3)
    assert.are.equal(2, #attempts_seen)
    assert.are.equal(101, result)
    assert.are.equal(101, counter_value())
  end)

  it("retries a serialization failure returned as nil, err", function()
    local s <close> = engine:open_session()
    local calls = 0
    local result = s:run_in_transaction(function(session)
      calls = calls + 1
      assert(session:execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
      local value = session:scalar("SELECT value FROM counter WHERE id = 1")
      if calls == 1 then
        assert(engine:session(function(other)
          assert(other:execute("UPDATE counter SET value = 10 WHERE id = 1"))
        end))
      end
      local updated, err = session:execute("UPDATE counter SET value = $1 WHERE id = 1", { value + 5 })
      if not updated then return nil, err end
      return "updated"
    end)
    assert.are.equal(2, calls)
    assert.are.equal("updated", result)
    assert.are.equal(15, counter_value())
  end)

  it("returns nil, err serialization_failure when every attempt fails", function()
    local s <close> = engine:open_session()
    local calls = 0
    local result, err = s:run_in_transaction(function(session)
      calls = calls + 1
      assert(session:execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
      assert(session:scalar("SELECT value FROM counter WHERE id = 1"))
      assert(engine:session(function(other)
        assert(other:execute("UPDATE counter SET value = value + 1 WHERE id = 1"))
      end))
      raise_on_failure(session:execute("UPDATE counter SET value = 0 WHERE id = 1"))
    end, 2)
    assert.is_nil(result)
    assert.are.equal(2, calls)
    assert.are.equal("serialization_failure", err.code)
    assert.are.equal("40001", err.sqlstate)
    assert.is_true(err.retryable)
    assert.are.equal(2, counter_value())
  end)

  it("does not retry a non-retryable failure and returns it", function()
    local s <close> = engine:open_session()
    local calls = 0
    local result, err = s:run_in_transaction(function(session)
      calls = calls + 1
      assert(session:execute("UPDATE counter SET value = 7 WHERE id = 1"))
      return session:execute("INSERT INTO counter VALUES (1, 0)")
    end)
    assert.is_nil(result)
    assert.are.equal(1, calls)
    assert.are.equal("integrity_error", err.code)
    assert.are.equal("23505", err.sqlstate)
    assert.are.equal(0, counter_value())
  end)

  it("re-raises a Lua error from the body as is, after rolling back, without retrying", function()
    local s <close> = engine:open_session()
    local calls = 0
    local failure = { reason = "application bug" }
    local ok, err = pcall(s.run_in_transaction, s, function(session)
      calls = calls + 1
      assert(session:execute("UPDATE counter SET value = 99 WHERE id = 1"))
      error(failure)
    end)
    assert.is_false(ok)
    assert.are.equal(failure, err)
    assert.are.equal(1, calls)
    assert.are.equal(0, counter_value())
  end)

  it("returns true when the body returns nothing", function()
    local s <close> = engine:open_session()
    assert.is_true(s:run_in_transaction(function(session)
      assert(session:execute("UPDATE counter SET value = 3 WHERE id = 1"))
    end))
    assert.are.equal(3, counter_value())
  end)
end)
