"""Languages: a /{lang}/ prefix or Accept-Language chooses the page's language; the render cache
keeps one copy per language; links stay relative and inside the language; dates follow CLDR."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app import i18n
from app.web import language
from tests.conftest import FakeClock, make_component, open_incident


def text(soup: BeautifulSoup, selector: str) -> str:
    found = soup.select_one(selector)
    assert found is not None, selector
    return found.get_text().strip()


def page(client: TestClient, url: str, **headers: str) -> BeautifulSoup:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return BeautifulSoup(response.text, "html.parser")


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (None, "en"),
        (b"de-DE,de;q=0.9,en;q=0.8", "de"),
        (b"en-GB, nb;q=0.9", "en"),
        (b"no", "nb"),  # plain Norwegian reads Bokmal
        (b"nn-NO, sv;q=0.5", "nb"),
        (b"ja, fr;q=0.3", "fr"),  # the first one we ship
        (b"ja", "en"),
        (b"fr;q=0, es", "es"),
        (b"*", "en"),
        (b"de;q=bad, nl", "nl"),
    ],
)
def test_accept_language_picks_a_shipped_language(header: bytes | None, chosen: str) -> None:
    assert language.negotiate(header, "en") == chosen


def test_split_prefix() -> None:
    assert language.split_prefix("/de/history/") == ("de", "/history/")
    assert language.split_prefix("/fi") == ("fi", "/")
    assert language.split_prefix("/deploy/") == (None, "/deploy/")
    assert language.split_prefix("/xx/") == (None, "/xx/")


def test_front_page_in_german_by_prefix_and_by_header(
    staff: TestClient, client: TestClient, clock: FakeClock
) -> None:
    clock.now = datetime(2025, 9, 7, 9, 12, tzinfo=UTC)
    c = make_component(staff, name="OCPP 1.6J")
    open_incident(
        staff,
        name="Delays",
        status="investigating",
        body="Delayed.",
        components={c["id"]: "partial_outage"},
        display_at="2025-09-07T09:12:00Z",
    )
    german = page(client, "/de/")
    assert german.html is not None and german.html["lang"] == "de"
    assert text(german, "#active-heading") == "Aktuelle Vorfälle"
    assert text(german, ".component-status .label") == "Teilweiser Ausfall"
    assert text(german, ".update-status") == "Untersuchung"
    # CLDR's German date, the page's zone kept
    assert "7. Sept. 2025 - 11:12 CEST" in text(german, ".update-posted")
    # links stay relative, inside the language; the style sheet is outside it
    assert german.select_one("nav a[href='history/']") is not None
    sheet = german.select_one("link[rel=stylesheet]")
    assert sheet is not None and sheet["href"] == "../static/style.css"
    by_header = client.get("/", headers={"Accept-Language": "de-AT,de;q=0.9"})
    assert "Aktuelle Vorfälle" in by_header.text
    assert "Accept-Language" in by_header.headers["vary"]
    assert by_header.headers["content-language"] == "de"
    english = client.get("/", headers={"Accept-Language": "en"})
    assert "Active incidents" in english.text and "Aktuelle" not in english.text
    # the menu names each language in itself and links to its prefixed page
    menu = {a["hreflang"]: a for a in german.select("nav.languages a")}
    assert set(menu) == set(i18n.LANGUAGES)
    assert menu["fr"]["href"] == "../fr/" and menu["fr"].get_text() == "Français"
    assert menu["de"]["aria-current"] == "true"


def test_cache_keeps_one_copy_per_language(staff: TestClient, client: TestClient) -> None:
    make_component(staff, name="API")
    first = client.get("/", headers={"Accept-Language": "fi"})
    again = client.get("/", headers={"Accept-Language": "fi-FI"})
    assert first.headers["x-pharos-cache"] == "miss"
    assert again.headers["x-pharos-cache"] == "hit"
    assert "Nykyinen tila" in again.text
    prefixed = client.get("/fi/")
    assert prefixed.headers["x-pharos-cache"] == "hit"  # the same copy
    assert client.get("/").headers["x-pharos-cache"] == "miss"  # English is its own
    assert "Current status" in client.get("/").text


def test_incident_page_and_uptime_in_french(
    staff: TestClient, client: TestClient, clock: FakeClock
) -> None:
    clock.now = datetime(2025, 9, 7, 9, 12, tzinfo=UTC)
    c = make_component(staff, name="Cloud", showcase=True)
    incident = open_incident(
        staff, name="Panne", status="identified", body="x", components={c["id"]: "major_outage"}
    )
    report = page(client, f"/fr/incidents/{incident['id']}/")
    assert text(report, ".report-of") == "Rapport d\u2019incident pour Zaptec"
    assert "Cet incident affecte : Cloud." in text(report, ".affected")
    uptime = page(client, "/fr/uptime/")
    assert [th.get_text() for th in uptime.select(".calendar thead th")][:2] == ["lu", "ma"]
    assert text(uptime, ".calendar-month") == "juillet 2025"


def test_unknown_language_prefix_is_a_404(client: TestClient) -> None:
    assert client.get("/xx/").status_code == 404


def test_every_shipped_language_compiles_and_translates() -> None:
    for code in i18n.LANGUAGES:
        with i18n.using(code):
            text = i18n.gettext("Current status")
            assert (text == "Current status") == (code == "en"), code


def test_staff_write_an_update_in_several_languages(staff: TestClient, client: TestClient) -> None:
    incident = open_incident(
        staff,
        name="Delays",
        body="Status updates are delayed.",
        body_translations={
            "de": "Statusmeldungen kommen verspätet.",
            "nb": "Statusmeldinger er forsinket.",
        },
    )
    german = page(client, f"/de/incidents/{incident['id']}/")
    assert text(german, ".update-body") == "Statusmeldungen kommen verspätet."
    norwegian = page(client, "/", **{"Accept-Language": "nb-NO"})
    assert text(norwegian, ".incident-active .update-body") == "Statusmeldinger er forsinket."
    # no French text: French readers see the page's default
    french = page(client, f"/fr/incidents/{incident['id']}/")
    assert text(french, ".update-body") == "Status updates are delayed."
    # the Statuspage JSON keeps the default body
    assert (
        client.get("/api/v2/incidents.json").json()["incidents"][0]["incident_updates"][0]["body"]
        == "Status updates are delayed."
    )
    # a fix replaces the translations
    update_id = staff.get(f"/api/v1/incidents/{incident['id']}").json()["incident_updates"][0]["id"]
    fixed = staff.patch(
        f"/api/v1/incidents/{incident['id']}/updates/{update_id}",
        json={"body_translations": {"de": "Statusmeldungen verzögern sich."}},
    )
    assert fixed.status_code == 200, fixed.text
    german = page(client, f"/de/incidents/{incident['id']}/")
    assert text(german, ".update-body") == "Statusmeldungen verzögern sich."
    norwegian = page(client, f"/nb/incidents/{incident['id']}/")
    assert text(norwegian, ".update-body") == "Status updates are delayed."


def test_an_update_in_an_unknown_language_is_refused(staff: TestClient) -> None:
    answer = staff.post(
        "/api/v1/incidents", json={"name": "X", "body": "x", "body_translations": {"xx": "?"}}
    )
    assert answer.status_code == 422
    assert "unknown language 'xx'" in answer.text
