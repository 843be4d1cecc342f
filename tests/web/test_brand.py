"""The operator's brand: title, logos for light and dark, favicon, accent, footer links, CSS."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from pydantic import ValidationError

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
        {"brand_footer_links": "Help"},
        {"brand_footer_links": "Help|javascript:alert(1)"},
    ],
)
def test_a_bad_brand_setting_is_refused(update: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Settings(**update)  # type: ignore[arg-type]
