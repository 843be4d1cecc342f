"""The operator's brand: title, logos for light and dark, favicon, accent, footer links, CSS."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app import brand, contrast
from app.config import Settings
from app.main import create_app


def test_the_page_wears_the_brand(settings: Settings, engine: object, tmp_path: Path) -> None:
    css = tmp_path / "brand.css"
    css.write_text(".banner { border-radius: 0; }\n")
    branded = settings.model_copy(
        update={
            "brand_title": "Zaptec Charging Status",
            "brand_logo_url": "https://cdn.example.com/logo.svg",
            "brand_logo_dark_url": "https://cdn.example.com/logo-dark.svg",
            "brand_favicon_url": "https://cdn.example.com/favicon.png",
            "brand_accent": "#0a6e5c",
            "brand_footer_links": "Help|https://help.example.com, Privacy|https://example.com/privacy",
            "brand_css_file": css,
        }
    )
    with TestClient(create_app(branded)) as client:
        for path in ("/", "/de/history/"):
            page = BeautifulSoup(client.get(path).text, "html.parser")
            logo = page.select_one("header .brand picture img")
            assert logo is not None and logo["src"] == "https://cdn.example.com/logo.svg"
            assert logo["alt"] == "Zaptec Charging Status"
            dark = page.select_one("header .brand picture source")
            assert dark is not None and dark["media"] == "(prefers-color-scheme: dark)"
            assert dark["srcset"] == "https://cdn.example.com/logo-dark.svg"
            icon = page.select_one("link[rel=icon]")
            assert icon is not None and icon["href"] == "https://cdn.example.com/favicon.png"
            assert [(a.get_text(), a["href"]) for a in page.select("footer .footer-links a")] == [
                ("Help", "https://help.example.com"),
                ("Privacy", "https://example.com/privacy"),
            ]
            sheets = [str(link["href"]) for link in page.select("link[rel=stylesheet]")]
            assert sheets[-1].endswith("brand.css")  # after the page's own
            title = page.select_one("title")
            assert title is not None and title.get_text().endswith("Zaptec Charging Status")
        sheet = client.get("/brand.css")
        assert sheet.headers["content-type"].startswith("text/css")
        assert ":root { --link: #0a6e5c; }" in sheet.text
        # #0a6e5c has 2.6:1 on the dark scheme's background: a lighter teal there
        shade = re.search(
            r"@media \(prefers-color-scheme: dark\) \{ :root \{ --link: (#[0-9a-f]{6}); \} \}",
            sheet.text,
        )
        assert shade is not None and shade.group(1) != "#0a6e5c"
        assert contrast.worst(shade.group(1), contrast.DARK_SCHEME) >= 4.5
        assert sheet.text.index("@media") < sheet.text.index(".banner")  # theirs comes last
        assert ".banner { border-radius: 0; }" in sheet.text


def test_without_a_brand_the_page_is_plain(client: TestClient) -> None:
    page = BeautifulSoup(client.get("/").text, "html.parser")
    assert page.select("header .brand img") == []
    icons = [i["href"] for i in page.select("link[rel=icon]")]
    assert icons == ["static/favicon.ico", "static/favicon.svg"]
    assert [link["href"] for link in page.select("link[rel=stylesheet]")] == ["static/style.css"]
    brand = page.select_one("header .brand")
    assert brand is not None and " ".join(brand.get_text().split()) == "Zaptec Status"


@pytest.mark.parametrize(
    "update",
    [
        {"brand_accent": "teal"},
        {"brand_accent": "#0a6e5"},
        {"brand_accent": "#ffcc00"},  # 1.4:1 on white
        {"brand_footer_links": "Help"},
        {"brand_footer_links": "Help|javascript:alert(1)"},
    ],
)
def test_a_bad_brand_setting_is_refused(update: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Settings(**update)  # type: ignore[arg-type]


def test_a_pale_configured_accent_stops_the_start_with_its_ratio() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(brand_accent="#FF6600")
    message = str(refused.value)
    assert "#ff6600 has 2.73:1 contrast against the page's light background" in message
    assert "need at least 4.5:1 (WCAG AA)" in message


def test_the_configured_style_sheet_is_read_again_only_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sheet = tmp_path / "brand.css"
    sheet.write_text(".banner { border-radius: 0; }\n")
    reads: list[Path] = []
    read_text = Path.read_text

    def counted(path: Path, *args: object, **kwargs: object) -> str:
        reads.append(path)
        return read_text(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", counted)
    settings = Settings(brand_css_file=sheet)
    for _ in range(5):
        assert brand.effective(settings, None).css == ".banner { border-radius: 0; }\n"
    assert reads == [sheet]
    sheet.write_text(".banner { border-radius: 2px; }\n")
    later = sheet.stat().st_mtime_ns + 1_000_000_000
    os.utime(sheet, ns=(later, later))  # a coarse file-system clock still sees a change
    for _ in range(3):
        assert brand.effective(settings, None).css == ".banner { border-radius: 2px; }\n"
    assert reads == [sheet, sheet]
    sheet.unlink()
    assert brand.effective(settings, None).css == ""  # gone: the page shows without it
