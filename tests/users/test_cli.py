"""`pharos users create`: a one-time password printed, or one read from stdin."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.main import create_app
from tests.admin.conftest import sign_in


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("PHAROS_DATABASE_URL", url)
    return url


def test_create_prints_a_password_that_signs_in(env: str) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["users", "create", "Ann@Example.com", "--role", "admin"])
    assert result.exit_code == 0, result.output
    password = result.output.strip().splitlines()[-1]
    assert len(password) >= 16 and " " not in password
    with TestClient(create_app(Settings(database_url=env)), base_url="https://x") as client:
        assert sign_in(client, "ann@example.com", password).status_code == 303
        assert client.get("/admin/users").status_code == 200  # an admin
    listed = runner.invoke(cli, ["users", "list"])
    assert "ann@example.com\tadmin\tactive" in listed.output and password not in listed.output


def test_create_reads_the_password_from_stdin(env: str) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["users", "create", "bob@example.com", "--password-stdin"], input="s3cret-enough\n"
    )
    assert result.exit_code == 0 and "s3cret-enough" not in result.output
    with TestClient(create_app(Settings(database_url=env)), base_url="https://x") as client:
        assert sign_in(client, "bob@example.com", "s3cret-enough").status_code == 303
        assert client.get("/admin/users").status_code == 403  # viewer by default
    short = runner.invoke(
        cli, ["users", "create", "c@example.com", "--password-stdin"], input="x\n"
    )
    assert short.exit_code == 2 and "at least 10" in short.output
    again = runner.invoke(cli, ["users", "create", "BOB@example.com"])
    assert again.exit_code == 2 and "already exists" in again.output
    bad_role = runner.invoke(cli, ["users", "create", "d@example.com", "--role", "root"])
    assert bad_role.exit_code == 2
