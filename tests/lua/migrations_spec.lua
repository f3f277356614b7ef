-- Migrations and backup/restore through Lua: tables out, nil, err for expected failures (a
-- failing step, an edited file), error() for misuse, batch progress into a Lua function.
local evcs = require "evcs"
local helper = require "helper"

local function write(path, text)
  local file = assert(io.open(path, "wb"))
  file:write(text)
  file:close()
end

local function step(directory, name, up, down)
  write(directory .. "/" .. name .. ".up.sql", up)
  write(directory .. "/" .. name .. ".down.sql", down)
  return directory .. "/" .. name .. ".up.sql"
end

local function names(steps)
  local result = {}
  for index, item in ipairs(steps) do result[index] = item.name end
  return result
end

describe("migrations", function()
  local url, engine, directory

  setup(function() url = helper.fresh_database("migrations") end)

  before_each(function()
    local cleaner <close> = assert(evcs.engine { url = url })
    assert(cleaner:session(function(s)
      assert(s:execute("DROP SCHEMA public CASCADE"))
      assert(s:execute("CREATE SCHEMA public"))
    end))
    engine = assert(evcs.engine { url = url })
    local pipe = assert(io.popen("mktemp -d /tmp/evcs-lua-migrations-XXXXXX"))
    directory = pipe:read("l")
    pipe:close()
    step(directory, "0001_create_project", "CREATE TABLE project (id int PRIMARY KEY, name text);\n",
         "DROP TABLE project;\n")
    step(directory, "0002_seed_project", "INSERT INTO project VALUES (1, 'alpha'), (2, 'beta');\n",
         "DELETE FROM project;\n")
  end)

  after_each(function()
    engine:close()
    os.execute("rm -rf '" .. directory .. "'")
  end)

  local function query(sql)
    return assert(engine:session(function(s) return s:scalar(sql) end))
  end

  it("shows the catalog the engine installed, apart from the user's steps", function()
    local catalog <close> = assert(evcs.catalog_migration_runner(engine, { author = "ops" }))
    assert.are.equal("evcs:catalog", catalog:directory())
    local steps = assert(catalog:steps())
    assert.are.equal("0001_evcs_catalog", steps[1].name)
    assert.are.equal("evcs:catalog/0001_evcs_catalog.up.sql", steps[1].up_path)
    assert.are.equal(0, catalog:current())
    assert.are.same({ "main" }, assert(engine:session(function(s)
      local listed = {}
      for index, branch in ipairs(assert(s:branches())) do listed[index] = branch.name end
      return listed
    end)))
    assert.are.equal(#steps, catalog:current())
    local history = assert(catalog:history())
    assert.are.equal(#steps, #history)
    assert.are.equal(steps[#steps].checksum, history[#history].checksum)
    assert.is_true(assert(catalog:verify()))

    assert.are.same({ steps[#steps].name }, names(assert(catalog:downgrade("-1"))))
    assert.are.equal(#steps - 1, catalog:current())
    assert.are.same({ steps[#steps].name }, names(assert(catalog:upgrade())))
    local user = query("SELECT current_user::text")
    assert.are.equal(user .. " (ops)", assert(catalog:history())[#steps].applied_by)

    local mine <close> = assert(evcs.migration_runner(engine, directory))
    assert.are.same({ "0001_create_project", "0002_seed_project" }, names(assert(mine:upgrade())))
    assert.are.equal(#steps, math.tointeger(query("SELECT count(*) FROM evcs_catalog_migration")))
    assert.are.equal(2, math.tointeger(query("SELECT count(*) FROM evcs_migration")))
  end)

  it("upgrades, lists history and pending steps, and downgrades", function()
    local runner <close> = assert(evcs.migration_runner(engine, directory, { author = "lua" }))
    assert.are.equal(directory, runner:directory())
    assert.are.equal(0, runner:current())
    assert.are.same({ "0001_create_project", "0002_seed_project" }, names(runner:pending()))

    local applied = assert(runner:upgrade(1))
    assert.are.same({ "0001_create_project" }, names(applied))
    assert.are.same({
      version = 1, slug = "create_project", name = "0001_create_project",
      up_path = directory .. "/0001_create_project.up.sql",
      down_path = directory .. "/0001_create_project.down.sql", checksum = applied[1].checksum,
    }, applied[1])
    assert.are.equal(64, #applied[1].checksum)
    assert.are.same({ "0002_seed_project" }, names(assert(runner:upgrade())))
    assert.are.same({}, assert(runner:upgrade()))
    assert.are.equal(2, runner:current())
    assert.are.equal("integer", math.type(runner:current()))
    assert.are.equal("alpha,beta", query("SELECT string_agg(name, ',' ORDER BY id) FROM project"))

    local history = assert(runner:history())
    assert.are.equal(2, #history)
    assert.are.equal(2, history[2].version)
    assert.are.equal(query("SELECT current_user") .. " (lua)", history[2].applied_by)
    assert.are.equal(query("SELECT (extract(epoch FROM applied_at) * 1000000)::bigint "
                           .. "FROM evcs_migration WHERE version = 2"), history[2].applied_at)
    assert.is_true(assert(runner:verify()))

    assert.are.same({ "0002_seed_project", "0001_create_project" }, names(assert(runner:downgrade("base"))))
    assert.are.equal(0, runner:current())
    assert.is_true(query("SELECT to_regclass('project') IS NULL"))
  end)

  it("returns nil, err for a failing step and leaves the schema as before", function()
    local broken = step(directory, "0003_broken",
                        "CREATE TABLE task (id int);\nSELECT * FROM no_such_table;\n", "DROP TABLE task;\n")
    local runner <close> = assert(evcs.migration_runner(engine, directory))
    local applied, err = runner:upgrade()
    assert.is_nil(applied)
    assert.are.equal("migration_error", err.code)
    assert.are.equal("42P01", err.sqlstate)
    assert.are.equal(1, err.message:find(broken .. ":2: relation \"no_such_table\" does not exist. "
                                         .. "The step was rolled back", 1, true))
    assert.are.equal(2, runner:current())
    assert.is_true(query("SELECT to_regclass('task') IS NULL"))
  end)

  it("names the edited file in verify", function()
    local first <close> = assert(evcs.migration_runner(engine, directory))
    assert(first:upgrade())
    local edited = step(directory, "0002_seed_project", "INSERT INTO project VALUES (9, 'x');\n",
                        "DELETE FROM project;\n")
    -- A runner reads the files (and their checksums) when it is made.
    local runner <close> = assert(evcs.migration_runner(engine, directory))
    local ok, err = runner:verify()
    assert.is_nil(ok)
    assert.are.equal("migration_error", err.code)
    assert.is_nil(err.sqlstate)
    assert.are.equal(1, err.message:find(edited .. " was edited after it was applied", 1, true))
  end)

  it("prints offline SQL without changing anything, stamps and writes new steps", function()
    local runner <close> = assert(evcs.migration_runner(engine, directory))
    local sql = assert(runner:upgrade_sql())
    assert.are.equal(1, sql:find("BEGIN;\nCREATE TABLE IF NOT EXISTS evcs_migration (", 1, true))
    assert.is_truthy(sql:find("INSERT INTO project VALUES (1, 'alpha'), (2, 'beta');\n", 1, true))
    assert.are.equal(0, runner:current())
    assert.is_true(query("SELECT to_regclass('evcs_migration') IS NULL"))

    assert.is_true(assert(runner:stamp("head")))
    assert.are.equal(2, runner:current())
    assert.is_true(query("SELECT to_regclass('project') IS NULL"))
    local down = assert(runner:downgrade_sql(1))
    assert.is_truthy(down:find("DELETE FROM project;\n", 1, true))
    assert.is_nil(down:find("DROP TABLE project", 1, true))

    assert.are.equal(directory .. "/0003_add_a_task_table.up.sql",
                     evcs.new_migration_step(directory, "Add a task table!"))
    local ok, err = pcall(evcs.new_migration_step, directory, "!!!")
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
  end)

  it("reports batch progress to a Lua function, and stops when it raises", function()
    step(directory, "0003_create_big",
         "CREATE TABLE big (id int PRIMARY KEY, migrated bool NOT NULL DEFAULT false);\n"
         .. "INSERT INTO big (id) SELECT generate_series(1, 2500);\n", "DROP TABLE big;\n")
    local backfill = step(directory, "0004_backfill",
      "-- evcs: batch\nUPDATE big SET migrated = true\n"
      .. "WHERE id IN (SELECT id FROM big WHERE NOT migrated ORDER BY id LIMIT 1000);\n",
      "UPDATE big SET migrated = false;\n")
    local seen = {}
    local stopping = assert(evcs.migration_runner(engine, directory, {
      on_batch = function(file, batch, rows, total_rows)
        seen[#seen + 1] = { file, batch, rows, total_rows }
        if batch == 2 then error("enough batches", 0) end
      end,
    }))
    local applied, err = stopping:upgrade()
    assert.is_nil(applied)
    assert.are.equal("error", err.code)
    assert.are.equal("enough batches", err.message)
    assert.are.equal(3, stopping:current())
    assert.are.equal(2000, query("SELECT count(*) FROM big WHERE migrated"))
    stopping:close()

    seen = {}
    local runner <close> = assert(evcs.migration_runner(engine, directory, {
      on_batch = function(...) seen[#seen + 1] = { ... } end,
    }))
    assert.are.same({ "0004_backfill" }, names(assert(runner:upgrade())))
    assert.are.same({ { backfill, 1, 500, 500 } }, seen)
  end)

  it("raises for misuse and keeps its engine alive", function()
    assert.has_error(function() evcs.migration_runner(engine, directory, { colour = "red" }) end)
    local missing, err = evcs.migration_runner(engine, directory .. "/missing")
    assert.is_nil(missing)
    assert.are.equal("migration_error", err.code)
    local runner <close> = assert(evcs.migration_runner(engine, directory))
    engine:close()
    assert.are.same({ "0001_create_project", "0002_seed_project" }, names(assert(runner:upgrade())))
    runner:close()
    local ok, misuse = pcall(runner.current, runner)
    assert.is_false(ok)
    assert.are.equal("misuse", misuse.code)
    engine = assert(evcs.engine { url = url })
  end)
end)

describe("backup and restore", function()
  it("backs up, restores into an empty database and verifies", function()
    local source = helper.fresh_database("backup_source")
    local target = helper.fresh_database("backup_target")
    local engine <close> = assert(evcs.engine { url = source })
    assert(engine:session(function(s)
      assert(s:create_entity_type("project", { { "name", "text" } }))
      assert(s:commit())
      local repo = assert(s:repository("project"))
      assert(repo:create({ name = "alpha" }))
    end, { author = "lua" }))
    local pipe = assert(io.popen("mktemp -d /tmp/evcs-lua-backup-XXXXXX"))
    local directory = pipe:read("l")
    pipe:close()
    local archive = directory .. "/source.dump"

    local manifest = assert(evcs.backup(source, archive))
    assert.are.equal("source.dump", manifest.archive)
    local project
    for _, table in ipairs(manifest.tables) do
      if table.table == "public.project_version" then project = table end
    end
    assert.are.equal(1, project.rows)
    assert.are.equal(32, #project.md5)
    assert.are.same(manifest.tables, assert(evcs.restore(archive, target)).tables)
    assert.are.same(manifest.tables, assert(evcs.verify_restore(archive, target)).tables)
    local restored <close> = assert(evcs.engine { url = target })
    assert.are.equal("alpha", assert(restored:session(function(s)
      return s:scalar("SELECT name FROM project_current")
    end)))
    local ok, err = pcall(evcs.restore, archive, source)
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    assert.are.equal(1, err.message:find("database evcs_lua_backup_source is not empty", 1, true))
    os.execute("rm -rf '" .. directory .. "'")
  end)
end)
