-- Repository:create_many through Lua: one commit for every row, the created ids and stamp, and
-- bad rows that write nothing.
local evcs = require "evcs"
local helper = require "helper"

describe("bulk create", function()
  it("commits every row with one stamp and refuses bad rows", function()
    local engine <close> = assert(evcs.engine { url = helper.fresh_database("bulk") })
    assert(engine:session(function(s)
      assert(s:create_entity_type("part", { { "name", "text not null" }, { "qty", "int" } }))
    end))
    local s <close> = assert(engine:open_session { author = "lua" })
    local repo = assert(s:repository("part"))
    assert(s:commit())
    local created = assert(repo:create_many({ { name = "bolt", qty = 3 }, { name = "nut" } },
                                            "two parts"))
    assert.are.equal(2, #created.head_ids)
    assert.are.equal("main", created.branch)
    assert.are.equal("lua", created.author)
    assert.are.equal("integer", math.type(created.valid_from))
    assert.is_false(s:in_transaction())
    local bolt = assert(repo:get(created.head_ids[1]))
    assert.are.equal(3, bolt.fields.qty)
    assert.are.equal(created.valid_from, bolt.valid_from)
    assert.are.equal("two parts", s:scalar("SELECT message FROM evcs_commit"))
    assert(s:rollback())

    local ok, err = pcall(repo.create_many, repo, { { name = "ok" }, { nmae = "typo" } })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    assert.truthy(err.message:find("row 1: 'nmae' is not a field", 1, true))
    ok, err = pcall(repo.create_many, repo, "not rows")
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    assert.are.equal(2, s:scalar("SELECT count(*) FROM part_version"))
  end)
end)
