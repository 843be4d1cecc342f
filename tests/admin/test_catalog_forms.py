"""Components and groups (create, order, edit, delete with confirmation) and maintenance."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.db import unit_of_work
from app.models import Component, Incident, UserRole
from tests.admin.conftest import SignIn, field_error, post_form, soup


def _names(staff: TestClient) -> list[str]:
    return [c["name"] for c in staff.get("/api/v1/components").json()]


def test_create_group_and_components_then_order_them(
    signed_in: SignIn, staff: TestClient, engine: Engine
) -> None:
    editor = signed_in(UserRole.editor)
    empty = post_form(editor, "/admin/components/new", {"name": "", "description": "kept"})
    assert empty.status_code == 422 and field_error(soup(empty), "name")
    assert soup(empty).select_one("textarea[name=description]").get_text() == "kept"  # type: ignore[union-attr]
    post_form(editor, "/admin/components/new", {"name": "Charging cloud", "group": "on"})
    with unit_of_work(engine) as session:
        group = session.exec(select(Component).where(Component.is_group)).one()
    for name in ("OCPP 1.6J", "OCPP 2.0.1"):
        done = post_form(
            editor,
            "/admin/components/new",
            {"name": name, "group_id": group.id, "status": "operational", "showcase": "on"},
            follow_redirects=False,
        )
        assert done.status_code == 303
    nested = post_form(
        editor, "/admin/components/new", {"name": "Nested", "group": "on", "group_id": group.id}
    )
    assert nested.status_code == 422 and "nested" in field_error(soup(nested), "group_id")
    assert _names(staff) == ["Charging cloud", "OCPP 1.6J", "OCPP 2.0.1"]
    with unit_of_work(engine) as session:
        second = session.exec(select(Component).where(Component.name == "OCPP 2.0.1")).one()
    post_form(editor, f"/admin/components/{second.id}/move", {"direction": "up"})
    assert _names(staff) == ["Charging cloud", "OCPP 2.0.1", "OCPP 1.6J"]
    listing = soup(editor.get("/admin/components"))
    assert listing.select_one('button[aria-label="Move OCPP 2.0.1 up"]') is not None


def test_edit_component_status_and_name(
    signed_in: SignIn, staff: TestClient, engine: Engine
) -> None:
    editor = signed_in(UserRole.editor)
    post_form(editor, "/admin/components/new", {"name": "API", "status": "operational"})
    with unit_of_work(engine) as session:
        api = session.exec(select(Component)).one()
    form = soup(editor.get(f"/admin/components/{api.id}/edit"))
    assert form.select_one("[name=name]")["value"] == "API"  # type: ignore[index]
    bad = post_form(editor, f"/admin/components/{api.id}/edit", {"name": "API", "status": "meh"})
    assert bad.status_code == 422 and field_error(soup(bad), "status")
    post_form(
        editor,
        f"/admin/components/{api.id}/edit",
        {"name": "Public API", "status": "major_outage"},
    )
    shown = staff.get(f"/api/v1/components/{api.id}").json()
    assert (shown["name"], shown["status"]) == ("Public API", "major_outage")


def test_delete_asks_first_and_explains_refusals(
    signed_in: SignIn, staff: TestClient, engine: Engine
) -> None:
    editor = signed_in(UserRole.editor)
    post_form(editor, "/admin/components/new", {"name": "Group", "group": "on"})
    with unit_of_work(engine) as session:
        group = session.exec(select(Component)).one()
    post_form(editor, "/admin/components/new", {"name": "Child", "group_id": group.id})
    confirm = soup(editor.get(f"/admin/components/{group.id}/delete"))
    assert "Delete Group?" in confirm.get_text()
    assert len(_names(staff)) == 2  # looking at the question deletes nothing
    refused = post_form(editor, f"/admin/components/{group.id}/delete", {})
    assert refused.status_code == 409 and "still has components" in refused.text
    with unit_of_work(engine) as session:
        child = session.exec(select(Component).where(Component.name == "Child")).one()
    gone = post_form(editor, f"/admin/components/{child.id}/delete", {}, follow_redirects=False)
    assert gone.status_code == 303 and _names(staff) == ["Group"]


def test_schedule_maintenance_in_the_page_time_zone(
    signed_in: SignIn, staff: TestClient, engine: Engine
) -> None:
    editor = signed_in(UserRole.editor)
    post_form(editor, "/admin/components/new", {"name": "Broker", "status": "operational"})
    with unit_of_work(engine) as session:
        broker = session.exec(select(Component)).one()
    bad = post_form(
        editor,
        "/admin/maintenance/new",
        {"name": "Upgrade", "body": "Reconnects.", "scheduled_for": "tomorrow",
         "scheduled_until": "2025-09-20T03:00", "component_ids": broker.id},
    )  # fmt: skip
    assert bad.status_code == 422 and "2025-09-07 11:12" in field_error(soup(bad), "scheduled_for")
    kept = soup(bad).select_one(f"input[name=component_ids][value='{broker.id}']")
    assert kept is not None and kept.has_attr("checked")
    done = post_form(
        editor,
        "/admin/maintenance/new",
        {"name": "Upgrade", "body": "Reconnects.", "scheduled_for": "2025-09-20T02:00",
         "scheduled_until": "2025-09-20T03:00", "component_ids": broker.id, "notify": "on"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303
    maintenance_id = done.headers["location"].split("?")[0].rsplit("/", 1)[1]
    with unit_of_work(engine) as session:
        found = session.get(Incident, maintenance_id)
    assert found is not None and found.scheduled_for is not None
    assert found.scheduled_for.isoformat() == "2025-09-20T00:00:00+00:00"  # 02:00 CEST
    page = soup(editor.get(f"/admin/maintenance/{maintenance_id}"))
    assert page.select_one(f'a[href="/admin/maintenance/{maintenance_id}/cancel"]') is not None
    started = post_form(
        editor,
        f"/admin/maintenance/{maintenance_id}/updates",
        {"status": "in_progress", "body": "Started."},
        follow_redirects=False,
    )
    assert started.status_code == 303
    assert staff.get(f"/api/v1/components/{broker.id}").json()["status"] == "under_maintenance"
    refused = post_form(editor, f"/admin/maintenance/{maintenance_id}/cancel", {})
    assert refused.status_code == 409 and "has started" in refused.text


def test_cancel_maintenance_after_confirming(signed_in: SignIn, staff: TestClient) -> None:
    editor = signed_in(UserRole.editor)
    created = staff.post(
        "/api/v1/maintenances",
        json={"name": "Upgrade", "body": "Soon.", "scheduled_for": "2030-01-01T02:00:00Z",
              "scheduled_until": "2030-01-01T03:00:00Z"},
    ).json()  # fmt: skip
    path = f"/admin/maintenance/{created['id']}/cancel"
    assert "Cancel Upgrade?" in soup(editor.get(path)).get_text()
    assert staff.get(f"/api/v1/maintenances/{created['id']}").status_code == 200
    gone = post_form(editor, path, {}, follow_redirects=False)
    assert gone.status_code == 303
    assert staff.get(f"/api/v1/maintenances/{created['id']}").status_code == 404
