"""evcs.autogenerate_models: typed models diffed against the database as a schema file is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import evcs


class Note(evcs.Model):
    title: str


class NoteWithBody(evcs.Model):
    """Note, one release later: a new attribute."""

    __entity_type__ = "note"

    title: str
    body: str | None = None


class Board(evcs.Model):
    name: str


class Card(evcs.Model):
    __unique__ = [("board", "title")]
    __checks__ = {"title_not_empty": "title <> ''"}

    title: str
    board: evcs.Ref[Board] = evcs.field(on_delete="cascade")


def upgrade(engine: evcs.Engine, migrations: Path) -> list[str]:
    with evcs.MigrationRunner(engine, migrations) as runner:
        return [step.name for step in runner.upgrade()]


def test_a_new_model_creates_its_type_and_a_new_attribute_adds_a_column(
    empty_schema_engine: evcs.Engine, tmp_path: Path
) -> None:
    engine, migrations = empty_schema_engine, tmp_path / "migrations"

    created = evcs.autogenerate_models(engine, "notes", [Note], directory=migrations)
    assert created.changes == ["add entity type note"]
    assert created.up_path == str(migrations / "0001_notes.up.sql")
    assert upgrade(engine, migrations) == ["0001_notes"]
    with engine.session() as s:
        s.models(Note).create(Note(title="first"))

    grown = evcs.autogenerate_models(engine, "note bodies", [NoteWithBody], directory=migrations)
    assert grown.changes == ["add column note.body text (entity type)"]
    assert upgrade(engine, migrations) == ["0002_note_bodies"]
    with engine.session() as s:
        notes = s.models(NoteWithBody)
        assert [(note.title, note.body) for note in notes.find()] == [("first", None)]

    unchanged = evcs.autogenerate_models(engine, "nothing", [NoteWithBody], directory=migrations)
    assert not unchanged and unchanged.up_path is None


def test_models_and_a_schema_file_make_one_document(
    empty_schema_engine: evcs.Engine, tmp_path: Path
) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({
        "version": 1,
        "tables": {"audit": {"columns": [{"name": "id", "type": "bigint"}], "primary_key": ["id"]}},
    }))
    assert evcs.schema_document([Note], schema=schema) == {
        "version": 1,
        "tables": {"audit": {"columns": [{"name": "id", "type": "bigint"}], "primary_key": ["id"]}},
        "entity_types": {"note": {"columns": [{"name": "title", "type": "text not null"}]}},
    }
    result = evcs.autogenerate_models(
        empty_schema_engine, "notes and audit", [Note], schema=schema,
        directory=tmp_path / "migrations",
    )
    assert result.changes == ["add entity type note", "add table audit"]


def test_an_entity_type_declared_twice_is_refused(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"entity_types": {"note": {"columns": [
        {"name": "title", "type": "text"}]}}}))
    with pytest.raises(evcs.InvalidArgument) as raised:
        evcs.schema_document([Note], schema=schema)
    assert str(raised.value).startswith(
        f"the entity type 'note' is declared twice: by the schema file {schema} and by the "
        "model Note"
    )
    with pytest.raises(evcs.InvalidArgument) as raised:
        evcs.schema_document([Note, NoteWithBody])
    assert str(raised.value).startswith(
        "the entity type 'note' is declared twice: by the model Note and by the model NoteWithBody"
    )


def test_references_unique_keys_and_checks_of_models_migrate(
    empty_schema_engine: evcs.Engine, tmp_path: Path
) -> None:
    engine, migrations = empty_schema_engine, tmp_path / "migrations"
    result = evcs.autogenerate_models(engine, "cards", [Board, Card], directory=migrations)
    assert result.changes == ["add entity type board", "add entity type card"]
    assert upgrade(engine, migrations) == ["0001_cards"]
    with engine.session() as s:
        assert s.repository("card").references == {"board": evcs.Reference("board", "cascade")}
        boards, cards = s.models(Board), s.models(Card)
        todo = boards.create(Board(name="todo"))
        cards.create(Card(title="write", board=evcs.Ref.to(todo)))
        s.commit()
        cards.create(Card(title="write", board=evcs.Ref.to(todo)))
        with pytest.raises(evcs.IntegrityError):
            s.commit()
    with pytest.raises(evcs.IntegrityError) as raised, engine.session() as s:
        s.models(Card).create(Card(title="", board=evcs.Ref.to(todo)))
    assert "card_check_title_not_empty" in str(raised.value)
    again = evcs.autogenerate_models(engine, "nothing", [Board, Card], directory=migrations)
    assert not again
