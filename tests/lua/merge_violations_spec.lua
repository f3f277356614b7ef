-- A merge whose result would break a reference, a unique key or a check, through Lua: nil, err
-- (merge_conflict) with the violations in err.conflicts (kind, constraint, the other entity),
-- listed by merge_preview and a staged merge, settled by resolutions naming the entity.
local evcs = require "evcs"
local helper = require "helper"

describe("merge violations", function()
  local url
  local engine
  local project

  setup(function() url = helper.fresh_database("merge_violations") end)

  before_each(function()
    helper.empty_schema(url)
    engine = assert(evcs.engine { url = url })
    assert(engine:session(function(s)
      assert(s:create_entity_type("project", { { "title", "text" } }))
      assert(s:create_entity_type("person", { { "email", "text" } }, { unique = { { "email" } } }))
      assert(s:create_entity_type("task", {
        { "title", "text" },
        { "project_id", { references = "project" } },
      }))
    end, { author = "lua" }))
    assert(engine:session(function(s)
      project = assert(assert(s:repository("project")):create { title = "p" }).head_id
      assert(s:commit("a project"))
      assert(s:create_branch("b"))
    end, { author = "lua" }))
  end)

  after_each(function() engine:close() end)

  local function open(branch)
    return assert(engine:open_session { branch = branch or "main", author = "lua" })
  end

  it("reports a reference to a project deleted on the target and settles it", function()
    local b <close> = open("b")
    local task = assert(assert(b:repository("task")):create { title = "t", project_id = project }).head_id
    assert(b:commit("a task of the project"))
    local s <close> = open()
    assert(assert(s:repository("project")):delete(project))
    assert(s:commit("the project deleted"))

    local result, err = s:merge("b", { strategy = "theirs" })
    assert.is_nil(result)
    assert.are.equal("merge_conflict", err.code)
    assert.are.equal(1, #err.conflicts)
    local conflict = err.conflicts[1]
    assert.are.same({ "reference", "task", task, "project_id", "project_id", "project", project },
      { conflict.kind, conflict.entity_type, conflict.head_id, conflict.field, conflict.constraint,
        conflict.other_type, conflict.other_head_id })

    local preview = assert(s:merge_preview("b"))
    assert.are.equal("reference", preview.conflicts[1].kind)
    assert.are.equal(1, math.tointeger(preview.unresolved))

    local merged = assert(s:merge("b", { resolutions = {
      { entity_type = "task", head_id = task, field = "deleted", take = "ours" } } }))
    assert.is_not_nil(merged.commit)
    assert.are.equal("ours", merged.conflicts[1].resolution.take)
    assert.is_nil(assert(s:repository("task")):get(task))
  end)

  it("lists a broken unique key in a staged merge until a resolution settles it", function()
    local b <close> = open("b")
    local theirs = assert(assert(b:repository("person")):create { email = "new@x" }).head_id
    assert(b:commit("new@x on b"))
    local s <close> = open()
    local ours = assert(assert(s:repository("person")):create { email = "new@x" }).head_id
    assert(s:commit("new@x on main"))

    local started = assert(s:merge_start("b"))
    assert.are.equal("unique", started.conflicts[1].kind)
    assert.are.equal(theirs, started.conflicts[1].head_id)
    assert.are.equal(ours, started.conflicts[1].other_head_id)
    assert(s:merge_resolve({ { entity_type = "person", head_id = theirs, field = "email",
                               take = "theirs" } }))
    assert.are.equal(1, math.tointeger(assert(s:merge_status()).unresolved))
    local _, err = s:merge_continue()
    assert.are.equal("merge_conflict", err.code)
    assert(s:merge_resolve({ { entity_type = "person", head_id = theirs, field = "email",
                               take = "value", value = "other@x" } }))
    assert.are.equal(0, math.tointeger(assert(s:merge_status()).unresolved))
    assert.is_not_nil(assert(s:merge_continue()).commit)
    assert.are.equal("other@x", assert(assert(s:repository("person")):get(theirs)).fields.email)
  end)
end)
