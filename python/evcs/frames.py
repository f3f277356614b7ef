"""pandas DataFrames made from typed columns (the C ABI's typed batches), not from records.

evcs._native hands over each column as numpy arrays (``typed_columns`` in python/src); this
module only picks the pandas dtype that keeps every value and every NULL:

- int64 → ``int64``, or pandas' nullable ``Int64`` when the column has a NULL;
- bool → ``bool``, or the nullable ``boolean``;
- float64 → ``float64`` (NULL as NaN, as pandas does);
- timestamp → ``datetime64[ns, UTC]`` (NULL as NaT); a column with an instant outside
  datetime64[ns]'s years 1677-2262 stays an object column of aware datetimes;
- everything else → an object column of the values a ``Version`` holds (str, Decimal, UUID,
  date, bytes, parsed JSON), NULL as None.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, List, Sequence, Tuple

from .errors import InvalidArgument

if TYPE_CHECKING:
    import pandas  # type: ignore[import]  # Debian's pandas ships no type information

#: One column as evcs._native gives it: name, kind, values, validity (numpy arrays).
TypedColumn = Tuple[str, str, Any, Any]

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
# datetime64[ns] holds int64 nanoseconds: microseconds beyond this overflow it.
_NANOSECOND_LIMIT_MICROS = (2**63 - 1) // 1000


def _instant(micros: int) -> datetime.datetime:
    try:
        return _EPOCH + datetime.timedelta(microseconds=micros)
    except OverflowError:
        raise InvalidArgument(
            f"the timestamp {micros} µs after 1970 (or 'infinity') is outside the range of "
            "Python's datetime (years 1-9999); cast the column to text in SQL to read it"
        ) from None


def _series_values(kind: str, values: Any, valid: Any) -> Any:
    import numpy
    import pandas

    missing = ~valid
    has_null = bool(missing.any())
    if kind == "int64":
        return pandas.arrays.IntegerArray(values, missing) if has_null else values
    if kind == "bool":
        flags = values.astype(bool)
        return pandas.arrays.BooleanArray(flags, missing) if has_null else flags
    if kind == "float64":
        if has_null:
            values[missing] = numpy.nan
        return values
    if kind == "timestamp":
        present = values[valid]
        if present.size and (int(present.max()) > _NANOSECOND_LIMIT_MICROS
                             or int(present.min()) < -_NANOSECOND_LIMIT_MICROS):
            return numpy.array(
                [_instant(int(micros)) if ok else None for micros, ok in zip(values, valid)],
                dtype=object,
            )
        nanoseconds = values * 1000
        nanoseconds[missing] = numpy.iinfo(numpy.int64).min  # NaT
        return pandas.DatetimeIndex(nanoseconds.view("datetime64[ns]")).tz_localize("UTC")
    return values


def frame(columns: Sequence[TypedColumn], names: List[str]) -> "pandas.DataFrame":
    """A DataFrame of ``columns``, named ``names`` in that order (a name may repeat, as a
    query's column names may)."""
    import pandas

    values = [_series_values(kind, data, valid) for _, kind, data, valid in columns]
    if len(set(names)) < len(names):
        return pandas.concat(
            [pandas.Series(column, name=name) for name, column in zip(names, values)], axis=1
        ) if names else pandas.DataFrame()
    # A dict keeps its order: passing columns= as well sends pandas 1.5 down a path that turns
    # every timestamp into a Python datetime and back (0.15 s per 100,000 rows).
    return pandas.DataFrame(dict(zip(names, values)))


def query_frame(columns: Sequence[TypedColumn]) -> "pandas.DataFrame":
    """The DataFrame of a query's columns, under the names the query gave them."""
    return frame(columns, [name for name, *_ in columns])
