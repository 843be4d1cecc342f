"""Control characters: refused at every input with a clear 422; feeds and the export survive
text stored before the checks; bidirectional overrides refused in identifiers and isolated
(<bdi>) where free text is shown."""

from __future__ import annotations

import re
from pathlib import Path

import feedparser
import pytest
from bs4 import BeautifulSoup, Tag
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.db import unit_of_work
from app.errors import InvalidInput
from app.importers.source import SourceIncident
from app.models import Component, Incident, IncidentUpdate
from app.publishing.export import export_site
from app.users.service import check_email
from tests.conftest import make_component, open_incident

ANSI = "\x1b[31mred\x1b[0m"
RLO = "\u202e"


@pytest.mark.parametrize(
    ("path", "payload", "where"),
    [
        ("/api/v1/incidents", {"name": f"Down {ANSI}", "body": "x"}, "U+001B"),
        ("/api/v1/incidents", {"name": "Down", "body": "paste \x01 here"}, "U+0001"),
        ("/api/v1/components", {"name": "OC\x0bPP"}, "U+000B"),
        ("/api/v1/components", {"name": "OCPP", "description": "a\x1fb"}, "U+001F"),
        ("/api/v1/components", {"name": f"OCPP{RLO}xe.lave"}, "bidirectional"),
        ("/api/v1/subscribers", {"url": f"https://a.example.com/{RLO}x"}, "bidirectional"),
        (
            "/api/v1/subscribers",
            {"url": "https://a.example.com/", "email": f"a@b.c{RLO}oi.evil"},
            "RIGHT-TO-LEFT OVERRIDE",
        ),
    ],
)
def test_the_api_refuses_control_characters_with_a_clear_422(
    staff: TestClient, path: str, payload: dict[str, str], where: str
) -> None:
    response = staff.post(path, json=payload)
    assert response.status_code == 422, response.text
    assert where in response.text


def test_free_text_may_hold_bidi_controls_but_is_isolated_where_shown(
    staff: TestClient, client: TestClient
) -> None:
    incident = open_incident(staff, name=f"Delays {RLO}in Oslo")
    page = client.get(f"/incidents/{incident['id']}")
    assert f"<bdi>Delays {RLO}in Oslo</bdi>" in page.text
    assert f"<bdi>Delays {RLO}in Oslo</bdi>" in client.get("/").text


def isolated(node: Tag) -> bool:
    """Whether bidirectional controls in this element's text end with an isolating ancestor
    (<bdi>, or any element with a dir attribute: both isolate by default in HTML)."""
    return any(a.name == "bdi" or a.has_attr("dir") for a in [node, *node.parents] if a.name)


def test_every_public_page_isolates_stored_free_text(
    staff: TestClient, client: TestClient, engine: Engine
) -> None:
    """Names, descriptions and update bodies with a right-to-left override, as free text
    allows and an older version stored even in names: on no public page can one reorder the
    text around it."""
    group = make_component(staff, name="Backend", group=True)
    ocpp = make_component(staff, name="OCPP", group_id=group["id"], showcase=True)
    incident = open_incident(
        staff,
        name=f"Delays {RLO}in Oslo",
        body=f"Chargers {RLO}report late. **Still** {RLO}investigating.",
        components={ocpp["id"]: "major_outage"},
    )
    with unit_of_work(engine) as session:  # as an older version let it in
        for row in (session.get(Component, ocpp["id"]), session.get(Component, group["id"])):
            assert row is not None
            row.name = f"{row.name} {RLO}xe.lave"
            row.description = f"Core {RLO}API"
            session.add(row)
    pages = ["/", f"/incidents/{incident['id']}", "/history", "/uptime", "/subscribe", "/embed/"]
    for path in pages:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text)
        soup = BeautifulSoup(answer.text, "html.parser")
        shown = [t for t in soup.find_all(string=lambda s: s and RLO in s) if t.parent]
        assert shown or path == "/embed/", path
        for text in shown:
            parent = text.parent
            assert parent is not None
            if parent.name in ("title", "script", "style") or parent.name == "[document]":
                continue
            if RLO not in re.sub("\u2068[^\u2069]*\u2069", "", str(text)):
                continue  # isolated in the text itself (FSI ... PDI)
            assert isolated(parent), (path, parent.name, str(parent)[:200])
    # Plain text joins names into a sentence: each name carrying controls is isolated there
    # (U+2068 FIRST STRONG ISOLATE ... U+2069 POP DIRECTIONAL ISOLATE).
    page = client.get(f"/incidents/{incident['id']}").text
    assert f"\u2068OCPP {RLO}xe.lave\u2069" in page


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("post", "/api/v1/incidents", {"content": b'{"name": "a\\u0000b", "body": "x"}'}),
        ("post", "/api/v1/components", {"content": b'{"name": "a\\U0000b"}'}),
        ("post", "/subscriptions/webhook", {"data": {"url": "https://a.example.com/\x00"}}),
        ("get", "/history?page=1%00", {}),
    ],
)
def test_a_nul_byte_anywhere_is_a_422_before_the_database_sees_it(
    staff: TestClient, method: str, path: str, kwargs: dict[str, object]
) -> None:
    headers = {"content-type": "application/json"} if "content" in kwargs else {}
    response = getattr(staff, method)(path, headers=headers, **kwargs)
    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["detail"]
    assert staff.get("/api/v1/incidents").json() == []


def test_an_escaped_backslash_before_u0000_is_just_text(staff: TestClient) -> None:
    response = staff.post(
        "/api/v1/components",
        content=b'{"name": "C:\\\\u0000 path"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "C:\\u0000 path"


def test_feeds_and_the_export_survive_what_is_already_stored(
    staff: TestClient, client: TestClient, engine: Engine, app: FastAPI, tmp_path: Path
) -> None:
    ocpp = make_component(staff, name="OCPP")
    incident = open_incident(staff, components={ocpp["id"]: "major_outage"})
    with unit_of_work(engine) as session:  # as an older version let it in
        stored = session.get(Incident, incident["id"])
        assert stored is not None
        stored.name = f"Delays {ANSI}\x01"
        session.add(stored)
        (update,) = session.exec(select(IncidentUpdate)).all()
        update.body = "Pasted \x1b[1mbold\x1b[0m \x08 text"
        session.add(update)
        component = session.get(Component, ocpp["id"])
        assert component is not None
        component.name = "OCPP\x02"
        session.add(component)
    for path in (
        "/history.atom",
        "/history.rss",
        "/updates.atom",
        "/updates.rss",
        f"/components/{ocpp['id']}/history.atom",
    ):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        parsed = feedparser.parse(response.content)
        assert not parsed.bozo, (path, parsed.bozo_exception)
        assert parsed.entries, path
        assert parsed.entries[0].title.startswith("Delays [31mred[0m"), (
            path
        )  # ESC and U+0001 dropped
    assert "\x1b" not in client.get("/history.atom").text
    report = export_site(app, tmp_path / "site")
    assert (tmp_path / "site" / "history.atom").exists(), report
    # The update can be edited back to clean text.
    update_id = staff.get(f"/api/v1/incidents/{incident['id']}").json()["incident_updates"][0]["id"]
    fixed = staff.patch(
        f"/api/v1/incidents/{incident['id']}/updates/{update_id}", json={"body": "Clean now"}
    )
    assert fixed.status_code == 200, fixed.text


def test_imports_drop_what_xml_cant_carry() -> None:
    source = SourceIncident.model_validate(
        {
            "id": "x1",
            "name": f"Outage {ANSI}",
            "status": "resolved",
            "impact": "minor",
            "created_at": "2025-09-07T10:00:00Z",
            "updated_at": "2025-09-07T10:00:00Z",
            "incident_updates": [],
        }
    )
    assert source.name == "Outage [31mred[0m"


def test_staff_emails_refuse_bidi_overrides() -> None:
    assert check_email("Ops@Example.com") == "ops@example.com"
    with pytest.raises(InvalidInput, match="bidirectional"):
        check_email(f"a@b.c{RLO}oi.evil")
