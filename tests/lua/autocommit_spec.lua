-- Autocommit sessions through Lua: each write commits by itself with its own stamp, and a
-- transaction opened with begin_transaction still groups writes.
local evcs = require "evcs"
local helper = require "helper"

describe("autocommit", function()
  it("commits each write by itself and keeps transactions whole", function()
    local engine <close> = assert(evcs.engine { url = helper.fresh_database("autocommit") })
    assert(engine:session(function(s)
      assert(s:create_entity_type("task", { { "title", "text not null" }, { "points", "int" } }))
    end))
    local s <close> = assert(engine:open_session { author = "lua", autocommit = true })
    assert.is_true(s:autocommit())
    local repo = assert(s:repository("task"))
    local created = assert(repo:create { title = "docs", points = 3 })
    local updated = assert(repo:update(created.head_id, { points = 5 }))
    assert.is_false(s:in_transaction())
    local other <close> = assert(engine:open_session())
    assert.are.equal(2, other:scalar("SELECT count(*) FROM task_version"))
    assert.are.equal(updated.valid_from,
                     other:scalar("SELECT (extract(epoch FROM max(stamp)) * 1000000)::bigint "
                                  .. "FROM evcs_commit"))
    assert(other:rollback())

    local transaction = assert(s:begin_transaction())
    assert(repo:create { title = "one" })
    assert(repo:create { title = "two" })
    assert(transaction:rollback())
    assert.are.equal(2, s:scalar("SELECT count(*) FROM task_version"))

    s:set_autocommit(false)
    assert(repo:create { title = "pending" })
    local ok, err = pcall(s.set_autocommit, s, true)
    assert.is_false(ok)
    assert.are.equal("misuse", err.code)
    assert(s:rollback())
  end)
end)
