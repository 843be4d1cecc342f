"""Incident forms: open, post updates, fix a typo, postmortem editor. Errors sit by their field."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.db import unit_of_work
from app.incidents import prepared
from app.models import AuditEvent, Component, Incident, IncidentUpdate, UserRole
from tests.admin.conftest import SignIn, field_error, post_form, soup
from tests.conftest import make_component


def _components(staff: TestClient) -> tuple[str, str]:
    group = make_component(staff, name="Charging cloud", group=True)
    a = make_component(staff, name="OCPP 1.6J", group_id=group["id"])
    b = make_component(staff, name="Mobile app")
    return a["id"], b["id"]


def _open(client: TestClient, **fields: str) -> str:
    data = {"name": "Delays", "status": "investigating", "body": "Looking.", "notify": "on"}
    response = post_form(client, "/admin/incidents/new", {**data, **fields}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(response.headers["location"]).split("?")[0].rsplit("/", 1)[1]


def test_open_incident_with_two_components(
    signed_in: SignIn, staff: TestClient, engine: Engine
) -> None:
    a, b = _components(staff)
    client = signed_in(UserRole.editor)
    form = soup(client.get("/admin/incidents/new"))
    assert form.select_one(f"label[for='f-component-{a}']") is not None  # a labelled picker each
    incident = _open(
        client, **{f"component.{a}": "partial_outage", f"component.{b}": "degraded_performance"}
    )
    shown = staff.get(f"/api/v1/incidents/{incident}").json()
    assert shown["impact"] == "major"
    with unit_of_work(engine) as session:
        assert session.get(Component, a).status == "partial_outage"  # type: ignore[union-attr]
        assert session.get(Component, b).status == "degraded_performance"  # type: ignore[union-attr]
    page = soup(client.get(f"/admin/incidents/{incident}?done=opened"))
    assert "Incident opened." in page.get_text()
    assert "OCPP 1.6J: Operational → Partial Outage" in page.get_text()


def test_errors_are_shown_by_their_fields_and_typing_is_kept(
    signed_in: SignIn, staff: TestClient, engine: Engine
) -> None:
    a, _ = _components(staff)
    client = signed_in(UserRole.editor)
    response = post_form(
        client,
        "/admin/incidents/new",
        {"name": "  ", "status": "postmortem", "body": "Chargers can't start.", "notify": "on",
         f"component.{a}": "on_fire"},
    )  # fmt: skip
    assert response.status_code == 422
    page = soup(response)
    assert field_error(page, "name") == "This can't be empty."
    assert "publishing a postmortem" in field_error(page, "status")
    assert "operational" in field_error(page, f"component.{a}")
    assert page.select_one("textarea[name=body]").get_text() == "Chargers can't start."  # type: ignore[union-attr]
    assert page.select_one("[name=name]")["aria-invalid"] == "true"  # type: ignore[index]
    with unit_of_work(engine) as session:
        assert session.exec(select(Incident)).all() == []


def test_post_update_resolve_and_refused_transition(
    signed_in: SignIn, staff: TestClient, engine: Engine
) -> None:
    a, _ = _components(staff)
    client = signed_in(UserRole.editor)
    incident = _open(client, **{f"component.{a}": "major_outage"})
    page = f"/admin/incidents/{incident}"
    form = soup(client.get(page))
    assert form.select_one("input[name=status][value=investigating]").has_attr("checked")  # type: ignore[union-attr]
    monitoring = post_form(
        client,
        f"{page}/updates",
        {"status": "monitoring", "body": "Fix deployed.", f"component.{a}": "operational"},
        follow_redirects=False,
    )
    assert monitoring.status_code == 303
    with unit_of_work(engine) as session:
        latest = session.exec(
            select(IncidentUpdate).where(IncidentUpdate.incident_id == incident)
        ).all()
        assert [u.status for u in latest][-1] == "monitoring"
        assert latest[-1].deliver_notifications is False  # notify left unticked
    resolved = post_form(client, f"{page}/updates", {"status": "resolved", "body": "Resolved."})
    assert resolved.status_code == 200
    back = post_form(client, f"{page}/updates", {"status": "investigating", "body": "Again?"})
    assert back.status_code == 409
    assert "resolved" in field_error(soup(back), "status").lower()
    assert soup(back).select_one("textarea[name=body]").get_text() == "Again?"  # type: ignore[union-attr]
    empty = post_form(client, f"{page}/updates", {"status": "resolved", "body": ""})
    assert empty.status_code == 422 and field_error(soup(empty), "body")


def test_fix_a_typo_in_an_earlier_update(
    signed_in: SignIn, staff: TestClient, engine: Engine
) -> None:
    client = signed_in(UserRole.editor)
    incident = _open(client, body="We are investigatign.")
    page = soup(client.get(f"/admin/incidents/{incident}"))
    link = page.select_one('a[href$="/edit"]')
    assert link is not None and link.get_text().startswith("Edit text")
    edit = str(link["href"])
    assert soup(client.get(edit)).select_one("textarea").get_text() == "We are investigatign."  # type: ignore[union-attr]
    empty = post_form(client, edit, {"body": " "})
    assert empty.status_code == 422 and field_error(soup(empty), "body")
    saved = post_form(client, edit, {"body": "We are investigating."}, follow_redirects=False)
    assert saved.status_code == 303
    shown = staff.get(f"/api/v1/incidents/{incident}").json()["incident_updates"][0]
    assert shown["body"] == "We are investigating."
    with unit_of_work(engine) as session:
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "incident.update_edited")
        ).one()
    assert event.data["before"]["body"] == "We are investigatign."


def test_postmortem_preview_save_publish_unpublish(
    signed_in: SignIn, client: TestClient, engine: Engine
) -> None:
    editor = signed_in(UserRole.editor)
    incident = _open(editor)
    page = f"/admin/incidents/{incident}/postmortem"
    body = "# What happened\n\nTwo consumers stalled. <script>alert(1)</script>"
    preview = soup(post_form(editor, page, {"body": body, "action": "preview"}))
    rendered = preview.select_one("#live-preview")
    assert rendered is not None and rendered.select_one("h3") is not None  # as the public page
    assert rendered.find("script") is None and "alert(1)" in rendered.get_text()
    assert preview.select_one("textarea[name=body]").get_text() == body  # type: ignore[union-attr]
    with unit_of_work(engine) as session:
        assert session.get(Incident, incident).postmortem_body is None  # type: ignore[union-attr]
    early = post_form(editor, page, {"body": body, "action": "publish", "notify": "on"})
    assert early.status_code == 409 and "resolve the incident" in early.text.lower()
    post_form(editor, f"/admin/incidents/{incident}/updates", {"status": "resolved", "body": "Ok"})
    saved = post_form(editor, page, {"body": body, "action": "save"}, follow_redirects=False)
    assert saved.status_code == 303
    assert "Two consumers stalled" not in client.get(f"/incidents/{incident}").text
    published = post_form(editor, page, {"body": body, "action": "publish"}, follow_redirects=False)
    assert published.status_code == 303
    public = client.get(f"/incidents/{incident}").text
    assert "Two consumers stalled" in public
    with unit_of_work(engine) as session:
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "postmortem.published")
        ).one()
    assert event.data["notify_subscribers"] is False
    post_form(editor, page, {"body": body, "action": "unpublish"})
    assert "Two consumers stalled" not in client.get(f"/incidents/{incident}").text


def test_live_preview_endpoint_renders_like_the_public_page(signed_in: SignIn) -> None:
    viewer = signed_in(UserRole.viewer)
    response = post_form(viewer, "/admin/preview", {"body": "## Root cause\n<img src=x onerror=1>"})
    assert response.status_code == 200
    assert "<h4>Root cause</h4>" in response.text and "<img" not in response.text
    forged = viewer.post("/admin/preview", data={"body": "x"}, follow_redirects=False)
    assert forged.status_code == 303


def test_templates_fill_the_new_incident_form(signed_in: SignIn, staff: TestClient) -> None:
    a, _ = _components(staff)
    editor = signed_in(UserRole.editor)
    missing = post_form(editor, "/admin/templates", {"name": "OCPP delays", "status": "identified"})
    assert missing.status_code == 422
    assert field_error(soup(missing), "title") and field_error(soup(missing), "body")
    created = post_form(
        editor,
        "/admin/templates",
        {"name": "OCPP delays", "title": "Delays in charger messages", "status": "identified",
         "body": "Messages from chargers are delayed.", f"component.{a}": "partial_outage"},
        follow_redirects=False,
    )  # fmt: skip
    assert created.status_code == 303
    listing = soup(editor.get("/admin/incidents/new"))
    assert listing.select("#f-template option[selected]") == []  # none applied, none shown
    option = listing.select_one("#f-template option[value!='']")
    assert option is not None and option.get_text() == "OCPP delays"
    filled = soup(editor.get(f"/admin/incidents/new?template={option['value']}"))
    assert filled.select_one("[name=name]")["value"] == "Delays in charger messages"  # type: ignore[index]
    assert filled.select_one("input[name=status][value=identified]").has_attr("checked")  # type: ignore[union-attr]
    picked = filled.select_one(f"select[name='component.{a}'] option[selected]")
    assert picked is not None and picked["value"] == "partial_outage"
    duplicate = post_form(
        editor,
        "/admin/templates",
        {"name": "OCPP delays", "title": "t", "body": "b", "status": "investigating"},
    )
    assert duplicate.status_code == 409 and "already exists" in field_error(soup(duplicate), "name")


def test_opening_and_resolving_are_prepared_before_the_write_lock(
    signed_in: SignIn, staff: TestClient
) -> None:
    """The forms run the use case without a savepoint when the request has written nothing
    yet, so the change is prepared outside the write transaction, as through the API (a
    savepoint would begin the transaction first: on SQLite, take the write lock)."""
    a, b = _components(staff)
    client = signed_in()
    checks: list[bool] = []
    stop = prepared.checked(lambda _session, valid: checks.append(valid))
    try:
        page = _open(
            client, **{f"component.{a}": "major_outage", f"component.{b}": "degraded_performance"}
        )
        resolved = post_form(
            client,
            f"/admin/incidents/{page}/updates",
            {"status": "resolved", "body": "Back."},
            follow_redirects=False,
        )
        assert resolved.status_code == 303, resolved.text
    finally:
        stop()
    assert checks == [True, True]
