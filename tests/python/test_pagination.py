"""Keyset pagination through Python: ``VersionList.cursor`` and ``after=`` for find, history and
versions; a walk over thousands of entities while another session commits; a property test
that pages in any order concatenate to the unpaged find; refused cursors; the docs' snippet."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evcs
from conftest import run_docs_snippet

#: The nullable fields of the `card` entities, each with few values and NULLs (duplicates).
ORDERABLE = ["colour", "size", "price", "label", "version", "valid_from", "head_id"]


def walk(repo: evcs.Repository, limit: int, **query: Any) -> Tuple[List[evcs.Version], int]:
    """Every page of the query, concatenated, and the number of pages."""
    page = repo.find(limit=limit, **query)
    walked, pages = list(page), 1
    while page.cursor is not None:
        assert len(page) == limit
        page = repo.find(limit=limit, after=page.cursor, **query)
        walked += page
        pages += 1
    return walked, pages


def pinned_instant(cursor: str) -> int:
    """The instant a cursor pins, read from its (internal) JSON: only this test looks inside."""
    record = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return int(record["at"])


@pytest.fixture(scope="module")
def cards(engine: evcs.Engine) -> Iterator[List[str]]:
    """60 cards with NULLs and duplicates in every field, on main."""
    with engine.session(author="setup") as s:
        s.create_entity_type(
            "card",
            {"colour": "text", "size": "int", "price": "numeric(8,2)", "label": "text"},
        )
        s.commit()
        rows: List[Dict[str, Any]] = [
            {
                "colour": [None, "red", "blue", "green"][i % 4],
                "size": None if i % 5 == 0 else i % 3,
                "price": None if i % 7 == 0 else f"{i % 4}.25",
                "label": f"card {i % 9}",
            }
            for i in range(60)
        ]
        created = s.repository("card").create_many(rows, "cards")
    yield created.head_ids


def test_pages_concatenate_to_the_unpaged_find(engine: evcs.Engine, cards: List[str]) -> None:
    with engine.session() as s:
        repo = s.repository("card")
        walked, pages = walk(repo, 25)
        assert pages == 3
        assert [v.head_id for v in walked] == sorted(cards)
        assert walked == list(repo.find())
        assert repo.find().cursor is None
        assert repo.find(limit=60).cursor is None
        assert isinstance(repo.find(limit=1).cursor, str)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    order=st.lists(
        st.tuples(st.sampled_from(ORDERABLE), st.booleans()), min_size=1, max_size=3,
        unique_by=lambda key: key[0],
    ),
    limit=st.integers(min_value=1, max_value=13),
    colour=st.sampled_from([None, "red", {"ne": "blue"}, {"is_null": True}]),
)
def test_pages_in_any_order_concatenate_to_the_unpaged_find(
    engine: evcs.Engine,
    cards: List[str],
    order: List[Tuple[str, bool]],
    limit: int,
    colour: Any,
) -> None:
    order_by = [("-" if descending else "") + field for field, descending in order]
    where = None if colour is None else {"colour": colour}
    with engine.session() as s:
        repo = s.repository("card")
        walked, _ = walk(repo, limit, order_by=order_by, where=where)
        assert [v.head_id for v in walked] == [
            v.head_id for v in repo.find(order_by=order_by, where=where)
        ]


def test_a_walk_while_another_session_commits_sees_the_pinned_instant(
    engine: evcs.Engine,
) -> None:
    with engine.session(author="setup") as s:
        s.create_entity_type("item", {"n": "int not null", "note": "text"})
        s.commit()
        s.repository("item").create_many([{"n": i} for i in range(3000)], "items")
    stop = threading.Event()
    commits = 0

    def write() -> None:
        nonlocal commits
        with engine.session(author="writer") as w:
            repo = w.repository("item")
            ids = [v.head_id for v in repo.find(limit=400)]
            step = 0
            while not stop.is_set():
                repo.create({"n": -step})
                repo.update(ids[(7 * step) % len(ids)], {"note": f"update {step}"})
                repo.delete(ids[(11 * step + 3) % len(ids)])
                w.commit(f"step {step}")
                ids = [v.head_id for v in repo.find(limit=400)]
                step += 1
                commits += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        with engine.session() as s:
            repo = s.repository("item")
            page = repo.find(limit=100, order_by="-n")
            assert page.cursor is not None
            cursor = page.cursor
            walked = list(page)
            while page.cursor is not None:
                page = repo.find(limit=100, order_by="-n", after=page.cursor)
                walked += page
    finally:
        stop.set()
        writer.join()
    assert commits > 0, "the writer committed while the walk ran"
    with engine.session() as s:
        repo = s.repository("item")
        pinned = repo.find(order_by="-n", as_of=pinned_instant(cursor))
        assert len({v.head_id for v in walked}) == len(walked), "each entity at most once"
        # Each entity of the pinned instant once, in its version of then (valid_to says when a
        # version ended, which for some is after the instant: compare what it was).
        assert [(v.head_id, v.version, dict(v)) for v in walked] == [
            (v.head_id, v.version, dict(v)) for v in pinned
        ]
        assert len(walked) >= 2900
        assert repo.find() != pinned, "the present moved on"


def test_as_of_and_commits_are_pinned_as_given(engine: evcs.Engine, cards: List[str]) -> None:
    with engine.session(author="ann") as s:
        repo = s.repository("card")
        tag = s.tag("sixty")
        before = repo.find()
        repo.create({"colour": "late"})
        s.commit("one more")
        by_tag, _ = walk(repo, 7, as_of="sixty")
        assert by_tag == before
        by_instant, _ = walk(repo, 7, as_of=s.commit_info(tag.commit).stamp)
        assert by_instant == before
        assert len(repo.find()) == 61


def test_history_and_versions_pages(engine: evcs.Engine) -> None:
    with engine.session(author="ann") as s:
        s.create_entity_type("doc", {"title": "text"})
        s.commit()
        repo = s.repository("doc")
        head = repo.create({"title": "v1"}).head_id
        s.commit()
        for n in range(2, 8):
            repo.update(head, {"title": f"v{n}"})
            s.commit()
        page = repo.history(head, limit=3)
        assert [v.version for v in page] == [1, 2, 3]
        repo.update(head, {"title": "later"})
        s.commit()
        pages = [page]
        while page.cursor is not None:
            page = repo.history(head, limit=3, after=page.cursor)
            pages.append(page)
        assert [[v.version for v in p] for p in pages] == [[1, 2, 3], [4, 5, 6], [7]]
        assert pages[1][0].previous == {"title": "v3"}
        whole = repo.history(head)
        assert len(whole) == 8

        def seen(version: evcs.Version) -> Tuple[Any, ...]:
            return (version.version, dict(version), version.changed, version.previous)

        assert [seen(v) for p in pages for v in p] == [seen(v) for v in whole[:7]], (
            "each page's versions, and what they changed from the one before, as the whole "
            "history has them")

        first = repo.versions(limit=5)
        rest = repo.versions(limit=5, after=first.cursor)
        assert [v.version for v in first + rest] == [v.version for v in repo.versions()]
        assert rest.cursor is None


def test_bad_cursors_are_invalid_arguments(engine: evcs.Engine, cards: List[str]) -> None:
    with engine.session() as s:
        repo = s.repository("card")
        s.create_branch("elsewhere")
        s.commit()
        first = repo.find(limit=5, order_by="-size", where={"colour": "red"})
        cursor = first.cursor
        assert cursor is not None
        query: Dict[str, Any] = {"limit": 5, "order_by": "-size", "where": {"colour": "red"}}
        cases: List[Tuple[Dict[str, Any], str, Optional[str]]] = [
            ({**query, "after": "garbage!"}, "not URL-safe base64", "EVK01"),
            ({**query, "after": cursor[:30]}, "invalid cursor", "EVK01"),
            ({**query, "after": cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")},
             "invalid cursor", "EVK01"),
            ({**query, "order_by": "size", "after": cursor}, "order_by", "EVK01"),
            ({**query, "where": {"colour": "blue"}, "after": cursor}, "another where", "EVK01"),
            ({**query, "branch": "elsewhere", "after": cursor}, "branch 'main'", "EVK01"),
            ({**query, "as_of": 0, "after": cursor}, "it reads as of", "EVK01"),
            ({**query, "offset": 5, "after": cursor}, "give offset or after", None),
        ]
        for arguments, message, sqlstate in cases:
            with pytest.raises(evcs.InvalidArgument, match=re.escape(message)) as raised:
                repo.find(**arguments)
            assert raised.value.code == "invalid_argument"
            assert raised.value.sqlstate == sqlstate
        with pytest.raises(evcs.InvalidArgument, match="continues a find read, not a history"):
            repo.history(cards[0], after=cursor)
        assert len(repo.find(**query)) == 5, "a refused cursor leaves the session usable"


def test_pages_as_awaitables(engine: evcs.Engine, cards: List[str]) -> None:
    async def scenario() -> List[str]:
        async with engine.async_session() as s:
            repo = await s.repository("card")
            page = await repo.find(limit=40)
            walked = [v.head_id for v in page]
            assert page.cursor is not None
            page = await repo.find(limit=40, after=page.cursor)
            assert page.cursor is None
            return walked + [v.head_id for v in page]

    with engine.session() as s:
        assert asyncio.run(scenario()) == [v.head_id for v in s.repository("card").find()]


def test_the_docs_snippet_runs_and_prints_what_it_says(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_docs_snippet("Pages and cursors", database_url, monkeypatch)
