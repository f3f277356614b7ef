-- Column changes of an entity type through Lua (docs/migrations.md): add, rename and drop keep every
-- version; bad changes are nil, err and change nothing.
local evcs = require "evcs"
local helper = require "helper"

describe("entity type column changes", function()
  local url
  local engine

  setup(function() url = helper.fresh_database("entity_ddl") end)

  before_each(function()
    local cleaner <close> = assert(evcs.engine { url = url })
    assert(cleaner:session(function(s)
      assert(s:execute("DROP SCHEMA public CASCADE"))
      assert(s:execute("CREATE SCHEMA public"))
    end))
    engine = assert(evcs.engine { url = url })
    assert(engine:session(function(s)
      assert(s:create_entity_type("project", { { "name", "text not null" }, { "budget", "numeric(14,2)" } }))
    end, { author = "lua" }))
  end)

  after_each(function() engine:close() end)

  local function catalog_columns(s)
    return s:scalar("SELECT columns::text FROM evcs_entity_type WHERE name = 'project'")
  end

  it("adds, renames and drops columns keeping the history", function()
    local s <close> = assert(engine:open_session { author = "lua" })
    local head = assert(s:repository("project"):create { name = "Bridge", budget = "10.00" }).head_id
    assert(s:commit())
    assert(s:repository("project"):update(head, { budget = "12.50" }))
    assert(s:commit())

    assert(s:add_column("project", "status", "text", "planned"))
    assert(s:commit())
    local repo = assert(s:repository("project"))
    local history = assert(repo:history(head))
    assert.are.equal(2, #history)
    assert.are.same({ name = "Bridge", budget = "10.00" }, history[1].fields)
    assert.are.equal("planned", assert(repo:create { name = "Tunnel" }).fields.status)
    assert(s:commit())

    assert(s:rename_column("project", "budget", "cost"))
    assert(s:drop_column("project", "status"))
    assert(s:commit())
    history = assert(s:repository("project"):history(head))
    assert.are.same({ name = "Bridge", cost = "10.00" }, history[1].fields)
    assert.are.same({ name = "Bridge", cost = "12.50" }, history[2].fields)
    assert.are.equal('[{"name": "name", "type": "text not null"}, {"name": "cost", "type": "numeric(14,2)"}]',
                     catalog_columns(s))
  end)

  it("returns nil, err for unknown types and columns, raises for invalid ones, changes nothing", function()
    local s <close> = assert(engine:open_session { author = "lua" })
    local before = catalog_columns(s)
    local missing = {
      { function() return s:add_column("nope", "x", "text") end, "unknown entity type 'nope'" },
      { function() return s:drop_column("project", "nope") end, "has no column 'nope'" },
      { function() return s:rename_column("project", "nope", "x") end, "has no column 'nope'" },
    }
    for _, case in ipairs(missing) do
      local ok, err = case[1]()
      assert.is_nil(ok)
      assert.are.equal("not_found", err.code)
      assert.are.equal("EVN01", err.sqlstate)
      assert.truthy(err.message:find(case[2], 1, true), err.message)
      assert.are.equal(before, catalog_columns(s))
    end
    local invalid = {
      { { "project", "x", "int); DROP TABLE project; --" }, s.add_column, "has an invalid type" },
      { { "project", "name", "budget" }, s.rename_column, "already has a column 'budget'" },
      { { "project", "head_id" }, s.drop_column, "column 'head_id' is evcs's version metadata" },
    }
    for _, case in ipairs(invalid) do
      local ok, err = pcall(case[2], s, table.unpack(case[1]))
      assert.is_false(ok)
      assert.are.equal("invalid_argument", err.code)
      assert.are.equal("EVI01", err.sqlstate)
      assert.truthy(err.message:find(case[3], 1, true), err.message)
      assert.are.equal(before, catalog_columns(s))
    end
    local ok, bad = pcall(s.add_column, s, "project", "x", "text", 5)
    assert.is_false(ok)
    assert.are.equal("invalid_argument", bad.code)
    assert.truthy(bad.message:find("the default value must be a string", 1, true))
  end)
  it("says a repository opened before a column change must be opened again", function()
    local s <close> = assert(engine:open_session { author = "lua" })
    local head = assert(s:repository("project"):create { name = "Bridge" }).head_id
    assert(s:commit())
    local other <close> = assert(engine:open_session { author = "other", autocommit = true })
    local stale = assert(other:repository("project"))
    assert(s:rename_column("project", "budget", "cost"))
    assert(s:commit())
    local ok, err = pcall(stale.update, stale, head, { name = "Tunnel" })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    assert.are.equal("42703", err.sqlstate)
    assert.truthy(err.message:find("the definition of entity type 'project' changed since this "
                                   .. 'repository was opened; open it again (repository("project"))',
                                   1, true), err.message)
    assert.are.equal(2, assert(assert(other:repository("project")):update(head, { name = "Tunnel" })).version)
  end)
end)
