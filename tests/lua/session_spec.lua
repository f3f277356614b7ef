local evcs = require "evcs"
local helper = require "helper"

describe("sessions", function()
  local engine

  setup(function()
    engine = assert(evcs.engine { url = helper.fresh_database("session") })
    assert(engine:session(function(s)
      assert(s:execute("CREATE TABLE item (id bigint PRIMARY KEY, name text NOT NULL)"))
    end))
  end)

  teardown(function() engine:close() end)

  before_each(function()
    assert(engine:session(function(s) assert(s:execute("TRUNCATE item")) end))
  end)

  local function names()
    return engine:session(function(s)
      local found = {}
      for row in s:rows("SELECT name FROM item ORDER BY id") do found[#found + 1] = row.name end
      return found
    end)
  end

  it("commits when the session function returns and hands back its results", function()
    local first, second = engine:session(function(s)
      local result = assert(s:execute("INSERT INTO item VALUES ($1, $2), ($3, $4)", { 1, "a", 2, "b" }))
      return result.rows_affected, "done"
    end)
    assert.are.equal(2, first)
    assert.are.equal("integer", math.type(first))
    assert.are.equal("done", second)
    assert.are.same({ "a", "b" }, names())
  end)

  it("rolls back and re-raises when the session function raises", function()
    local ok, err = pcall(engine.session, engine, function(s)
      assert(s:execute("INSERT INTO item VALUES (1, 'lost')"))
      error("application failure")
    end)
    assert.is_false(ok)
    assert.matches("application failure", err)
    assert.are.same({}, names())
  end)

  it("rolls back and returns nil, err when the session function returns nil, err", function()
    local result, err = engine:session(function(s)
      assert(s:execute("INSERT INTO item VALUES (1, 'first')"))
      return s:execute("INSERT INTO item VALUES (1, 'duplicate')")
    end)
    assert.is_nil(result)
    assert.are.equal("integrity_error", err.code)
    assert.are.equal("23505", err.sqlstate)
    assert.are.same({}, names())
  end)

  it("passes branch and author to the session", function()
    local branch, author = engine:session(function(s) return s:branch(), s:author() end,
                                          { branch = "feature", author = "ada" })
    assert.are.equal("feature", branch)
    assert.are.equal("ada", author)
    assert.are.equal("main", engine:session(function(s) return s:branch() end))
  end)

  it("rejects an unknown session option by name", function()
    local ok, err = pcall(engine.session, engine, function() end, { brnach = "x" })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    assert.matches("brnach", err.message)
  end)

  it("gives explicit control with commit, rollback and close", function()
    local s = engine:open_session()
    assert(s:execute("INSERT INTO item VALUES (1, 'kept')"))
    assert.is_true(s:in_transaction())
    assert.is_true(s:commit("first item"))
    assert.is_false(s:in_transaction())
    assert(s:execute("INSERT INTO item VALUES (2, 'dropped')"))
    assert.is_true(s:rollback())
    s:close()
    s:close()
    assert.are.same({ "kept" }, names())
  end)

  it("rolls back what a <close> session left uncommitted", function()
    do
      local s <close> = engine:open_session()
      assert(s:execute("INSERT INTO item VALUES (1, 'uncommitted')"))
    end
    assert.are.same({}, names())
    assert.are.equal(0, engine:pool_status().checked_out)
  end)

  it("returns the connection of a session that is garbage collected without close", function()
    local function leak_session()
      local s = engine:open_session()
      assert(s:execute("INSERT INTO item VALUES (1, 'never committed')"))
      assert.are.equal(1, engine:pool_status().checked_out)
    end
    leak_session()
    collectgarbage()
    collectgarbage()
    assert.are.equal(0, engine:pool_status().checked_out)
    assert.are.same({}, names())
  end)

  it("raises a misuse error when a closed session is used", function()
    local s = engine:open_session()
    s:close()
    local ok, err = pcall(s.execute, s, "SELECT 1")
    assert.is_false(ok)
    assert.is_true(evcs.is_error(err))
    assert.are.equal("misuse", err.code)
    assert.are.equal(-13, err.status)
    assert.is_nil(err.sqlstate)
  end)

  it("commits a begin block and rolls it back when it raises", function()
    local s <close> = engine:open_session()
    assert.are.equal("committed", s:begin(function()
      assert(s:execute("INSERT INTO item VALUES (1, 'in block')"))
      return "committed"
    end))
    local ok, err = pcall(s.begin, s, function()
      assert(s:execute("INSERT INTO item VALUES (2, 'raised')"))
      error({ reason = "custom error value" })
    end)
    assert.is_false(ok)
    assert.are.same({ reason = "custom error value" }, err)
    assert.are.same({ "in block" }, names())
  end)

  it("rolls back only the nested block, and the outer transaction continues", function()
    local s <close> = engine:open_session()
    assert(s:begin(function()
      assert(s:execute("INSERT INTO item VALUES (1, 'outer')"))
      local ok = pcall(s.begin_nested, s, function()
        assert(s:execute("INSERT INTO item VALUES (2, 'inner')"))
        error("inner failure")
      end)
      assert.is_false(ok)
      assert(s:begin_nested(function()
        assert(s:execute("INSERT INTO item VALUES (3, 'inner kept')"))
        return true
      end))
      return true
    end))
    assert.are.same({ "outer", "inner kept" }, names())
  end)

  it("gives explicit transaction objects; an active one is rolled back at <close>", function()
    local s <close> = engine:open_session()
    local tx = assert(s:begin_transaction())
    assert(s:execute("INSERT INTO item VALUES (1, 'explicit')"))
    assert.is_true(tx:is_active())
    assert.is_true(tx:commit())
    assert.is_false(tx:is_active())
    tx:close()
    do
      local abandoned <close> = assert(s:begin_transaction())
      assert(s:execute("INSERT INTO item VALUES (2, 'abandoned')"))
    end
    local nested_tx = nil
    assert(s:begin(function()
      assert(s:execute("INSERT INTO item VALUES (3, 'outer')"))
      nested_tx = assert(s:begin_nested_transaction())
      assert(s:execute("INSERT INTO item VALUES (4, 'savepoint')"))
      assert.is_true(nested_tx:rollback())
      return true
    end))
    nested_tx:close()
    assert.are.same({ "explicit", "outer" }, names())
  end)

  it("iterates rows with generic for, including an early break", function()
    assert(engine:session(function(s)
      assert(s:execute("INSERT INTO item SELECT n, 'item ' || n FROM generate_series(1, 5) AS n"))
    end))
    local s <close> = engine:open_session()
    local seen = {}
    for row in s:rows("SELECT id, name FROM item WHERE id > $1 ORDER BY id", { 2 }) do
      seen[#seen + 1] = row.id .. "=" .. row.name
    end
    assert.are.same({ "3=item 3", "4=item 4", "5=item 5" }, seen)
    local first = nil
    for row in s:rows("SELECT id FROM item ORDER BY id") do
      first = row.id
      break
    end
    assert.are.equal(1, first)
  end)

  it("returns a scalar, evcs.null for NULL and nil for no row", function()
    local s <close> = engine:open_session()
    assert.are.equal(7, s:scalar("SELECT 7"))
    assert.are.equal(evcs.null, s:scalar("SELECT NULL::text"))
    assert.is_nil(s:scalar("SELECT 1 WHERE false"))
  end)

  it("reports result columns in order and rows affected", function()
    local s <close> = engine:open_session()
    local inserted = assert(s:execute("INSERT INTO item VALUES (1, 'x'), (2, 'y')"))
    assert.are.equal(2, inserted.rows_affected)
    assert.are.same({}, inserted.columns)
    local updated = assert(s:execute("UPDATE item SET name = upper(name) RETURNING id, name"))
    assert.are.equal(2, updated.rows_affected)
    assert.are.same({ "id", "name" }, updated.columns)
    table.sort(updated, function(a, b) return a.id < b.id end)
    assert.are.same({ id = 1, name = "X" }, updated[1])
    assert.are.same({ id = 2, name = "Y" }, updated[2])
  end)

  it("reports the URL and the pool status", function()
    assert.matches("dbname=evcs_lua_session", engine:url())
    local s <close> = engine:open_session()
    assert(s:execute("SELECT 1"))
    local status = engine:pool_status()
    assert.are.equal(1, status.checked_out)
    assert.are.equal(0, status.overflow)
    assert.are.equal("integer", math.type(status.size))
    s:close()
    assert.are.equal(0, engine:pool_status().checked_out)
    assert.is_true(engine:dispose())
    assert.are.equal(0, engine:pool_status().size)
  end)
end)
