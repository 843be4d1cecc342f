"""`pharos import statuspage` on the command line: where the key comes from, what it prints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from app.cli import cli
from app.models import Incident
from peers.statuspage import API_KEY, Behaviour, serve
from peers.statuspage_data import PAGE_ID, build_page
from tests.importers.helpers import count


@pytest.fixture
def source() -> Iterator[str]:
    """A fake Statuspage."""
    with serve(build_page(), Behaviour()) as url:
        yield url


@pytest.fixture
def env(database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI's settings, for the test database."""
    monkeypatch.setenv("PHAROS_DATABASE_URL", database_url)
    monkeypatch.setenv("PHAROS_TIMEZONE", "Europe/Oslo")
    monkeypatch.setenv("PHAROS_WEBHOOK_ALLOW_PRIVATE", "true")
    monkeypatch.delenv("PHAROS_STATUSPAGE_API_KEY", raising=False)
    return database_url


def pharos(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["import", "statuspage", *args])
    return result.exit_code, result.output


def test_the_key_comes_from_a_file_and_is_never_printed(
    env: str, engine: Engine, source: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "statuspage.key"
    key_file.write_text(API_KEY + "\n")
    args = ["--page-id", PAGE_ID, "--api-url", f"{source}/v1", "--max-rate", "1000"]
    code, out = pharos(*args, "--api-key-file", str(key_file), "--dry-run")
    assert code == 0, out
    assert "dry run: nothing was written" in out and count(engine, Incident) == 0
    code, out = pharos(*args, "--api-key-file", str(key_file))
    assert code == 0, out
    assert "incidents: 11 created" in out
    assert "webhook signing secrets (shown only now" in out and "whsec_" in out
    assert "submail00001" not in out  # email subscribers are imported (confirmed)
    assert "skipped subscriber subsms000001 (sms): not imported: channel not available yet" in out
    assert API_KEY not in out
    assert count(engine, Incident) == 13


def test_the_key_comes_from_the_environment(
    env: str, engine: Engine, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["--page-id", PAGE_ID, "--api-url", f"{source}/v1", "--max-rate", "1000"]
    code, out = pharos(*args)
    assert code == 2 and "no API key" in out
    monkeypatch.setenv("PHAROS_STATUSPAGE_API_KEY", "wrong-key")
    code, out = pharos(*args)
    assert code == 1 and "the API key was refused" in out and "wrong-key" not in out
    monkeypatch.setenv("PHAROS_STATUSPAGE_API_KEY", API_KEY)
    code, out = pharos(*args)
    assert code == 0, out
    assert count(engine, Incident) == 13


def test_the_public_page_needs_no_key(env: str, engine: Engine, source: str) -> None:
    code, out = pharos("--public", source, "--max-rate", "1000")
    assert code == 0, out
    assert "a public page does not show subscribers" in out
    assert count(engine, Incident) == 13


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give either --page-id"),
        (["--page-id", "x", "--public", "https://status.example.com"], "give either --page-id"),
        (["--page-id", "../../admin"], "--page-id: letters, digits"),
        (["--public", "status.example.com"], "--public: the page's URL"),
        (["--page-id", "abc", "--api-key-file", "/nonexistent/key"], "can't read"),
    ],
)
def test_bad_arguments_are_refused_clearly(env: str, args: list[str], message: str) -> None:
    code, out = pharos(*args)
    assert code == 2 and message in out
