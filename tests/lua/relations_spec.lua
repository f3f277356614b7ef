-- References, unique keys and checks through Lua: declared with create_entity_type, held per
-- branch by the database at each commit (nil, err with code "integrity_error", nothing written),
-- deletes that cascade or clear references in the same commit.
local evcs = require "evcs"
local helper = require "helper"

describe("relations", function()
  local url
  local engine
  local ids

  setup(function() url = helper.fresh_database("relations") end)

  before_each(function()
    helper.empty_schema(url)
    engine = assert(evcs.engine { url = url })
    ids = {}
    assert(engine:session(function(s)
      assert(s:create_entity_type("project", { { "title", "text" } }))
      assert(s:create_entity_type("person", { { "email", "text" } },
        { unique = { { "email" } }, checks = { email_has_at = "email LIKE '%@%'" } }))
      assert(s:create_entity_type("task", {
        { "title", "text" },
        { "project_id", { references = "project", on_delete = "cascade" } },
        { "owner_id", { references = "person", on_delete = "set null" } },
        { "blocker_id", { references = "task" } },
      }))
    end, { author = "lua" }))
    assert(engine:session(function(s)
      ids.project = assert(assert(s:repository("project")):create { title = "p" }).head_id
      ids.person = assert(assert(s:repository("person")):create { email = "a@x" }).head_id
      ids.task = assert(assert(s:repository("task")):create {
        title = "t", project_id = ids.project, owner_id = ids.person }).head_id
    end, { author = "lua" }))
  end)

  after_each(function() engine:close() end)

  local function open(branch)
    return assert(engine:open_session { branch = branch or "main", author = "lua" })
  end

  it("describes reference fields", function()
    local s <close> = open()
    local fields = assert(assert(s:repository("task")):fields())
    assert.are.equal("project_id", fields[2].name)
    assert.are.equal("project", fields[2].references)
    assert.are.equal("cascade", fields[2].on_delete)
    assert.are.equal("set null", fields[3].on_delete)
    assert.are.equal("restrict", fields[4].on_delete)
    assert.is_nil(fields[1].references)
  end)

  it("refuses a reference to a deleted entity at commit and writes nothing", function()
    local s <close> = open()
    local projects = assert(s:repository("project"))
    local gone = assert(projects:create { title = "gone" }).head_id
    assert(s:commit())
    assert(projects:delete(gone))
    assert(s:commit())
    assert(assert(s:repository("task")):create { title = "dangling", project_id = gone })
    local ok, err = s:commit()
    assert.is_nil(ok)
    assert.are.equal("integrity_error", err.code)
    assert.is_truthy(err.message:find("refers to project " .. gone, 1, true))
    assert.are.equal(1, s:scalar("SELECT count(*) FROM task_version"))
  end)

  it("cascades and sets null in the same commit", function()
    local s <close> = open()
    assert(assert(s:repository("person")):delete(ids.person))
    assert(s:commit("the owner leaves"))
    local task = assert(assert(s:repository("task")):get(ids.task))
    assert.is_nil(task.fields.owner_id)
    assert(assert(s:repository("project")):delete(ids.project))
    assert(s:commit("drop the project"))
    assert.is_nil(assert(s:repository("task")):get(ids.task))
    local log = assert(s:commit_log { limit = 2 })
    assert.are.equal(2, log[1].changes)
    assert.are.equal(2, log[2].changes)
  end)

  it("restricts the delete of a referred entity on main and on a branch, at every commit", function()
    local s <close> = open()
    local tasks = assert(s:repository("task"))
    local blocked = assert(tasks:create { title = "blocked", project_id = ids.project,
                                          blocker_id = ids.task }).head_id
    assert(s:commit("a task blocked by the first"))
    local blocked_at = assert(s:commit_log { limit = 1 })[1].stamp
    assert(s:create_branch("b"))
    assert(s:commit())
    for _, branch in ipairs { "main", "b" } do
      local on <close> = open(branch)
      local branch_tasks = assert(on:repository("task"))
      assert(branch_tasks:delete(ids.task))
      local ok, err = on:commit("delete the blocker on " .. branch)
      assert.is_nil(ok)
      assert.are.equal("integrity_error", err.code)
      assert.is_truthy(err.message:find(blocked, 1, true), err.message)
      assert.is_truthy(err.message:find(ids.task, 1, true), err.message)
      assert.is_truthy(assert(branch_tasks:get(ids.task)))
    end
    -- Once nothing refers to it, the delete goes through on b only; main still has it.
    local b <close> = open("b")
    local b_tasks = assert(b:repository("task"))
    assert(b_tasks:update(blocked, { blocker_id = evcs.null }))
    assert(b_tasks:delete(ids.task))
    assert(b:commit("unblock, then delete, on b"))
    assert.is_nil(b_tasks:get(ids.task))
    assert.is_truthy(assert(tasks:get(ids.task)))
    assert.is_nil(assert(b_tasks:get(blocked)).fields.blocker_id)
    assert.are.equal(ids.task, assert(b_tasks:get(blocked, { as_of = blocked_at, branch = "main" }))
      .fields.blocker_id)
  end)

  it("holds unique keys per branch and checks on every version", function()
    local s <close> = open()
    assert(s:create_branch("b"))
    assert(s:commit())
    assert(assert(s:repository("person")):create { email = "a@x" })
    local ok, err = s:commit()
    assert.is_nil(ok)
    assert.are.equal("integrity_error", err.code)
    assert.is_truthy(err.message:find("have the same email", 1, true))
    local b <close> = open("b")
    local people = assert(b:repository("person"))
    assert(people:delete(ids.person))
    assert(people:create { email = "a@x" })
    assert(b:commit("a@x replaced on b"))
    ok, err = people:create { email = "no at sign" }
    assert.is_nil(ok)
    assert.are.equal("integrity_error", err.code)
  end)

  it("finds with related entities included, filters and orders by their fields", function()
    local s <close> = open()
    local tasks = assert(s:repository("task"))
    assert(tasks:create { title = "t2", project_id = ids.project })
    assert(s:commit("a second task"))
    local projects = assert(assert(s:repository("project")):find { include = { "tasks" } })
    assert.are.equal(1, #projects)
    local titles = {}
    for _, task in ipairs(projects[1].included.tasks) do titles[#titles + 1] = task.fields.title end
    table.sort(titles)
    assert.are.same({ "t", "t2" }, titles)
    local found = assert(tasks:find { include = { "project", "owner_id" }, order_by = "title" })
    assert.are.equal("p", found[1].included.project.fields.title)
    assert.are.equal("a@x", found[1].included.owner_id.fields.email)
    assert.is_nil(found[2].included.owner_id)
    local owned = assert(tasks:find { where = { ["owner.email"] = "a@x" } })
    assert.are.equal(1, #owned)
    assert.are.equal("t", owned[1].fields.title)
    local by_project = assert(tasks:find { order_by = { "-project.title", "title" }, limit = 1 })
    assert.are.equal("t", by_project[1].fields.title)
    assert.is_string(by_project.cursor)
    local ok, err = pcall(tasks.find, tasks, { include = { "nope" } })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    assert.are.equal("entity type 'task' has no relation 'nope' (relations: project_id, owner_id, "
      .. "blocker_id, task.blocker_id)", err.message)
  end)

  it("refuses malformed declarations", function()
    local s <close> = open()
    local ok, err = pcall(s.create_entity_type, s, "a", { { "x", { on_delete = "cascade" } } })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    ok, err = pcall(s.create_entity_type, s, "a", { { "x", "int" } }, { primary = { "x" } })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    local created, failure = s:create_entity_type("a", { { "x", { references = "nowhere" } } })
    assert.is_nil(created)
    assert.are.equal("not_found", failure.code)
  end)

  it("changes the rules of an existing type, refusing data that breaks one", function()
    local s <close> = open()
    assert(s:create_entity_type("note", { { "body", "text" }, { "project_id", "uuid" }, { "qty", "int" } }))
    assert(s:commit())
    local notes = assert(s:repository("note"))
    local first = assert(notes:create { body = "a", qty = 1, project_id = ids.project }).head_id
    assert(notes:create { body = "a", qty = 2 })
    assert(s:commit("two notes with the same body"))
    assert(s:add_reference("note", "project_id", "project", "cascade"))
    assert(s:add_check("note", "positive", "qty > 0"))
    assert(s:commit())
    local ok, err = s:add_unique_key("note", { "body" })
    assert.is_nil(ok)
    assert.are.equal("integrity_error", err.code)
    assert.is_truthy(err.message:find("cannot add the unique key (body) to note: note ", 1, true))
    assert(s:rollback())
    assert(s:add_unique_key("note", { "body", "qty" }))
    assert(s:alter_reference("note", "project_id", "set null"))
    assert(s:commit())
    assert(assert(s:repository("project")):delete(ids.project))
    assert(s:commit("the project goes; the note's reference is cleared"))
    assert.is_nil(assert(assert(s:repository("note")):get(first)).fields.project_id)
    assert(s:drop_unique_key("note", { "body", "qty" }))
    assert(s:drop_check("note", "positive"))
    assert(s:drop_reference("note", "project_id"))
    assert(s:commit())
    assert.are.equal("{}", s:scalar("SELECT constraints::text FROM evcs_entity_type WHERE name = 'note'"))
    ok, err = s:drop_check("note", "positive")
    assert.is_nil(ok)
    assert.are.equal("not_found", err.code)
    local raised = pcall(s.add_unique_key, s, "note", "body")
    assert.is_false(raised)
  end)
end)
