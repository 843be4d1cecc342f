"""The site icon: a real icon, served at /favicon.ico and under /static, cached, linked."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
import zlib
from urllib.parse import urljoin

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from tests.conftest import make_component


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG whose chunks all check out."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at, size = 8, (0, 0)
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + data) & 0xFFFFFFFF == crc
        if kind == b"IHDR":
            size = struct.unpack(">II", data[:8])
        at += 12 + length
    return size


def test_favicon_is_a_real_icon_and_cached(client: TestClient) -> None:
    first = client.get("/favicon.ico")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/x-icon"
    assert "max-age=" in first.headers["cache-control"]
    icon = first.content
    reserved, kind, count = struct.unpack("<HHH", icon[:6])
    assert (reserved, kind, count) == (0, 1, 1)
    width, height, _, _, _, _, length, offset = struct.unpack("<BBBBHHII", icon[6:22])
    assert _png_size(icon[offset : offset + length]) == (width, height) == (32, 32)
    again = client.get("/favicon.ico")
    assert again.headers["x-pharos-cache"] == "hit"
    assert (
        client.get("/favicon.ico", headers={"If-None-Match": again.headers["etag"]}).status_code
        == 304
    )
    assert client.get("/static/favicon.ico").content == icon


def test_every_page_links_the_icon_and_the_links_resolve(
    staff: TestClient, client: TestClient
) -> None:
    make_component(staff, name="OCPP")
    for path in ("/", "/history/", "/subscribe", "/admin/login"):
        page = client.get(path)
        assert page.status_code == 200, path
        icons = BeautifulSoup(page.text, "html.parser").select('link[rel="icon"]')
        assert len(icons) == 2, path
        for link in icons:
            target = client.get(urljoin(str(page.url), str(link["href"])))
            assert target.status_code == 200, (path, link["href"])
            if link.get("type") == "image/svg+xml":
                assert ET.fromstring(target.content).tag.endswith("svg")
