-- Columns: a statement's rows and a find's versions as one array per column, read from the
-- engine's typed batches (docs/lua.md, "Columns"), with the values the row tables hold.
local evcs = require "evcs"
local helper = require "helper"
local native = require "evcs_native"

describe("columns", function()
  local engine, s

  setup(function()
    engine = assert(evcs.engine { url = helper.fresh_database("columns") })
    s = engine:open_session()
  end)

  teardown(function()
    s:close()
    engine:close()
  end)

  it("reads every column type as the row tables do, NULL as evcs.null", function()
    local sql = "SELECT n AS i, n / 4.0::float8 AS d, n > 1 AS b, " ..
                "CASE WHEN n = 2 THEN NULL ELSE 'v' || n END AS t, to_timestamp(n) AS ts, " ..
                "(n * 1.5)::numeric(6,2) AS price, '\\x00ff'::bytea AS y " ..
                "FROM generate_series(1, $1) n ORDER BY n"
    local columns = assert(s:columns(sql, { 3 }))
    local rows = assert(s:execute(sql, { 3 }))
    assert.are.equal(3, columns.row_count)
    assert.are.equal(7, #columns)
    for index, column in ipairs(columns) do
      assert.are.equal(rows.columns[index], column.name)
      assert.are.equal(3, #column)
      for row = 1, 3 do assert.are.equal(rows[row][column.name], column[row]) end
    end
    assert.are.same({ 1, 2, 3 }, { columns[1][1], columns[1][2], columns[1][3] })
    assert.are.equal("integer", math.type(columns[1][1]))
    assert.are.equal(0.75, columns[2][3])
    assert.are.same({ false, true, true }, { columns[3][1], columns[3][2], columns[3][3] })
    assert.are.equal(evcs.null, columns[4][2])
    assert.are.equal(2000000, columns[5][2])
    assert.are.equal("4.50", columns[6][3])
    assert.are.equal("\0\255", columns[7][1])
    assert.are.equal(native.EVCS_TYPE_TIMESTAMP, columns[5].type)
    local empty = assert(s:columns("SELECT 1 AS one WHERE false"))
    assert.are.equal(0, empty.row_count)
    assert.are.equal("one", empty[1].name)
    local ok, err = pcall(s.columns, s, "SELECT 1 / 0")
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    assert.are.equal("22012", err.sqlstate)
    assert(s:rollback())
  end)

  it("reads a find's page as columns: the version's own columns, then the fields", function()
    assert(s:create_entity_type("gauge", { { "label", "text not null" }, { "level", "int" } }))
    assert(s:commit())
    local gauges = assert(s:repository("gauge"))
    for n = 1, 5 do assert(gauges:create { label = "g" .. n, level = n < 5 and n or nil }) end
    assert(s:commit("five gauges"))
    local columns = assert(gauges:find_columns { order_by = "label", limit = 4 })
    assert.are.equal(4, columns.row_count)
    local by_name = {}
    for _, column in ipairs(columns) do by_name[column.name] = column end
    assert.are.same({ "g1", "g2", "g3", "g4" },
                    { by_name.label[1], by_name.label[2], by_name.label[3], by_name.label[4] })
    assert.are.equal("main", by_name.branch[3])
    assert.are.equal(1, by_name.version[1])
    assert.are.equal(evcs.null, by_name.valid_to[1])
    local all = assert(gauges:find_columns())
    assert.are.equal(5, all.row_count)
    local levels = {}
    for _, column in ipairs(all) do if column.name == "level" then levels = column end end
    local nulls = 0
    for row = 1, 5 do if levels[row] == evcs.null then nulls = nulls + 1 end end
    assert.are.equal(1, nulls)
    assert(s:rollback())
  end)
end)

describe("update_many", function()
  local engine, s

  setup(function()
    engine = assert(evcs.engine { url = helper.fresh_database("update_many") })
    s = engine:open_session()
    assert(s:create_entity_type("meter", { { "label", "text not null" }, { "reading", "int" } }))
    assert(s:commit())
  end)

  teardown(function()
    s:close()
    engine:close()
  end)

  it("updates many entities in one commit and refuses an unknown one whole", function()
    local meters = assert(s:repository("meter"))
    local created = assert(meters:create_many { { label = "a", reading = 1 },
                                                 { label = "b", reading = 2 } })
    local updated = assert(meters:update_many({ { head_id = created.head_ids[1], reading = 10 },
                                                { head_id = created.head_ids[2], reading = 2 } },
                                              "read the meters"))
    assert.are.same({ 2, 1 }, updated.versions)
    assert.are.same(created.head_ids, updated.head_ids)
    local log = assert(s:commit_log { limit = 1 })
    assert.are.equal("read the meters", log[1].message)
    assert.are.equal(1, log[1].changes)
    local missing, err = meters:update_many { { head_id = created.head_ids[1], reading = 11 },
                                              { head_id = "7f0e3b1c-51a5-4b0e-8c55-7d7b7b7b7b7b",
                                                reading = 1 } }
    assert.is_nil(missing)
    assert.are.equal("not_found", err.code)
    assert.are.equal(10, assert(meters:get(created.head_ids[1])).fields.reading)
    assert(s:rollback())
  end)
end)
