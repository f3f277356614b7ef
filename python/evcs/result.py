"""Query results: ``Result`` (a buffered list of ``Row``) and ``Row``.

Cells arrive already converted by column type (evcs._native does it in C++); this module only
gives them the shape Python users expect (index, name and attribute access, pandas, HTML).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple, Union, overload

from .errors import MisuseError, NotFound

if TYPE_CHECKING:
    import pandas  # type: ignore[import]  # Debian's pandas ships no type information

__all__ = ["Row", "Result"]

#: Rows shown by Result._repr_html_ before the "N more rows" footer.
HTML_ROW_LIMIT = 20


class Row:
    """One result row: a read-only sequence that also answers ``row["col"]`` and ``row.col``.

    With duplicate column names, lookup by name finds the first such column.
    """

    __slots__ = ("_values", "_index")

    def __init__(self, values: Tuple[Any, ...], index: Dict[str, int]) -> None:
        self._values = values
        self._index = index

    @property
    def _fields(self) -> Tuple[str, ...]:
        return tuple(self._index)

    def _asdict(self) -> Dict[str, Any]:
        return {name: self._values[position] for name, position in self._index.items()}

    @overload
    def __getitem__(self, key: int) -> Any: ...

    @overload
    def __getitem__(self, key: slice) -> Tuple[Any, ...]: ...

    @overload
    def __getitem__(self, key: str) -> Any: ...

    def __getitem__(self, key: Union[int, slice, str]) -> Any:
        if isinstance(key, str):
            try:
                return self._values[self._index[key]]
            except KeyError:
                raise KeyError(f"no column named {key!r}; columns: {list(self._index)}") from None
        return self._values[key]

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[self._index[name]]
        except KeyError:
            raise AttributeError(f"no column named {name!r}; columns: {list(self._index)}") from None

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._values == other._values
        if isinstance(other, tuple):
            return self._values == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        cells = ", ".join(f"{name}={self._values[position]!r}" for name, position in self._index.items())
        return f"Row({cells})"


class Result:
    """The rows of one statement, fetched in full."""

    def __init__(self, columns: List[str], rows: List[Tuple[Any, ...]], rowcount: int) -> None:
        self._columns = columns
        self._rows = rows
        self._rowcount = rowcount
        index: Dict[str, int] = {}
        for position, name in enumerate(columns):
            index.setdefault(name, position)
        self._index = index

    @property
    def columns(self) -> List[str]:
        """Column names, in order."""
        return list(self._columns)

    @property
    def rowcount(self) -> int:
        """Rows inserted, updated or deleted by the statement (0 for other statements)."""
        return self._rowcount

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Row]:
        index = self._index
        return (Row(values, index) for values in self._rows)

    def __getitem__(self, position: int) -> Row:
        return Row(self._rows[position], self._index)

    def all(self) -> List[Row]:
        return list(self)

    def first(self) -> Optional[Row]:
        """The first row, or None when there is none."""
        return Row(self._rows[0], self._index) if self._rows else None

    def one(self) -> Row:
        """The only row: NotFound when there is none, MisuseError when there are several."""
        if not self._rows:
            raise NotFound("the statement returned no rows, but one() expects exactly one")
        if len(self._rows) > 1:
            raise MisuseError(
                f"the statement returned {len(self._rows)} rows, but one() expects exactly one: "
                "narrow the query, or use first() or all()"
            )
        return Row(self._rows[0], self._index)

    def scalar(self) -> Any:
        """The first column of the first row, or None when there are no rows."""
        if not self._rows or not self._columns:
            return None
        return self._rows[0][0]

    def to_pandas(self) -> "pandas.DataFrame":
        import pandas

        return pandas.DataFrame.from_records(self._rows, columns=self._columns)

    def _repr_html_(self) -> str:
        header = "".join(f"<th>{html.escape(name)}</th>" for name in self._columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in values) + "</tr>"
            for values in self._rows[:HTML_ROW_LIMIT]
        )
        hidden = len(self._rows) - HTML_ROW_LIMIT
        footer = f"<p>{hidden} more rows</p>" if hidden > 0 else ""
        return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>{footer}"

    def __repr__(self) -> str:
        return f"<evcs.Result columns={self._columns!r} rows={len(self._rows)} rowcount={self._rowcount}>"


def _as_result(native: Tuple[List[str], List[Tuple[Any, ...]], int]) -> Result:
    columns, rows, rowcount = native
    return Result(columns, rows, rowcount)

