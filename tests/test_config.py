"""Settings: validation, and the README's configuration table kept honest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings, listening_url

README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_settings() -> dict[str, str]:
    text = README.read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `PHAROS_([A-Z_]+)` \| `([^`]*)` \|", section, flags=re.M)
    return dict(rows)


def test_readme_documents_every_setting_with_its_default() -> None:
    documented = _readme_settings()
    fields = Settings.model_fields
    assert set(documented) == {name.upper() for name in fields}
    for name, field in fields.items():
        default = field.default
        expected = str(default).lower() if isinstance(default, bool) else str(default)
        assert documented[name.upper()] == expected, name


def test_settings_refuse_bad_values() -> None:
    with pytest.raises(ValidationError, match="unknown IANA time zone"):
        Settings(timezone="Mars/Olympus_Mons")
    with pytest.raises(ValidationError, match="http"):
        Settings(public_url="status.example.com")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHAROS_PAGE_NAME", "Zaptec")
    monkeypatch.setenv("PHAROS_TIMEZONE", "Europe/Oslo")
    monkeypatch.setenv("PHAROS_PUBLIC_URL", "https://status.example.com/")
    settings = Settings()
    assert (settings.page_name, settings.timezone) == ("Zaptec", "Europe/Oslo")
    assert settings.public_url == "https://status.example.com"
    assert len(settings.page_id) == 12


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 18100, "http://127.0.0.1:18100"),
        ("status.internal", 80, "http://status.internal:80"),
        ("0.0.0.0", 8080, "http://127.0.0.1:8080"),
        ("::", 8080, "http://[::1]:8080"),
        ("::1", 8000, "http://[::1]:8000"),
    ],
)
def test_the_listening_url(host: str, port: int, url: str) -> None:
    assert listening_url(host, port) == url
    assert Settings(public_url=url).public_url == url  # a valid public URL
