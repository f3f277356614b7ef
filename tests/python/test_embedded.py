"""The embedded default server (docs/embedded.md) through evcs.embedded() and Engine() without a URL."""

from __future__ import annotations

import os

import pytest

import evcs


def test_engine_without_url_or_database_url_uses_the_embedded_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with evcs.embedded() as server:
        assert server.persist is False
        assert os.path.isdir(server.data_dir)
        with evcs.Engine() as engine:
            with engine.session() as s:
                assert s.scalar("SELECT current_setting('data_directory')") == server.data_dir
                assert s.scalar("SELECT 6 * 7") == 42
            del s  # a session keeps its engine (and so the server) alive
        data_dir = server.data_dir
    assert not os.path.exists(data_dir)  # not persisted: removed when the last user let go


def test_closed_embedded_handle_is_misuse() -> None:
    server = evcs.embedded()
    server.close()
    with pytest.raises(evcs.MisuseError, match="embedded server handle is closed"):
        server.url
