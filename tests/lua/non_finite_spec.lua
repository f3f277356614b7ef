-- NaN and the infinities in double precision fields: JSON has no such numbers, so they cross the
-- C ABI as PostgreSQL's text for them and come back to Lua as numbers (dkjson alone would write
-- null, silently).
local evcs = require "evcs"
local helper = require "helper"

describe("NaN and infinities", function()
  it("are stored and read back as themselves on every write path", function()
    local engine <close> = assert(evcs.engine { url = helper.fresh_database("non_finite") })
    assert(engine:session(function(s)
      assert(s:create_entity_type("probe", { { "name", "text" }, { "x", "double precision" },
                                             { "doc", "jsonb" } }))
    end))
    local s <close> = assert(engine:open_session())
    local repo = assert(s:repository("probe"))
    local function stored(head_id)
      return s:scalar("SELECT x::text || ' ' || coalesce(doc::text, '') FROM probe_version "
                      .. "WHERE head_id = $1::uuid AND valid_to IS NULL", { head_id })
    end

    local created = assert(repo:create { name = "a", x = 0 / 0, doc = { y = { math.huge } } })
    assert.is_true(created.fields.x ~= created.fields.x)
    assert(s:commit())
    assert.are.equal('NaN {"y": ["Infinity"]}', stored(created.head_id))
    assert.are.same({ y = { "Infinity" } }, assert(repo:get(created.head_id)).fields.doc)

    assert(repo:update(created.head_id, { x = math.huge }))
    assert(s:commit())
    assert.are.equal('Infinity {"y": ["Infinity"]}', stored(created.head_id))
    local history = assert(repo:history(created.head_id))
    assert.are.equal(math.huge, history[#history].fields.x)
    local found = assert(repo:find { where = { x = math.huge } })
    assert.are.equal(1, #found)
    assert.are.equal(created.head_id, found[1].head_id)

    local bulk = assert(repo:create_many { { name = "b", x = -math.huge } })
    assert.are.equal("-Infinity ", stored(bulk.head_ids[1]))
    assert(s:rollback())

    s:set_autocommit(true)
    local updated = assert(repo:update(created.head_id, { x = -math.huge }))
    assert.are.equal(-math.huge, updated.fields.x)
    assert.are.equal('-Infinity {"y": ["Infinity"]}', stored(created.head_id))
  end)
end)
