-- Versioned entities, branches, diff and merge through Lua: tables in, tables out; nil, err for
-- expected failures, error() for invalid arguments.
local evcs = require "evcs"
local helper = require "helper"

describe("versioned entities", function()
  local url
  local engine

  setup(function() url = helper.fresh_database("versioning") end)

  -- A new engine per test on an emptied schema (the engine installs its catalog again).
  before_each(function()
    local cleaner <close> = assert(evcs.engine { url = url })
    assert(cleaner:session(function(s)
      assert(s:execute("DROP SCHEMA public CASCADE"))
      assert(s:execute("CREATE SCHEMA public"))
    end))
    engine = assert(evcs.engine { url = url })
    assert(engine:session(function(s)
      assert(s:create_entity_type("project", {
        { "name", "text not null" }, { "budget", "numeric(14,2)" }, { "status", "text" },
        { "tags", "text[]" },
      }))
    end, { author = "lua" }))
  end)

  after_each(function() engine:close() end)

  local function open(branch)
    return assert(engine:open_session { branch = branch, author = "lua" })
  end

  -- Writes `values` over entity `head` on `branch` in a session of its own, and commits.
  local function update_on_branch(branch, head, values)
    local b <close> = open(branch)
    assert(assert(b:repository("project")):update(head, values))
    assert(b:commit())
  end

  it("creates, updates, reads and lists the history of an entity", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local created = assert(repo:create({ name = "Bridge", budget = "1000.50", tags = { "a", "b" } }))
    assert.are.equal(1, created.version)
    assert.are.equal("integer", math.type(created.version))
    assert.are.equal("main", created.branch)
    assert.are.equal("lua", created.author)
    assert.is_nil(created.valid_from, "pending until the commit")
    assert.is_false(created.deleted)
    assert(s:commit())

    local current = assert(repo:get(created.head_id))
    assert.are.same({ name = "Bridge", budget = "1000.50", tags = { "a", "b" } }, current.fields)
    assert.are.equal("integer", math.type(current.valid_from))
    assert.is_nil(current.valid_to)

    local updated = assert(repo:update(created.head_id, { budget = 1200, status = "active" }, 1))
    assert.are.equal(2, updated.version)
    assert.are.equal("Bridge", updated.fields.name)
    assert(s:commit())

    local history = assert(repo:history(created.head_id))
    assert.are.equal(2, #history)
    assert.are.equal(history[1].valid_to, history[2].valid_from)
    assert.are.same({ "budget", "status" }, history[2].changed)
    assert.are.equal("1200.00", history[2].fields.budget)

    local first, second = history[1].valid_from, history[2].valid_from
    assert.is_nil(repo:get(created.head_id, { as_of = first - 1 }))
    assert.are.equal(1, repo:get(created.head_id, { as_of = first }).version)
    assert.are.equal(1, repo:get(created.head_id, { as_of = second - 1 }).version)
    assert.are.equal(2, repo:get(created.head_id, { as_of = evcs.timestamp(second) }).version)
    assert.is_nil(repo:get("00000000-0000-0000-0000-000000000000"))
  end)

  it("sends evcs.null as JSON null and takes an explicit head id", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local head = "6f1c0a8e-1111-4222-8333-444455556666"
    assert.are.equal(head, assert(repo:create({ name = "x", status = "open" }, head)).head_id)
    local cleared = assert(repo:update(head, { status = evcs.null }))
    assert.is_nil(cleared.fields.status)
    assert(s:commit())
  end)

  it("deletes, restores and reverts; stale expected versions conflict", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local head = assert(repo:create { name = "v1", budget = 10 }).head_id
    assert(s:commit())
    assert(repo:update(head, { name = "v2" }))
    assert(s:commit())

    local stale, err = repo:update(head, { name = "stale" }, 1)
    assert.is_nil(stale)
    assert.are.equal("concurrent_modification", err.code)
    assert.are.equal("EVC01", err.sqlstate)
    assert(s:rollback())

    local tombstone = assert(repo:delete(head))
    assert.is_true(tombstone.deleted)
    assert.are.equal(3, tombstone.version)
    assert(s:commit())
    assert.is_nil(repo:get(head))
    local missing, not_found = repo:update(head, { name = "x" })
    assert.is_nil(missing)
    assert.are.equal("not_found", not_found.code)
    assert(s:rollback())

    assert.are.equal("v2", assert(repo:restore(head)).fields.name)
    assert(s:commit())
    assert.are.equal("v1", assert(repo:revert(head, { to_version = 1 })).fields.name)
    assert(s:commit())
    local history = assert(repo:history(head))
    assert.are.equal(5, #history)
    assert.are.equal("v2", assert(repo:revert(head, { as_of = history[2].valid_from })).fields.name)
    assert(s:commit())
    local _, bad = pcall(repo.revert, repo, head)
    assert.are.equal("invalid_argument", bad.code)
    assert(s:rollback())
  end)

  it("finds, counts and checks existence with structured filters", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    assert(repo:create { name = "alpha", budget = 50, status = "active" })
    assert(repo:create { name = "beta", budget = 150, status = "active" })
    assert(repo:create { name = "gamma", budget = 300, status = "closed" })
    assert(s:commit())

    local found = assert(repo:find { where = { status = "active", budget = { gt = 100 } } })
    assert.are.equal(1, #found)
    assert.are.equal("beta", found[1].fields.name)
    local either = assert(repo:find {
      where = { ["or"] = { { status = "closed" }, { name = { ["in"] = { "alpha", "zeta" } } } } },
      order_by = "-budget",
    })
    assert.are.same({ "gamma", "alpha" }, { either[1].fields.name, either[2].fields.name })
    local page = assert(repo:find { order_by = { "name" }, limit = 2, offset = 1 })
    assert.are.same({ "beta", "gamma" }, { page[1].fields.name, page[2].fields.name })
    assert.are.equal(3, #assert(repo:find()))
    assert.are.equal(3, repo:count())
    assert.are.equal(2, repo:count { where = { status = "active" } })
    assert.are.equal(0, repo:count { as_of = 0 })
    assert.is_false(repo:exists { where = { name = "x' OR '1'='1" } })
    assert.is_true(repo:exists { where = { name = { like = "%mm%" } } })

    local ok, err = pcall(repo.find, repo, { where = { nmae = "alpha" } })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    ok, err = pcall(repo.find, repo, { limt = 3 })
    assert.is_false(ok)
    assert.truthy(err.message:find("limt", 1, true))
    ok, err = pcall(repo.find, repo, { order_by = "name; DROP TABLE project" })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    assert(s:rollback())
    assert.are.equal(3, repo:count())
  end)

  it("refuses bad input and writes nothing", function()
    local s <close> = open()
    local none, err = s:repository("no_such_type")
    assert.is_nil(none)
    assert.are.equal("not_found", err.code)
    assert(s:rollback())
    local repo = assert(s:repository("project"))
    local ok, bad = pcall(repo.create, repo, { nmae = "typo" })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", bad.code)
    ok, bad = pcall(repo.create, repo, { "not", "an", "object" })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", bad.code)
    ok, bad = pcall(repo.create, repo, "name")
    assert.is_false(ok)
    assert.are.equal("invalid_argument", bad.code)
    assert(s:rollback())
    local missing_name, integrity = repo:create { budget = 1 }
    assert.is_nil(missing_name)
    assert.are.equal("integrity_error", integrity.code)
    assert(s:rollback())
    ok, bad = pcall(s.create_entity_type, s, "other", { "x text" })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", bad.code)
    ok, bad = pcall(repo.get, repo, "x", { when = 1 })
    assert.is_false(ok)
    assert.truthy(bad.message:find("when", 1, true))
    assert.are.equal(0, repo:count())
  end)

  it("branches read through, stay isolated and reject writes when locked", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local head = assert(repo:create { name = "bridge", budget = 100 }).head_id
    assert(s:commit())
    assert(s:create_branch("change-order"))
    assert(s:create_branch("what-if", { from = "change-order", mode = "live" }))
    assert(s:commit())

    local branches = assert(s:branches())
    assert.are.same({ "main", "change-order", "what-if" },
                    { branches[1].name, branches[2].name, branches[3].name })
    assert.is_nil(branches[1].parent)
    assert.are.equal("main", branches[2].parent)
    assert.are.equal("snapshot", branches[2].mode)
    assert.are.equal("live", branches[3].mode)
    assert.are.equal("active", branches[2].status)
    assert.are.equal("integer", math.type(branches[2].fork_stamp))

    assert.are.equal("100.00", repo:get(head, { branch = "change-order" }).fields.budget)
    local b <close> = open("change-order")
    local branch_repo = assert(b:repository("project"))
    local changed = assert(branch_repo:update(head, { budget = 150 }))
    assert.are.equal("change-order", changed.branch)
    assert.are.equal("main", changed.parent_branch)
    assert.are.equal(1, changed.parent_version)
    assert(b:commit())
    assert.are.equal("100.00", repo:get(head).fields.budget)
    -- The branch's history: main's version it read through to, then its own.
    local history = assert(repo:history(head, { branch = "change-order" }))
    assert.are.equal(2, #history)
    assert.are.equal("main", history[1].branch)
    assert.are.equal("change-order", history[2].branch)

    assert(s:lock_branch("change-order"))
    assert(s:commit())
    local refused, locked = branch_repo:update(head, { budget = 5 })
    assert.is_nil(refused)
    assert.are.equal("branch_locked", locked.code)
    assert.are.equal("EVL01", locked.sqlstate)
    assert(b:rollback())
    assert.are.equal("150.00", branch_repo:get(head).fields.budget)
    assert(s:unlock_branch("change-order"))
    assert(s:archive_branch("what-if"))
    assert(s:commit())
    assert.are.equal("archived", assert(s:branches())[3].status)

    local ghost, not_found = s:lock_branch("ghost")
    assert.is_nil(ghost)
    assert.are.equal("not_found", not_found.code)
    assert(s:rollback())
    local ok, bad = pcall(s.create_branch, s, "x", { parent = "main" })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", bad.code)
  end)

  it("diffs and merges branches", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local head = assert(repo:create { name = "bridge", budget = 100 }).head_id
    assert(s:commit())
    assert(s:create_branch("change-order"))
    assert(s:commit())
    update_on_branch("change-order", head, { budget = 150 })

    local diff = assert(s:diff("change-order"))
    assert.are.same({ {
      entity_type = "project", head_id = head, kind = "modified",
      fields = { budget = { old = "100.00", new = "150.00" } },
    } }, diff)

    assert(repo:update(head, { budget = 120 }))
    assert(s:commit())
    local conflict = {
      entity_type = "project", head_id = head, field = "budget",
      base = "100.00", ours = "120.00", theirs = "150.00", kind = "field",
    }
    local preview = assert(s:merge_preview("change-order", { into = "main" }))
    assert.is_nil(preview.stamp)
    assert.are.same({ conflict }, preview.conflicts)
    local merged, err = s:merge("change-order")
    assert.is_nil(merged)
    assert.are.equal("merge_conflict", err.code)
    assert.are.same({ conflict }, err.conflicts)
    assert.is_string(err.detail)
    assert(s:rollback())

    local result = assert(s:merge("change-order", { strategy = "theirs" }))
    assert.are.equal("integer", math.type(result.stamp))
    assert.are.equal(1, #result.changes)
    local current = assert(repo:get(head))
    assert.are.equal("150.00", current.fields.budget)
    assert.are.equal("change-order", current.merged_from)
  end)

  it("forks a snapshot branch from a past instant", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local head = assert(repo:create { name = "bridge", budget = 100 }).head_id
    assert(s:commit())
    local before_raise = assert(repo:get(head)).valid_from
    assert(repo:update(head, { budget = 120 }))
    assert(s:commit())
    assert(s:create_branch("audit", { as_of = before_raise }))
    assert(s:create_branch("audit-stamp", { as_of = evcs.timestamp(before_raise) }))
    assert(s:commit())
    local branches = assert(s:branches())
    assert.are.same({ "audit", before_raise }, { branches[2].name, branches[2].fork_stamp })
    assert.are.same({ "audit-stamp", before_raise }, { branches[3].name, branches[3].fork_stamp })
    assert.are.equal("100.00", repo:get(head, { branch = "audit" }).fields.budget)
    assert.are.equal("100.00", repo:get(head, { branch = "audit-stamp" }).fields.budget)
    assert.are.equal("120.00", repo:get(head).fields.budget)

    local in_an_hour = repo:get(head).valid_from + 3600 * 1000000
    local ok, err = pcall(s.create_branch, s, "later", { as_of = in_an_hour })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    assert.matches("in the future", err.message)
    assert(s:rollback())
    ok, err = pcall(s.create_branch, s, "live-past", { mode = "live", as_of = before_raise })
    assert.is_false(ok)
    assert.matches("live branch", err.message)
    assert(s:rollback())
    ok, err = pcall(s.create_branch, s, "text", { as_of = "yesterday" })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    assert.matches("as_of must be integer UTC microseconds", err.message)
    assert.are.equal(3, #assert(s:branches()))
  end)

  it("records a merge's message and previews a merge with a strategy", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local head = assert(repo:create { name = "bridge", budget = 100 }).head_id
    assert(s:commit())
    assert(s:create_branch("co"))
    assert(s:commit())
    update_on_branch("co", head, { budget = 150, status = "approved" })
    assert(repo:update(head, { budget = 120 }))
    assert(s:commit())

    local failing = assert(s:merge_preview("co"))
    assert.are.same({ status = { new = "approved" } }, failing.changes[1].fields)
    assert.are.same(failing.changes, assert(s:merge_preview("co", { strategy = "ours" })).changes)
    local theirs = assert(s:merge_preview("co", { strategy = "theirs" }))
    assert.are.same({ budget = { old = "120.00", new = "150.00" }, status = { new = "approved" } },
                    theirs.changes[1].fields)
    assert.are.equal(#failing.conflicts, #theirs.conflicts)
    assert.are.equal(failing.conflicts[1].field, theirs.conflicts[1].field)
    assert.are.equal("theirs", theirs.conflicts[1].resolution.take)
    assert.is_nil(theirs.stamp)
    local ok, err = pcall(s.merge_preview, s, "co", { strategy = "sideways" })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    assert(s:rollback())
    assert.are.equal("120.00", repo:get(head).fields.budget, "a preview writes nothing")

    local merged = assert(s:merge("co", { strategy = "theirs", message = "approve the change order" }))
    local last = assert(s:commit_log { limit = 1 })[1]
    assert.are.same({ "approve the change order", "co", merged.stamp },
                    { last.message, last.merged_from, last.stamp })
    assert.are.equal("150.00", repo:get(head).fields.budget)
    assert.has_error(function() s:merge("co", { comment = "x" }) end)
  end)

  it("lists the fields with their types and reads every column type as documented", function()
    local native = require "evcs_native"
    local s <close> = open()
    assert(s:create_entity_type("typed", {
      { "amount", "numeric(10,2)" }, { "id", "uuid" }, { "day", "date" }, { "at", "timestamptz" },
      { "raw", "bytea" }, { "counts", "int[]" }, { "doc", "jsonb" }, { "ratio", "float8" },
    }))
    local repo = assert(s:repository("typed"))
    local fields = assert(repo:fields())
    assert.are.same({ name = "amount", type = "numeric(10,2)", value_type = native.EVCS_TYPE_NUMERIC }, fields[1])
    local kinds = {}
    for _, field in ipairs(fields) do kinds[field.name] = field.value_type end
    assert.are.same({ amount = native.EVCS_TYPE_NUMERIC, id = native.EVCS_TYPE_UUID,
                      day = native.EVCS_TYPE_DATE, at = native.EVCS_TYPE_TIMESTAMP,
                      raw = native.EVCS_TYPE_BYTES, counts = native.EVCS_TYPE_INT_ARRAY,
                      doc = native.EVCS_TYPE_JSON, ratio = native.EVCS_TYPE_DOUBLE }, kinds)
    local version = assert(repo:create({
      amount = "7.5", id = "00000000-0000-0000-0000-00000000000a", day = "2024-02-29",
      at = "2024-05-01T12:00:00.5Z", raw = "\\x00ff", counts = { 1, -2 }, doc = { k = { true } },
      ratio = 0.25,
    }))
    assert.are.same({ amount = "7.50", id = "00000000-0000-0000-0000-00000000000a",
                      day = "2024-02-29", at = "2024-05-01 12:00:00.5+00", raw = "\\x00ff",
                      counts = { 1, -2 }, doc = { k = { true } }, ratio = 0.25 }, version.fields)
    assert.are.equal("integer", math.type(version.fields.counts[2]))
    assert(s:rollback())
  end)

  it("lists the commit log newest first, filtered by branch, entity and limit", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local bridge = assert(repo:create({ name = "Bridge" })).head_id
    assert(s:commit("add the bridge"))
    assert(repo:update(bridge, { status = "open" }))
    assert(s:commit("open it"))
    local log = assert(s:commit_log { entity_type = "project", head_id = bridge })
    assert.are.equal(2, #log)
    assert.are.same({ "open it", "add the bridge" }, { log[1].message, log[2].message })
    assert.are.equal("lua", log[1].author)
    assert.are.equal(1, log[1].changes)
    assert.is_true(log[1].stamp > log[2].stamp)
    assert.are.equal(1, #assert(s:commit_log { limit = 1 }))
    assert.are.same({}, assert(s:commit_log { branch = "no-such-branch" }))
    local ok, err = pcall(s.commit_log, s, { head_id = bridge })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    assert.matches("needs the entity_type", err.message)
    assert.has_error(function() s:commit_log("main") end)
  end)
end)
