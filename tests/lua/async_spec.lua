local evcs = require "evcs"
local helper = require "helper"

describe("async futures", function()
  local engine

  setup(function()
    engine = assert(evcs.engine { url = helper.fresh_database("async"), pool_size = 4 })
  end)

  teardown(function() engine:close() end)

  it("runs futures from four sessions and gathers their results in order", function()
    local sessions, futures = {}, {}
    for index = 1, 4 do
      sessions[index] = engine:open_session()
      futures[index] = assert(sessions[index]:execute_async(
        "SELECT $1::int * 10 AS value, pg_backend_pid() AS pid, (SELECT true FROM pg_sleep(0.05)) AS slept",
        { index }))
    end
    local results = assert(evcs.gather(futures))
    local pids = {}
    for index = 1, 4 do
      assert.are.equal(index * 10, results[index][1].value)
      assert.is_true(results[index][1].slept)
      pids[results[index][1].pid] = true
      assert.is_true(futures[index]:ready())
      futures[index]:close()
      sessions[index]:close()
    end
    local distinct = 0
    for _ in pairs(pids) do distinct = distinct + 1 end
    assert.are.equal(4, distinct)
  end)

  it("waits for one future and hands over its result once", function()
    local s <close> = engine:open_session()
    local future <close> = assert(s:execute_async("SELECT $1::text AS echo", { "hello" }))
    local rows = assert(future:wait())
    assert.are.same({ "echo" }, rows.columns)
    assert.are.equal("hello", rows[1].echo)
    local ok, err = pcall(future.wait, future)
    assert.is_false(ok)
    assert.are.equal("misuse", err.code)
    assert.are.equal(42, s:scalar("SELECT 42"))
  end)

  -- A future blocked on an advisory lock that `holder` has taken stays pending until the
  -- holder rolls back: the tests below control completion without timing assumptions.
  local function blocked_future(holder, waiter, sql)
    assert(holder:execute("SELECT pg_advisory_xact_lock(7)"))
    return assert(waiter:execute_async(sql))
  end

  it("reports a session in use by a pending future as misuse", function()
    local holder <close> = engine:open_session()
    local s <close> = engine:open_session()
    local future <close> = blocked_future(holder, s, "SELECT pg_advisory_xact_lock(7)")
    local ok, err = pcall(s.execute, s, "SELECT 1")
    assert.is_false(ok)
    assert.are.equal("misuse", err.code)
    assert.matches("in use", err.message)
    assert.is_false(future:ready())
    assert(holder:rollback())
    assert(future:wait())
    assert.are.equal(1, s:scalar("SELECT 1"))
  end)

  it("returns nil, err from wait for a failed statement, and gather reports it", function()
    local s <close> = engine:open_session()
    assert(s:execute("CREATE TEMP TABLE once (id int PRIMARY KEY)"))
    assert(s:execute("INSERT INTO once VALUES (1)"))
    local failing <close> = assert(s:execute_async("INSERT INTO once VALUES (1)"))
    local result, err = evcs.gather({ failing })
    assert.is_nil(result)
    assert.are.equal("integrity_error", err.code)
    assert.are.equal("23505", err.sqlstate)
  end)

  it("returns nil, err from a wait that times out, and a later wait gets the result", function()
    local holder <close> = engine:open_session()
    local s <close> = engine:open_session()
    local future <close> = blocked_future(holder, s, "SELECT true AS done FROM pg_advisory_xact_lock(7)")
    local result, err = future:wait(0)
    assert.is_nil(result)
    assert.are.equal("pending", err.code)
    assert.matches("still running", err.message)
    assert(holder:rollback())
    assert.is_true(assert(future:wait())[1].done)
  end)

  it("commits and rolls back through futures", function()
    local s <close> = engine:open_session()
    assert(s:execute("CREATE TABLE IF NOT EXISTS note (body text)"))
    assert(s:execute("INSERT INTO note VALUES ('committed')"))
    local commit <close> = assert(s:commit_async("async commit"))
    assert.is_true(commit:wait())
    assert(s:execute("INSERT INTO note VALUES ('rolled back')"))
    local rollback <close> = assert(s:rollback_async())
    assert.is_true(rollback:wait())
    local bodies = {}
    for row in s:rows("SELECT body FROM note") do bodies[#bodies + 1] = row.body end
    assert.are.same({ "committed" }, bodies)
  end)

  it("runs autocommit statements on the engine, synchronously and through futures", function()
    assert(engine:execute("CREATE TABLE engine_note (id int PRIMARY KEY, body text)"))
    assert(engine:execute("INSERT INTO engine_note VALUES ($1, $2)", { 1, "autocommitted" }))
    local s <close> = engine:open_session()
    assert.are.equal("autocommitted", s:scalar("SELECT body FROM engine_note WHERE id = 1"))
    assert(s:rollback())
    local rows, err = engine:execute("INSERT INTO engine_note VALUES (1, 'again')")
    assert.is_nil(rows)
    assert.are.equal("integrity_error", err.code)
    assert.are.equal("23505", err.sqlstate)
    local futures = {}
    for index = 1, 8 do
      futures[index] = assert(engine:execute_async("SELECT $1::int * 2 AS doubled", { index }))
    end
    local results = assert(evcs.gather(futures))
    for index = 1, 8 do
      assert.are.equal(index * 2, results[index][1].doubled)
      futures[index]:close()
    end
    assert.are.equal(1, engine:scalar("SELECT count(*) FROM engine_note"))
    assert.are.equal(0, engine:pool_status().checked_out)
  end)
end)
