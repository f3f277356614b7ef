"""Parameter and result type mapping (docs/python.md), in both directions, with exact values."""

from __future__ import annotations

import datetime
import math
import decimal
import uuid
from typing import Any, Iterator

import pytest

import evcs

UTC = datetime.timezone.utc
BERLIN_SUMMER = datetime.timezone(datetime.timedelta(hours=2))


@pytest.mark.parametrize(
    ("value", "cast", "expected"),
    [
        (None, "int8", None),
        (True, "bool", True),
        (False, "bool", False),
        (0, "int8", 0),
        (-(2**63), "int8", -(2**63)),
        (2**63 - 1, "int8", 2**63 - 1),
        (1.5, "float8", 1.5),
        (-0.0, "float8", -0.0),
        (float("inf"), "float8", float("inf")),
        ("héllo wörld ✓", "text", "héllo wörld ✓"),
        ("", "text", ""),
        (b"\x00\x01\xff", "bytea", b"\x00\x01\xff"),
        (bytearray(b"ab"), "bytea", b"ab"),
        (memoryview(b"xyz"), "bytea", b"xyz"),
        (
            datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
            "timestamptz",
            datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        ),
        (
            datetime.datetime(2024, 7, 1, 12, 0, tzinfo=BERLIN_SUMMER),
            "timestamptz",
            datetime.datetime(2024, 7, 1, 10, 0, tzinfo=UTC),
        ),
        (
            datetime.datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
            "timestamptz",
            datetime.datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
        ),
        (datetime.date(2000, 1, 31), "date", datetime.date(2000, 1, 31)),
        (decimal.Decimal("12345678901234567890.0123"), "numeric", decimal.Decimal("12345678901234567890.0123")),
        (
            uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "uuid",
            uuid.UUID("12345678-1234-5678-1234-567812345678"),
        ),
        ({"a": [1, 2.5, None, "x"], "b": {"c": True}}, "jsonb", {"a": [1, 2.5, None, "x"], "b": {"c": True}}),
        ([1, "two"], "json", [1, "two"]),
    ],
)
def test_parameter_round_trips_through_a_cast(engine: evcs.Engine, value: Any, cast: str, expected: Any) -> None:
    with engine.session() as s:
        got = s.scalar(f"SELECT $1::{cast}", (value,))
    assert got == expected
    assert type(got) is type(expected)


def test_negative_zero_keeps_its_sign(engine: evcs.Engine) -> None:
    with engine.session() as s:
        assert str(s.scalar("SELECT $1::float8", (-0.0,))) == "-0.0"


def test_result_columns_convert_by_type(engine: evcs.Engine) -> None:
    with engine.session() as s:
        row = s.execute(
            """SELECT 7::int2 AS small, 8::int4 AS regular, 9::int8 AS big, 1.25::float4 AS single,
                      2.5::float8 AS double, true AS flag, 'txt'::varchar AS label, '\\x0a0b'::bytea AS raw,
                      '2001-02-03 04:05:06.789+00'::timestamptz AS stamp,
                      '2001-02-03 04:05:06'::timestamp AS naive_stamp,
                      3.10::numeric(5,2) AS amount, '{"k": [1]}'::jsonb AS doc, '[true]'::json AS list,
                      '00000000-0000-0000-0000-000000000001'::uuid AS id, '1999-12-31'::date AS day,
                      ARRAY['a', 'b c', NULL, '"q"']::text[] AS tags, NULL::int AS nothing"""
        ).one()
    assert row._asdict() == {
        "small": 7,
        "regular": 8,
        "big": 9,
        "single": 1.25,
        "double": 2.5,
        "flag": True,
        "label": "txt",
        "raw": b"\n\x0b",
        "stamp": datetime.datetime(2001, 2, 3, 4, 5, 6, 789000, tzinfo=UTC),
        "naive_stamp": datetime.datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC),
        "amount": decimal.Decimal("3.10"),
        "doc": {"k": [1]},
        "list": [True],
        "id": uuid.UUID(int=1),
        "day": datetime.date(1999, 12, 31),
        "tags": ["a", "b c", None, '"q"'],
        "nothing": None,
    }
    assert [type(value) for value in row] == [
        int, int, int, float, float, bool, str, bytes, datetime.datetime, datetime.datetime,
        decimal.Decimal, dict, list, uuid.UUID, datetime.date, list, type(None),
    ]


def test_row_supports_index_name_attribute_and_unpacking(engine: evcs.Engine) -> None:
    with engine.session() as s:
        result = s.execute("SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y' ORDER BY 1")
    assert result.columns == ["a", "b"]
    assert len(result) == 2
    first, second = result.all()
    assert (first[0], first["b"], first.b, first[-1], first[0:2]) == (1, "x", "x", "x", (1, "x"))
    a, b = second
    assert (a, b) == (2, "y")
    assert first == (1, "x")
    assert first._fields == ("a", "b")
    assert repr(first) == "Row(a=1, b='x')"
    with pytest.raises(KeyError, match="no column named 'c'"):
        first["c"]
    with pytest.raises(AttributeError, match="no column named 'c'"):
        first.c


def test_result_first_one_scalar_and_rowcount(engine: evcs.Engine) -> None:
    with engine.session() as s:
        s.execute("CREATE TABLE counted (id int)")
        inserted = s.execute("INSERT INTO counted SELECT generate_series(1, 5)")
        assert (inserted.rowcount, len(inserted), inserted.columns) == (5, 0, [])
        assert s.execute("UPDATE counted SET id = id + 10 WHERE id > 2").rowcount == 3
        empty = s.execute("SELECT id FROM counted WHERE id < 0")
        assert (empty.first(), empty.scalar(), empty.rowcount) == (None, None, 0)
        with pytest.raises(evcs.NotFound, match="returned no rows"):
            empty.one()
        many = s.execute("SELECT id FROM counted ORDER BY id")
        assert many.scalar() == 1
        with pytest.raises(evcs.MisuseError, match="returned 5 rows"):
            many.one()
        assert s.scalar("SELECT id FROM counted WHERE id = -1") is None


def test_to_pandas_and_html_table(engine: evcs.Engine) -> None:
    with engine.session() as s:
        result = s.execute("SELECT n, n * 2 AS twice FROM generate_series(1, 25) AS n ORDER BY n")
    frame = result.to_pandas()
    assert list(frame.columns) == ["n", "twice"]
    assert frame["twice"].tolist() == [2 * n for n in range(1, 26)]
    html = result._repr_html_()
    assert html.count("<tr>") == 1 + 20
    assert html.startswith("<table><thead><tr><th>n</th><th>twice</th></tr></thead>")
    assert html.endswith("</table><p>5 more rows</p>")


def test_integer_outside_int64_is_invalid_argument(engine: evcs.Engine) -> None:
    with engine.session() as s:
        with pytest.raises(evcs.InvalidArgument, match=r"parameter \$2: the integer 9223372036854775808 is outside") as raised:
            s.scalar("SELECT $1::int8 + $2::int8", (1, 2**63))
    assert isinstance(raised.value, ValueError)
    assert raised.value.code == "invalid_argument"


def test_naive_datetime_is_refused(engine: evcs.Engine) -> None:
    with engine.session() as s:
        with pytest.raises(evcs.InvalidArgument, match=r"parameter \$1: a naive datetime has no time zone"):
            s.scalar("SELECT $1::timestamptz", (datetime.datetime(2024, 1, 1),))


def test_lone_surrogate_in_text_is_invalid_argument(engine: evcs.Engine) -> None:
    with engine.session() as s:
        with pytest.raises(evcs.InvalidArgument, match=r"parameter \$1 is not valid Unicode text"):
            s.scalar("SELECT $1::text", ("bad \ud800",))
        with pytest.raises(evcs.InvalidArgument, match="the SQL text is not valid Unicode text"):
            s.scalar("SELECT '\ud800'")


def test_nul_character_in_text_is_invalid_argument(engine: evcs.Engine) -> None:
    with engine.session() as s:
        with pytest.raises(evcs.InvalidArgument, match="NUL") as raised:
            s.scalar("SELECT $1::text", ("a\x00b",))
    assert raised.value.sqlstate is None


@pytest.mark.parametrize(
    ("value", "type_name"),
    [({1, 2}, "set"), (object(), "object"), ((1, 2), "tuple"), (1 + 2j, "complex")],
)
def test_unsupported_parameter_type_is_type_error_naming_type_and_position(
    engine: evcs.Engine, value: Any, type_name: str
) -> None:
    with engine.session() as s:
        with pytest.raises(TypeError, match=rf"^parameter \$2: cannot send a value of type {type_name}; supported: "):
            s.scalar("SELECT $1::int, $2", (1, value))


@pytest.mark.parametrize(("params", "type_name"), [("abc", "str"), ({"a": 1}, "dict"), (5, "int")])
def test_params_must_be_a_sequence(engine: evcs.Engine, params: Any, type_name: str) -> None:
    with engine.session() as s:
        with pytest.raises(TypeError, match=rf"params must be a sequence .* not {type_name}$"):
            s.execute("SELECT $1", params)


def test_wrong_parameter_count_is_invalid_argument_from_the_server(engine: evcs.Engine) -> None:
    with engine.session() as s:
        with pytest.raises(evcs.InvalidArgument) as raised:
            s.scalar("SELECT $1::int + $2::int", (1,))
        assert raised.value.sqlstate == "08P01"
        s.rollback()
        assert s.scalar("SELECT 2") == 2


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("SELECT 'infinity'::timestamptz", "timestamp"),
        ("SELECT '0044-03-15 BC'::date", "date"),
        ("SELECT '12000-01-01'::date", "date"),
    ],
)
def test_values_without_a_python_form_are_invalid_argument(engine: evcs.Engine, sql: str, what: str) -> None:
    with engine.session() as s:
        with pytest.raises(evcs.InvalidArgument, match=rf"the {what} '.*' is outside the range of Python's datetime"):
            s.scalar(sql)


def test_non_contiguous_memoryview_is_refused(engine: evcs.Engine) -> None:
    with engine.session() as s:
        with pytest.raises(BufferError):
            s.scalar("SELECT $1::bytea", (memoryview(b"abcdef")[::2],))


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT ARRAY[1, NULL, -3]::int4[]", [1, None, -3]),
        ("SELECT ARRAY[-32768, 32767]::int2[]", [-32768, 32767]),
        ("SELECT ARRAY[-9223372036854775808, 9223372036854775807]::int8[]", [-(2**63), 2**63 - 1]),
        ("SELECT '{{1,2},{3,4}}'::int[]", [[1, 2], [3, 4]]),
        ("SELECT '{}'::int[]", []),
        ("SELECT '{{a,\"b c\"},{NULL,\"NULL\"}}'::text[]", [["a", "b c"], [None, "NULL"]]),
        ("SELECT '[0:1]={x,y}'::text[]", ["x", "y"]),
        ("SELECT ARRAY['{', '}', ',', '\\', '']::varchar[]", ["{", "}", ",", "\\", ""]),
    ],
)
def test_array_columns_are_lists(engine: evcs.Engine, sql: str, expected: Any) -> None:
    with engine.session() as s:
        got = s.scalar(sql)
    assert got == expected
    assert type(got) is list


# ---- entity fields (repository records) ------------------------------------------------------
#
# Every column type of docs/versioning.md's list (and the other common ones) as an entity field: the value a
# version returns is of the same Python type and equal to what was written, on the write itself,
# on get, history and find, and as a filter value.

FIELD_TYPES = {
    "t_text": "text",
    "t_int": "integer",
    "t_bigint": "bigint",
    "t_float": "double precision",
    "t_bool": "boolean",
    "t_numeric": "numeric(24,4)",
    "t_uuid": "uuid",
    "t_date": "date",
    "t_timestamptz": "timestamptz",
    "t_text_array": "text[]",
    "t_int_array": "int[]",
    "t_bigint_array": "bigint[]",
    "t_jsonb": "jsonb",
    "t_bytea": "bytea",
}

FIELD_VALUES = [
    ("t_text", "héllo wörld ✓ 'quoted' \"double\"", "héllo wörld ✓ 'quoted' \"double\""),
    ("t_int", -(2**31), -(2**31)),
    ("t_bigint", 2**63 - 1, 2**63 - 1),
    ("t_float", 0.1, 0.1),
    ("t_float", -1.5e300, -1.5e300),
    ("t_bool", False, False),
    ("t_numeric", decimal.Decimal("12345678901234567890.0123"), decimal.Decimal("12345678901234567890.0123")),
    ("t_numeric", decimal.Decimal("-0.5"), decimal.Decimal("-0.5000")),
    ("t_numeric", 7, decimal.Decimal("7.0000")),
    ("t_uuid", uuid.UUID("12345678-1234-5678-1234-567812345678"), uuid.UUID("12345678-1234-5678-1234-567812345678")),
    ("t_date", datetime.date(2024, 2, 29), datetime.date(2024, 2, 29)),
    ("t_date", datetime.date(1, 1, 1), datetime.date(1, 1, 1)),
    (
        "t_timestamptz",
        datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
    ),
    (
        "t_timestamptz",
        datetime.datetime(2024, 7, 1, 12, 0, 0, 500000, tzinfo=BERLIN_SUMMER),
        datetime.datetime(2024, 7, 1, 10, 0, 0, 500000, tzinfo=UTC),
    ),
    (
        "t_timestamptz",
        datetime.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
    ),
    ("t_text_array", ["a", "b c", None, '"q"', "NULL", "{x}", ""], ["a", "b c", None, '"q"', "NULL", "{x}", ""]),
    ("t_text_array", [], []),
    ("t_int_array", [1, None, -(2**31)], [1, None, -(2**31)]),
    ("t_int_array", [[1, 2], [3, 4]], [[1, 2], [3, 4]]),
    ("t_bigint_array", [2**63 - 1], [2**63 - 1]),
    ("t_jsonb", {"a": [1, 2.5, None, "x"], "b": {"c": True}}, {"a": [1, 2.5, None, "x"], "b": {"c": True}}),
    ("t_jsonb", [1, "two", {"three": 3}], [1, "two", {"three": 3}]),
    ("t_jsonb", "just a string", "just a string"),
    ("t_bytea", b"\x00\x01\xff\\x", b"\x00\x01\xff\\x"),
    ("t_bytea", bytearray(b"ab"), b"ab"),
    ("t_bytea", b"", b""),
]


@pytest.fixture(scope="module")
def typed(engine: evcs.Engine) -> Iterator[None]:
    with engine.session() as s:
        s.create_entity_type("typed", FIELD_TYPES)
    yield


@pytest.mark.parametrize(("field", "value", "expected"), FIELD_VALUES)
def test_entity_field_round_trips_with_its_python_type(
    engine: evcs.Engine, typed: None, field: str, value: Any, expected: Any
) -> None:
    with engine.session() as s:
        repo = s.repository("typed")
        written = repo.create({field: value})
        s.commit()
        current = repo.get(written.head_id)
        assert current is not None
        found = repo.find(where={"head_id": written.head_id})
        (history,) = repo.history(written.head_id)
        for version in (written, current, history):
            assert version[field] == expected
            assert type(version[field]) is type(expected)
            assert all(version[other] is None for other in FIELD_TYPES if other != field)
        assert [version.head_id for version in found] == [written.head_id]
        assert found[0][field] == expected
        assert type(found[0][field]) is type(expected)
        repo.delete(written.head_id)
        s.commit()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("t_numeric", decimal.Decimal("1.50")),
        ("t_uuid", uuid.UUID(int=5)),
        ("t_date", datetime.date(2030, 1, 2)),
        ("t_timestamptz", datetime.datetime(2030, 1, 2, 3, 4, 5, 6, tzinfo=UTC)),
        ("t_bytea", b"\x00\xfe"),
    ],
)
def test_python_values_work_as_filter_values(engine: evcs.Engine, typed: None, field: str, value: Any) -> None:
    with engine.session() as s:
        repo = s.repository("typed")
        head = repo.create({field: value, "t_text": "filter"}).head_id
        repo.create({"t_text": "filter"})
        assert [v.head_id for v in repo.find(where={field: value})] == [head]
        assert [v.head_id for v in repo.find(where={field: {"in": [value]}})] == [head]
        assert repo.count(where={"t_text": "filter", field: {"ne": value}}) == 1
        s.rollback()


def test_version_fields_are_ordered_by_name_and_null_fields_are_none(engine: evcs.Engine, typed: None) -> None:
    with engine.session() as s:
        version = s.repository("typed").create({"t_text": "x"})
        s.rollback()
    assert list(version) == sorted(FIELD_TYPES)
    assert list(version.fields) == sorted(FIELD_TYPES)
    assert version.fields == {name: ("x" if name == "t_text" else None) for name in sorted(FIELD_TYPES)}


def test_repository_fields_list_the_declared_types_in_column_order(engine: evcs.Engine, typed: None) -> None:
    with engine.session() as s:
        fields = s.repository("typed").fields
    assert list(fields) == list(FIELD_TYPES)
    assert fields == {
        "t_text": "text", "t_int": "integer", "t_bigint": "bigint", "t_float": "double precision",
        "t_bool": "boolean", "t_numeric": "numeric(24,4)", "t_uuid": "uuid", "t_date": "date",
        "t_timestamptz": "timestamptz", "t_text_array": "text[]", "t_int_array": "int[]",
        "t_bigint_array": "bigint[]", "t_jsonb": "jsonb", "t_bytea": "bytea",
    }


def test_a_domain_field_gets_its_base_types_python_type(engine: evcs.Engine) -> None:
    with engine.session() as s:
        s.execute("CREATE DOMAIN positive_amount AS numeric(10,2) CHECK (VALUE > 0)")
        s.create_entity_type("invoice", {"amount": "positive_amount"})
        version = s.repository("invoice").create({"amount": decimal.Decimal("12.5")})
        s.rollback()
    assert version["amount"] == decimal.Decimal("12.50")
    assert type(version["amount"]) is decimal.Decimal


def test_a_timestamp_field_read_in_another_time_zone_is_still_utc(engine: evcs.Engine, typed: None) -> None:
    with engine.session() as s:
        s.execute("SET TIME ZONE 'Asia/Kolkata'")
        stamp = datetime.datetime(2024, 1, 1, 0, 0, tzinfo=UTC)
        version = s.repository("typed").create({"t_timestamptz": stamp})
        s.rollback()
    assert version["t_timestamptz"] == stamp
    assert version["t_timestamptz"].utcoffset() == datetime.timedelta(0)


@pytest.mark.parametrize(
    ("field", "sql_value", "what"),
    [
        ("t_timestamptz", "infinity", "timestamp"),
        ("t_timestamptz", "0044-03-15 12:00:00+00 BC", "timestamp"),
        ("t_timestamptz", "12000-01-01 00:00:00+00", "timestamp"),
        ("t_date", "0044-03-15 BC", "date"),
        ("t_date", "infinity", "date"),
    ],
)
def test_field_values_without_a_python_form_are_invalid_argument(
    engine: evcs.Engine, typed: None, field: str, sql_value: str, what: str
) -> None:
    with engine.session() as s:
        repo = s.repository("typed")
        with pytest.raises(evcs.InvalidArgument, match=rf"the {what} '.*' is outside the range of Python's datetime"):
            repo.create({field: sql_value})
        s.rollback()


def test_unsupported_field_value_is_type_error(engine: evcs.Engine, typed: None) -> None:
    with engine.session() as s:
        with pytest.raises(TypeError, match="cannot send a complex as an entity field: use str, int, float, bool, None, Decimal, datetime .aware., date, UUID, bytes, dict or list"):
            s.repository("typed").create({"t_text": 1 + 2j})


def test_nan_and_the_infinities_are_stored_and_read_back_as_floats(
    engine: evcs.Engine, typed: None
) -> None:
    nan, inf = float("nan"), float("inf")

    def stored(s: evcs.Session, head_id: str) -> Any:
        return s.scalar(
            "SELECT t_float::text || ' ' || coalesce(t_jsonb::text, '') FROM typed_version "
            "WHERE head_id = $1::uuid AND valid_to IS NULL",
            [head_id],
        )

    with engine.session() as s:
        repo = s.repository("typed")
        created = repo.create({"t_float": nan, "t_jsonb": {"x": [inf]}})
        assert math.isnan(created["t_float"])
        s.commit()
        head_id = created.head_id
        assert stored(s, head_id) == 'NaN {"x": ["Infinity"]}'
        assert repo.get(head_id)["t_jsonb"] == {"x": ["Infinity"]}, "jsonb has no infinity"
        repo.update(head_id, {"t_float": inf})
        s.commit()
        assert stored(s, head_id) == 'Infinity {"x": ["Infinity"]}'
        assert [version["t_float"] for version in repo.history(head_id)][-1] == inf
        assert [found.head_id for found in repo.find(where={"t_float": inf})] == [head_id]
        bulk = repo.create_many([{"t_float": -inf}])
        assert stored(s, bulk.head_ids[0]) == "-Infinity "
        s.rollback()
    with engine.session(autocommit=True) as s:
        updated = s.repository("typed").update(head_id, {"t_float": -inf})
        assert updated["t_float"] == -inf
        assert stored(s, head_id) == '-Infinity {"x": ["Infinity"]}'
