"""Status badges: valid SVG with the status spelled out, escaped, revalidating."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fastapi.testclient import TestClient

from tests.conftest import make_component, open_incident

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_page_badge_follows_the_page_status(staff: TestClient, client: TestClient) -> None:
    first = client.get("/badge.svg")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/svg+xml"
    assert _texts(first.content) == ["Zaptec status", "All Systems Operational"]
    assert b"#1b7f3b" in first.content
    ocpp = make_component(staff, name="OCPP")
    open_incident(staff, components={ocpp["id"]: "major_outage"})
    second = client.get("/badge.svg", headers={"If-None-Match": first.headers["etag"]})
    assert second.status_code == 200
    assert _texts(second.content) == ["Zaptec status", "Major System Outage"]
    assert b"#b3261e" in second.content
    assert (
        client.get("/badge.svg", headers={"If-None-Match": second.headers["etag"]}).status_code
        == 304
    )


def test_component_and_group_badges(staff: TestClient, client: TestClient) -> None:
    group = make_component(staff, name="Cloud", group=True)
    a = make_component(staff, name="OCPP", group_id=group["id"])
    make_component(staff, name="API", group_id=group["id"], status="degraded_performance")
    assert _texts(client.get(f"/components/{a['id']}/badge.svg").content) == ["OCPP", "Operational"]
    assert _texts(client.get(f"/components/{group['id']}/badge.svg").content) == [
        "Cloud",
        "Degraded Performance",
    ]
    assert client.get("/components/nope/badge.svg").status_code == 404


def test_names_are_escaped(staff: TestClient, client: TestClient) -> None:
    evil = make_component(staff, name='<script>alert(1)</script>" onload="x')
    body = client.get(f"/components/{evil['id']}/badge.svg").content
    root = ET.fromstring(body)  # still well-formed XML
    assert not list(root.iter(f"{SVG}script"))
    assert all(not k.startswith("on") for el in root.iter() for k in el.attrib)
    assert _texts(body)[0] == '<script>alert(1)</script>" onload="x'
