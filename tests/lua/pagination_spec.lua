-- Keyset pagination through Lua: the result array's `cursor` field and the `after` option of
-- find, history and versions; refused cursors raise invalid_argument errors.
local evcs = require "evcs"
local helper = require "helper"

describe("pages and cursors", function()
  local url
  local engine

  setup(function()
    url = helper.fresh_database("pagination")
    engine = assert(evcs.engine { url = url })
    assert(engine:session(function(s)
      assert(s:create_entity_type("note", { { "title", "text not null" }, { "rank", "int" } }))
      assert(s:commit())
      local repo = assert(s:repository("note"))
      for index = 1, 23 do
        local values = { title = "note " .. index }
        if index % 4 ~= 0 then values.rank = index % 3 end -- every fourth rank is NULL
        assert(repo:create(values))
      end
    end, { author = "lua" }))
  end)

  teardown(function() engine:close() end)

  local function ids(versions, into)
    into = into or {}
    for _, version in ipairs(versions) do into[#into + 1] = version.head_id end
    return into
  end

  it("walks find page by page to exactly the unpaged result", function()
    local s <close> = assert(engine:open_session())
    local repo = assert(s:repository("note"))
    local order = { "-rank", "title" }
    local page = assert(repo:find { limit = 10, order_by = order })
    local walked, pages = ids(page), 1
    while page.cursor do
      assert.are.equal(10, #page)
      page = assert(repo:find { limit = 10, order_by = order, after = page.cursor })
      ids(page, walked)
      pages = pages + 1
    end
    assert.are.equal(3, pages)
    assert.are.same(ids(assert(repo:find { order_by = order })), walked)
    assert.is_nil(assert(repo:find()).cursor)
  end)

  it("pages a history and a version range", function()
    local s <close> = assert(engine:open_session { author = "lua" })
    local repo = assert(s:repository("note"))
    local head = assert(repo:find { limit = 1 })[1].head_id
    for rank = 10, 13 do
      assert(repo:update(head, { rank = rank }))
      assert(s:commit())
    end
    local first = assert(repo:history(head, { limit = 3 }))
    assert.are.same({ 1, 2, 3 }, { first[1].version, first[2].version, first[3].version })
    local second = assert(repo:history(head, { limit = 3, after = first.cursor }))
    assert.are.equal(2, #second)
    assert.are.equal(5, second[2].version)
    assert.is_nil(second.cursor)

    local range = assert(repo:versions { limit = 20 })
    local rest = assert(repo:versions { limit = 20, after = range.cursor })
    assert.are.equal(27, #range + #rest)
    assert.is_nil(rest.cursor)
  end)

  it("refuses cursors of another query or edited ones", function()
    local s <close> = assert(engine:open_session())
    local repo = assert(s:repository("note"))
    local cursor = assert(repo:find { limit = 5, order_by = "title" }).cursor
    local ok, err = pcall(repo.find, repo, { limit = 5, order_by = "-title", after = cursor })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    assert.are.equal("EVK01", err.sqlstate)
    assert.truthy(err.message:find("order_by", 1, true))
    ok, err = pcall(repo.find, repo, { limit = 5, order_by = "title", after = cursor:sub(3) })
    assert.is_false(ok)
    assert.are.equal("EVK01", err.sqlstate)
    ok, err = pcall(repo.find, repo, { order_by = "title", after = cursor, offset = 5 })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    assert.truthy(err.message:find("offset or after", 1, true))
  end)
end)
