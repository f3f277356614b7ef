-- The commit graph through Lua: merges with resolutions in any direction, staged merges,
-- commits and refs, merge bases, tags, revert, cherry-pick, diffs of history, reads at a commit
-- and version ranges. Expected failures return nil, err; invalid arguments raise.
local evcs = require "evcs"
local helper = require "helper"

local function is_commit_id(value)
  return type(value) == "string" and #value == 40 and value:match("^[0-9a-f]+$") ~= nil
end

-- Calls `fn(...)`, which must raise an invalid_argument error; returns the error.
local function raises_invalid(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  assert.is_true(evcs.is_error(err), tostring(err))
  assert.are.equal("invalid_argument", err.code)
  return err
end

describe("the commit graph", function()
  local url
  local engine

  setup(function() url = helper.fresh_database("graph") end)

  before_each(function()
    helper.empty_schema(url)
    engine = assert(evcs.engine { url = url })
    assert(engine:session(function(s)
      assert(s:create_entity_type("project", {
        { "name", "text not null" }, { "budget", "numeric(14,2)" }, { "status", "text" },
      }))
    end, { author = "lua" }))
  end)

  after_each(function() engine:close() end)

  local function open(branch)
    return assert(engine:open_session { branch = branch, author = "lua" })
  end

  -- Writes `values` over entity `head` on `branch` in a session of its own and commits with
  -- `message`; returns the commit's id.
  local function update_on_branch(branch, head, values, message)
    local b <close> = open(branch)
    assert(assert(b:repository("project")):update(head, values))
    assert(b:commit(message))
    return assert(b:commit_info(branch)).id
  end

  -- main: "bridge" added; branch "co" raises its budget and approves it while main lowers it.
  local function conflicting_branches(s, repo)
    local head = assert(repo:create { name = "bridge", budget = 100 }).head_id
    assert(s:commit("add bridge"))
    local fork = assert(s:commit_info("main")).id
    assert(s:create_branch("co"))
    assert(s:commit())
    local co_head = update_on_branch("co", head, { budget = 150, status = "approved" }, "raise")
    assert(repo:update(head, { budget = 120 }))
    assert(s:commit("lower"))
    return head, fork, co_head, assert(s:commit_info("main")).id
  end

  local function budget_conflict(head, resolution)
    return { entity_type = "project", head_id = head, field = "budget", base = "100.00",
             ours = "120.00", theirs = "150.00", resolution = resolution, kind = "field" }
  end

  it("merges with resolutions and records both parents", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local head, fork, co_head, main_head = conflicting_branches(s, repo)

    local planned = assert(s:merge_preview("co"))
    assert.are.same({ budget_conflict(head) }, planned.conflicts)
    assert.are.same({ "main", co_head, fork, 1 },
                    { planned.target, planned.source_commit, planned.base_commit, planned.unresolved })
    assert.is_nil(planned.commit)
    assert.is_nil(planned.stamp)
    assert.are.same({ { entity_type = "project", head_id = head, kind = "modified",
                        fields = { status = { new = "approved" } } } }, planned.changes)

    local failed, err = s:merge("co", { into = "main" })
    assert.is_nil(failed)
    assert.are.equal("merge_conflict", err.code)
    assert.are.same({ budget_conflict(head) }, err.conflicts)
    assert(s:rollback())

    local settle = { entity_type = "project", head_id = head, field = "budget", take = "value",
                     value = "135.00" }
    assert.are.same({ budget_conflict(head, settle) },
                    assert(s:merge_preview("co", { resolutions = { settle } })).conflicts)
    local merged = assert(s:merge("co", { message = "settle", resolutions = { settle } }))
    assert.is_true(is_commit_id(merged.commit))
    assert.are.equal("integer", math.type(merged.stamp))
    assert.are.equal(0, merged.unresolved)
    assert.are.same({ budget_conflict(head, settle) }, merged.conflicts)
    assert.are.same({ name = "bridge", budget = "135.00", status = "approved" },
                    assert(repo:get(head)).fields)

    local written = assert(s:commit_info(merged.commit))
    assert.are.same({ main_head, co_head }, written.parents)
    assert.are.same({ "settle", "co", "main", "lua", 1, merged.stamp },
                    { written.message, written.merged_from, written.branch, written.author,
                      written.changes, written.stamp })

    local again = assert(s:merge("co"))
    assert.is_nil(again.commit, "nothing new to merge")
    assert.are.same({}, again.changes)
    assert.are.equal(co_head, again.base_commit)
  end)

  it("rejects a resolution for a field not in conflict and writes nothing", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local head = conflicting_branches(s, repo)
    local log_before = assert(s:commit_log())
    local stray = { entity_type = "project", head_id = head, field = "name", take = "theirs" }
    local err = raises_invalid(s.merge, s, "co", { strategy = "ours", resolutions = { stray } })
    assert.matches("not in conflict", err.message, 1, true)
    raises_invalid(s.merge_preview, s, "co", { resolutions = { stray } })
    assert(s:rollback())
    assert.are.same(log_before, assert(s:commit_log()))
    assert.are.equal("120.00", assert(repo:get(head)).fields.budget)

    raises_invalid(s.merge, s, "co", { resolutions = "budget" })
    raises_invalid(s.merge, s, "co", { resolutions = { { field = "budget", take = "ours" } } })
    raises_invalid(s.merge, s, "co", { colour = "red" })
    raises_invalid(s.merge, s, "co", "main")
    raises_invalid(s.merge, s, "co", { strategy = "sideways" })
    local missing, not_found = s:merge("ghost")
    assert.is_nil(missing)
    assert.are.equal("not_found", not_found.code)
    assert.are.same(log_before, assert(s:commit_log()))
  end)

  it("merges a parent into its branch and between siblings", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local bridge = assert(repo:create { name = "bridge" }).head_id
    local tunnel = assert(repo:create { name = "tunnel", budget = 500 }).head_id
    assert(s:commit("add"))
    assert(s:create_branch("left"))
    assert(s:create_branch("right"))
    assert(s:commit())
    update_on_branch("left", bridge, { status = "left" })
    assert(repo:update(tunnel, { budget = 600 }))
    assert(s:commit("main moves on"))

    local down = assert(s:merge("main", { into = "left" }))
    assert.are.equal("left", down.target)
    assert.are.equal("600.00", repo:get(tunnel, { branch = "left" }).fields.budget)
    local across = assert(s:merge("left", { into = "right" }))
    assert.are.equal("right", across.target)
    assert.are.equal("left", repo:get(bridge, { branch = "right" }).fields.status)
    assert.are.equal("600.00", repo:get(tunnel, { branch = "right" }).fields.budget)
    assert.is_nil(repo:get(bridge).fields.status, "main is untouched")
    assert.are.equal(down.commit, assert(s:commit_info(across.commit)).parents[2])

    local by_name = {}
    for _, branch in ipairs(assert(s:branches())) do by_name[branch.name] = branch end
    assert.are.equal(down.commit, by_name.left.head)
    assert.are.equal(assert(s:commit_info("main")).id, by_name.left.base)
    assert.are.equal(assert(s:commit_info("main")).stamp, by_name.left.base_stamp)
    assert.is_nil(by_name.main.base)
    assert.are.equal(assert(s:commit_info("main")).id, by_name.main.head)
  end)

  it("stages a merge, resolves its conflicts one by one and continues it", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local head, _, co_head, main_head = conflicting_branches(s, repo)

    local started = assert(s:merge_start("co", { message = "staged" }))
    assert.are.same({ budget_conflict(head) }, started.conflicts)
    assert.are.same({ "main", co_head, 1 }, { started.target, started.source_commit, started.unresolved })
    assert.is_nil(started.commit)
    assert.is_nil(repo:get(head).fields.status, "a staged merge writes no version")
    raises_invalid(s.merge_start, s, "co")
    assert.are.same(started, assert(s:merge_status()))
    assert.are.same(started, assert(s:merge_status("main")))

    local unsettled, err = s:merge_continue()
    assert.is_nil(unsettled)
    assert.are.equal("merge_conflict", err.code)
    assert.are.same({ budget_conflict(head) }, err.conflicts)

    local stray = { entity_type = "project", head_id = head, field = "status", take = "ours" }
    local rejected = raises_invalid(s.merge_resolve, s, { stray })
    assert.matches("not in conflict", rejected.message, 1, true)
    raises_invalid(s.merge_resolve, s, "budget")
    assert.are.same(started, assert(s:merge_status()), "a rejected resolution is not kept")

    local ours = { entity_type = "project", head_id = head, field = "budget", take = "ours" }
    local resolved = assert(s:merge_resolve({ ours }))
    assert.are.same({ budget_conflict(head, ours) }, resolved.conflicts)
    assert.are.equal(0, resolved.unresolved)
    local value = { entity_type = "project", head_id = head, field = "budget", take = "value",
                    value = 140.5 }
    -- The value as the numeric(14,2) column stores it.
    local stored = { entity_type = "project", head_id = head, field = "budget", take = "value",
                     value = "140.50" }
    assert.are.same({ budget_conflict(head, stored) },
                    assert(s:merge_resolve({ value }, "main")).conflicts,
                    "a later resolution replaces the earlier")

    local continued = assert(s:merge_continue("main"))
    assert.is_true(is_commit_id(continued.commit))
    local written = assert(s:commit_info(continued.commit))
    assert.are.equal("staged", written.message)
    assert.are.same({ main_head, co_head }, written.parents)
    assert.are.same({ name = "bridge", budget = "140.50", status = "approved" },
                    assert(repo:get(head)).fields)

    local none, gone = s:merge_status()
    assert.is_nil(none)
    assert.are.equal("not_found", gone.code)
    assert.matches("no merge into 'main'", gone.message, 1, true)
    assert(s:rollback())
  end)

  it("aborts a staged merge and continues one with its own message", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local head = conflicting_branches(s, repo)
    assert(s:merge_start("co", { into = "main" }))
    assert.is_true(assert(s:merge_abort("main")))
    assert(s:commit())
    local none, err = s:merge_abort()
    assert.is_nil(none)
    assert.are.equal("not_found", err.code)
    assert(s:rollback())

    assert.are.equal(0, assert(s:merge_start("co", { strategy = "theirs" })).unresolved)
    local continued = assert(s:merge_continue(nil, "take co's budget"))
    assert.are.equal("take co's budget", assert(s:commit_info(continued.commit)).message)
    assert.are.equal("150.00", repo:get(head).fields.budget)
  end)

  it("names commits by id, prefix, tag or branch and finds merge bases", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local bridge = assert(repo:create { name = "bridge" }).head_id
    assert(s:commit("add bridge"))
    local first = assert(s:commit_log())[1]
    assert.is_true(is_commit_id(first.id))
    assert.are.same({}, first.parents)
    assert.are.same(first, assert(s:commit_info("main")))
    assert.are.same(first, assert(s:commit_info(first.id:sub(1, 6))))

    local missing, err = s:commit_info("no-such-ref")
    assert.is_nil(missing)
    assert.are.equal("not_found", err.code)
    assert.are.equal("EVN01", err.sqlstate)
    assert(s:rollback())

    assert(s:create_branch("co"))
    assert(s:commit())
    local co_head = update_on_branch("co", bridge, { status = "x" })
    assert(repo:update(bridge, { name = "bridge 2" }))
    assert(s:commit())
    assert.are.same(first, assert(s:merge_base("main", co_head)))
    assert.are.same(first, assert(s:merge_base(first.id, "co")), "an ancestor is its own base")
    local ghost, not_found = s:merge_base("main", "ghost")
    assert.is_nil(ghost)
    assert.are.equal("not_found", not_found.code)
    assert(s:rollback())
  end)

  it("has no merge base for histories that share no commit", function()
    local s <close> = open()
    assert(s:create_branch("island"))
    assert(s:commit())
    assert(assert(s:repository("project")):create { name = "on main" })
    assert(s:commit())
    local island <close> = open("island")
    assert(assert(island:repository("project")):create { name = "on island" })
    assert(island:commit())
    local base, err = s:merge_base("main", "island")
    assert.is_nil(base)
    assert.is_nil(err)
  end)

  it("tags commits", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    assert(repo:create { name = "bridge" })
    assert(s:commit("add bridge"))
    local first = assert(s:commit_info("main")).id
    local tag = assert(s:tag("v1.0", { message = "first release" }))
    assert.are.equal("integer", math.type(tag.created_at))
    tag.created_at = nil
    assert.are.same({ name = "v1.0", commit = first, message = "first release", created_by = "lua" }, tag)
    assert(s:commit())
    assert(repo:create { name = "tunnel" })
    assert(s:commit("add tunnel"))
    assert.are.equal(first, assert(s:tag("again", { commit = "v1.0" })).commit)
    assert.are.equal("", assert(s:tag("latest")).message)
    assert(s:commit())

    local exists = raises_invalid(s.tag, s, "v1.0")
    assert.matches("already exists", exists.message, 1, true)
    assert(s:rollback())
    raises_invalid(s.tag, s, "bad name")
    raises_invalid(s.tag, s, "v2", { colour = "red" })
    local missing, err = s:tag("v2", { commit = "ghost" })
    assert.is_nil(missing)
    assert.are.equal("not_found", err.code)
    assert(s:rollback())

    local names = {}
    for _, listed in ipairs(assert(s:tags())) do names[#names + 1] = listed.name end
    assert.are.same({ "again", "latest", "v1.0" }, names)
    assert.is_true(assert(s:delete_tag("again")))
    assert(s:commit())
    local gone, not_found = s:delete_tag("again")
    assert.is_nil(gone)
    assert.are.equal("not_found", not_found.code)
    assert(s:rollback())
    assert.are.equal(2, #assert(s:tags()))
  end)

  it("reverts a commit and cherry-picks one, refusing a locked branch", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local bridge = assert(repo:create { name = "bridge", budget = 100 }).head_id
    assert(s:commit("add"))
    assert(s:create_branch("hotfix"))
    assert(s:create_branch("frozen"))
    assert(s:commit())
    assert(repo:update(bridge, { budget = 200 }))
    assert(s:commit("raise"))
    local raise = assert(s:commit_info("main")).id

    local reverted = assert(s:revert_commit(raise))
    assert.are.same({ "main", raise }, { reverted.target, reverted.source_commit })
    assert.are.same({ budget = { old = "200.00", new = "100.00" } }, reverted.changes[1].fields)
    assert.are.equal("100.00", repo:get(bridge).fields.budget)
    assert.are.equal("revert " .. raise:sub(1, 12) .. ": raise",
                     assert(s:commit_info(reverted.commit)).message)

    local patch = update_on_branch("hotfix", bridge, { status = "patched" }, "patch")
    local picked = assert(s:cherry_pick(patch, { message = "pick the patch" }))
    assert.are.equal("patched", repo:get(bridge).fields.status)
    assert.are.equal("pick the patch", assert(s:commit_info(picked.commit)).message)

    assert(s:lock_branch("frozen"))
    assert(s:commit())
    local refused, locked = s:cherry_pick(patch, { into = "frozen" })
    assert.is_nil(refused)
    assert.are.equal("branch_locked", locked.code)
    assert.are.equal("EVL01", locked.sqlstate)
    assert.is_nil(repo:get(bridge, { branch = "frozen" }).fields.status)

    -- A later change to the same field makes reverting the revert a conflict.
    assert(repo:update(bridge, { budget = 300 }))
    assert(s:commit())
    local conflicted, err = s:revert_commit(reverted.commit)
    assert.is_nil(conflicted)
    assert.are.equal("merge_conflict", err.code)
    assert.are.same({ { entity_type = "project", head_id = bridge, field = "budget",
                        base = "100.00", ours = "300.00", theirs = "200.00", kind = "field" } },
                      err.conflicts)
    local settled = assert(s:revert_commit(reverted.commit, { strategy = "ours" }))
    assert.are.equal(0, settled.unresolved)
    local missing, not_found = s:cherry_pick("ghost")
    assert.is_nil(missing)
    assert.are.equal("not_found", not_found.code)
    raises_invalid(s.revert_commit, s, raise, { colour = 1 })
  end)

  it("diffs two states of history given as commits or instants", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local bridge = assert(repo:create { name = "bridge", budget = 100 }).head_id
    assert(s:commit("add"))
    local added = assert(s:commit_info("main"))
    assert(repo:update(bridge, { budget = 200 }))
    assert(s:commit("raise"))
    local raised = assert(s:commit_info("main"))

    local expected = { { entity_type = "project", head_id = bridge, kind = "modified",
                         fields = { budget = { old = "100.00", new = "200.00" } } } }
    assert.are.same(expected, assert(s:diff_history(added.id, raised.id)))
    assert.are.same(expected, assert(s:diff_history(added.stamp, raised.stamp, { branch = "main" })))
    assert.are.same(expected, assert(s:diff_history(evcs.timestamp(added.stamp), "main")))
    assert.are.same({}, assert(s:diff_history(raised.id, raised.id)))
    assert.are.equal("added", assert(s:diff_history(0, added.id))[1].kind)

    raises_invalid(s.diff_history, s, nil, raised.id)
    raises_invalid(s.diff_history, s, 1.5, raised.id)
    raises_invalid(s.diff_history, s, {}, raised.id)
    raises_invalid(s.diff_history, s, added.id, raised.id, { into = "main" })
    local missing, err = s:diff_history("ghost", raised.id)
    assert.is_nil(missing)
    assert.are.equal("not_found", err.code)
    assert(s:rollback())
  end)

  it("reads at a commit, finds as of a commit and lists versions over a range", function()
    local s <close> = open()
    local repo = assert(s:repository("project"))
    local bridge = assert(repo:create { name = "v1", budget = 100 }).head_id
    assert(s:commit("add"))
    local added = assert(s:commit_info("main")).id
    assert(s:tag("before", { commit = added }))
    assert(repo:update(bridge, { name = "v2" }))
    local tunnel = assert(repo:create { name = "tunnel" }).head_id
    assert(s:commit("more"))
    assert(repo:update(bridge, { name = "v3" }))
    assert(s:commit())

    assert.are.equal("v1", assert(repo:get_at_commit(bridge, added)).fields.name)
    assert.are.equal("v1", assert(repo:get_at_commit(bridge, "before")).fields.name)
    assert.are.equal(3, assert(repo:get_at_commit(bridge, "main")).version)
    local none, no_err = repo:get_at_commit(tunnel, "before")
    assert.is_nil(none)
    assert.is_nil(no_err)
    local missing, err = repo:get_at_commit(bridge, "ghost")
    assert.is_nil(missing)
    assert.are.equal("not_found", err.code)
    assert(s:rollback())

    local found = assert(repo:find { as_of_commit = "before" })
    assert.are.equal(1, #found)
    assert.are.equal("v1", found[1].fields.name)
    assert.are.equal(2, assert(repo:count { as_of_commit = "main" }))
    assert.is_false(repo:exists { as_of_commit = "before", where = { name = "tunnel" } })
    assert.is_true(repo:exists { as_of_commit = "main", where = { name = "tunnel" } })
    raises_invalid(repo.find, repo, { as_of_commit = "main", as_of = 0 })

    -- Oldest first; versions of one commit by head id (v2 and tunnel share a stamp): sorted here.
    local all = assert(repo:versions())
    local function sorted_names(versions)
      local listed = {}
      for index, version in ipairs(versions) do listed[index] = version.fields.name end
      table.sort(listed)
      return listed
    end
    assert.are.same({ "tunnel", "v1", "v2", "v3" }, sorted_names(all))
    assert.are.same({ "v1", "v3" }, { all[1].fields.name, all[4].fields.name })
    local s2, s3 = all[2].valid_from, all[4].valid_from
    local function range_names(range) return sorted_names(assert(repo:versions(range))) end
    assert.are.same({ "tunnel", "v2" }, range_names { from = s2, to = s3 })
    assert.are.same({ "tunnel", "v2", "v3" }, range_names { from = s2, to = s3, mode = "between" })
    assert.are.same({ "v1", "v2" },
                    range_names { from = all[1].valid_from, to = evcs.timestamp(s3), mode = "contained_in" })
    assert.are.same({ "v1" }, range_names { limit = 1, branch = "main" })
    assert.are.same({}, range_names { branch = "ghost" })
    raises_invalid(repo.versions, repo, { mode = "sideways" })
    raises_invalid(repo.versions, repo, { from = "yesterday" })
    raises_invalid(repo.versions, repo, { colour = 1 })
    raises_invalid(repo.versions, repo, "main")

    local history = assert(repo:history(bridge))
    assert.are.same({ name = "v1" }, history[2].previous)
  end)
end)
