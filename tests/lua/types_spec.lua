local evcs = require "evcs"
local helper = require "helper"

describe("parameters and values", function()
  local engine, s

  setup(function()
    engine = assert(evcs.engine { url = helper.fresh_database("types") })
    s = engine:open_session()
  end)

  teardown(function()
    s:close()
    engine:close()
  end)

  local function one(sql, params) return assert(s:execute(sql, params))[1] end

  it("round-trips integers as Lua integers, including the int64 extremes", function()
    local row = one("SELECT $1::bigint AS big, $2::bigint AS small, $3::int AS four, $4::smallint AS two",
                    { math.maxinteger, math.mininteger, 2147483647, -32768 })
    assert.are.equal(math.maxinteger, row.big)
    assert.are.equal(math.mininteger, row.small)
    assert.are.equal(2147483647, row.four)
    assert.are.equal(-32768, row.two)
    for _, name in ipairs { "big", "small", "four", "two" } do
      assert.are.equal("integer", math.type(row[name]))
    end
  end)

  it("round-trips floats as Lua floats", function()
    local row = one("SELECT $1::float8 AS third, $2::float8 AS whole, $3::float4 AS single",
                    { 1 / 3, 2.0, 0.5 })
    assert.are.equal(1 / 3, row.third)
    assert.are.equal("float", math.type(row.third))
    assert.are.equal(2.0, row.whole)
    assert.are.equal("float", math.type(row.whole))
    assert.are.equal(0.5, row.single)
  end)

  it("round-trips booleans", function()
    local row = one("SELECT $1::boolean AS yes, $2::boolean AS no", { true, false })
    assert.are.equal(true, row.yes)
    assert.are.equal(false, row.no)
  end)

  it("round-trips text, including multibyte UTF-8 and the empty string", function()
    local row = one("SELECT $1::text AS greeting, $2::text AS empty, length($1::text) AS length",
                    { "grüße, 世界", "" })
    assert.are.equal("grüße, 世界", row.greeting)
    assert.are.equal("", row.empty)
    assert.are.equal(9, row.length)
  end)

  it("sends evcs.null as NULL in the middle of the parameters and reads NULL as evcs.null", function()
    local row = one("SELECT $1::int AS a, $2::text IS NULL AS b_is_null, $2::text AS b, $3::int AS c",
                    { 1, evcs.null, 3 })
    assert.are.same({ a = 1, b_is_null = true, b = evcs.null, c = 3 }, row)
  end)

  it("honours params.n for trailing and embedded nils", function()
    local row = one("SELECT $1::int IS NULL AS first, $2::int AS second, $3::text IS NULL AS third",
                    { nil, 2, nil, n = 3 })
    assert.are.same({ first = true, second = 2, third = true }, row)
  end)

  it("round-trips bytea through evcs.bytes, embedded NULs and high bytes included", function()
    local raw = "\0\1\2binary\255\254\0"
    local row = one("SELECT $1::bytea AS data, length($1::bytea) AS length", { evcs.bytes(raw) })
    assert.are.equal(raw, row.data)
    assert.are.equal(#raw, row.length)
  end)

  it("round-trips timestamps as integer UTC microseconds", function()
    local micros = 1700000000123456
    local row = one("SELECT $1::timestamptz AS at, to_char($1::timestamptz AT TIME ZONE 'UTC', " ..
                    "'YYYY-MM-DD HH24:MI:SS.US') AS text", { evcs.timestamp(micros) })
    assert.are.equal(micros, row.at)
    assert.are.equal("integer", math.type(row.at))
    assert.are.equal("2023-11-14 22:13:20.123456", row.text)
    assert.are.equal(0, one("SELECT 'epoch'::timestamptz AS at").at)
  end)

  it("sends JSON text through evcs.json and reads json and jsonb back as JSON text", function()
    local row = one("SELECT $1::jsonb AS doc, ($1::jsonb ->> 'name') AS name, " ..
                    "'{\"a\": 1}'::json AS plain", { evcs.json('{"name": "ada", "tags": [1, 2]}') })
    assert.are.equal('{"name": "ada", "tags": [1, 2]}', row.doc)
    assert.are.equal("ada", row.name)
    assert.are.equal('{"a": 1}', row.plain)
  end)

  it("reads numeric, uuid and date as exact text", function()
    local row = one("SELECT 12345678901234567890.0123456789::numeric AS amount, " ..
                    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS id, DATE '2024-02-29' AS day")
    assert.are.equal("12345678901234567890.0123456789", row.amount)
    assert.are.equal("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", row.id)
    assert.are.equal("2024-02-29", row.day)
  end)

  it("rejects JSON text that is not JSON with invalid_argument", function()
    local ok, err = pcall(s.execute, s, "SELECT $1::jsonb", { evcs.json("{not json") })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
  end)

  it("rejects a plain table parameter with invalid_argument naming its position", function()
    local ok, err = pcall(s.execute, s, "SELECT $1::int, $2::jsonb", { 1, { a = 1 } })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
    assert.matches("parameter 2", err.message)
  end)

  it("rejects a timestamp that is not whole microseconds", function()
    local ok, err = pcall(s.execute, s, "SELECT $1::timestamptz", { evcs.timestamp(1.5) })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.code)
  end)
end)
