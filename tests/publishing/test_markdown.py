"""Markdown of updates and postmortems becomes safe HTML."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup, Tag
from markupsafe import Markup

from app.publishing.markdown import render_markdown


def parse(source: str) -> BeautifulSoup:
    """Render Markdown and parse the result."""
    html = render_markdown(source)
    assert isinstance(html, Markup)
    return BeautifulSoup(str(html), "html.parser")


def only(soup: BeautifulSoup, name: str) -> Tag:
    """The single element of this name."""
    found = soup.find_all(name)
    assert len(found) == 1, soup
    element = found[0]
    assert isinstance(element, Tag)
    return element


def test_headings_lists_and_emphasis() -> None:
    soup = parse("# Summary\n\n## Timeline\n\n- one\n- **two**\n\n1. first\n")
    assert [(h.name, h.get_text()) for h in soup.find_all(["h1", "h2"])] == [
        ("h1", "Summary"),
        ("h2", "Timeline"),
    ]
    assert [li.get_text() for li in only(soup, "ul").find_all("li")] == ["one", "two"]
    assert only(soup, "strong").get_text() == "two"
    assert only(soup, "ol").get_text(strip=True) == "first"


def test_heading_offset_demotes_headings_and_stops_at_h6() -> None:
    html = render_markdown("# Summary\n\n## Timeline\n\n##### Detail", heading_offset=2)
    soup = BeautifulSoup(str(html), "html.parser")
    assert [(h.name, h.get_text()) for h in soup.find_all(True)] == [
        ("h3", "Summary"),
        ("h4", "Timeline"),
        ("h6", "Detail"),
    ]


def test_tables_keep_their_cells_and_alignment() -> None:
    soup = parse("| Time | Event |\n|:-----|------:|\n| 11:12 | Broker down |\n")
    table = only(soup, "table")
    assert [th.get_text() for th in table.select("thead th")] == ["Time", "Event"]
    cells = table.select("tbody td")
    assert [td.get_text() for td in cells] == ["11:12", "Broker down"]
    # Alignment travels as a class: the page's CSP allows no inline style attributes.
    assert [td.get("class") for td in cells] == [["align-left"], ["align-right"]]
    assert all(td.get("style") is None for td in cells)


def test_links_get_rel_nofollow() -> None:
    soup = parse('See [the report](https://example.com/r "Report") and <https://example.org>.')
    links = soup.find_all("a")
    assert [a["href"] for a in links] == ["https://example.com/r", "https://example.org"]
    for a in links:
        assert "nofollow" in a["rel"]
        assert "noopener" in a["rel"]
    assert links[0]["title"] == "Report"


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="https://example.com" onclick="alert(1)">x</a>',
        '<div style="position:fixed">cover</div>',
    ],
)
def test_raw_html_is_shown_as_text(source: str) -> None:
    soup = parse(source)
    assert [element.name for element in soup.find_all(True)] == ["p"]
    assert soup.get_text().strip() == source


def test_raw_html_inside_a_table_cell_is_text() -> None:
    soup = parse("| a |\n|---|\n| <script>alert(1)</script> |\n")
    assert soup.find_all("script") == []
    assert only(soup, "td").get_text() == "<script>alert(1)</script>"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "&#106;avascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
    ],
)
def test_dangerous_links_are_dropped(url: str) -> None:
    soup = parse(f"[click]({url}) ![pic]({url})")
    for element in soup.find_all(True):
        assert isinstance(element, Tag)
        for name in ("href", "src"):
            value = element.get(name)
            assert not isinstance(value, str) or value.startswith(("http:", "https:")), element
    assert "click" in soup.get_text()


def test_only_web_and_mail_schemes_survive() -> None:
    soup = parse("[ftp](ftp://example.com/f) [mail](mailto:ops@example.com) [rel](/history)")
    hrefs = {a.get_text(): a.get("href") for a in soup.find_all("a")}
    assert hrefs == {"ftp": None, "mail": "mailto:ops@example.com", "rel": "/history"}


def test_code_blocks_are_escaped() -> None:
    soup = parse("```html\n<b>not bold</b>\n```\n")
    code = only(soup, "code")
    assert code.get_text() == "<b>not bold</b>\n"
    assert code.find_all(True) == []
    assert code["class"] == ["language-html"]
