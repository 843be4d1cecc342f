"""Admin UI: email subscribers listed by state, added without confirmation, imported from and
exported to CSV, removed."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from app.models import UserRole
from tests.admin.conftest import SignIn, field_error, soup
from tests.admin.conftest import post_form as post_following


def post_form(client: TestClient, path: str, data: dict[str, Any]) -> Response:
    return post_following(client, path, data, follow_redirects=False)


def cells(page: Any) -> list[str]:
    return [str(r.find("td").get_text(strip=True)) for r in page.select("table.list tbody tr")]


def test_editor_adds_imports_exports_and_removes(signed_in: SignIn) -> None:
    editor = signed_in(UserRole.editor)
    added = post_form(
        editor, "/admin/subscribers/email", {"_form": "add", "email": "a@example.org"}
    )
    assert added.status_code == 303 and "done=added" in added.headers["location"]
    refused = post_form(editor, "/admin/subscribers/email", {"_form": "add", "email": "nope"})
    assert refused.status_code == 422
    assert "Email address refused" in field_error(soup(refused), "email")
    csv = "email,component_ids\nb@example.org,\na@example.org,\n"
    imported = post_form(editor, "/admin/subscribers/email/import", {"_form": "import", "csv": csv})
    assert imported.status_code == 303
    assert "imported%201,%201%20already" in imported.headers["location"]
    bad = post_form(editor, "/admin/subscribers/email/import", {"_form": "import", "csv": "x\n1\n"})
    assert bad.status_code == 422 and "email" in field_error(soup(bad), "csv")
    page = soup(editor.get("/admin/subscribers/email"))
    rows = dict(zip(cells(page), page.select("table.list tbody tr"), strict=True))
    assert set(rows) == {"a@example.org", "b@example.org"}
    assert "confirmed" in rows["a@example.org"].get_text()
    exported = editor.get("/admin/subscribers/email.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines()[1].startswith("a@example.org,active,")
    remove = rows["a@example.org"].find("form")
    assert remove is not None
    action = str(remove["action"])
    removed = post_form(editor, action, {"_back": "/admin/subscribers/email"})
    assert removed.status_code == 303
    assert cells(soup(editor.get("/admin/subscribers/email"))) == ["b@example.org"]


def test_viewer_sees_but_cannot_change(signed_in: SignIn) -> None:
    viewer = signed_in(UserRole.viewer)
    page = viewer.get("/admin/subscribers/email")
    assert page.status_code == 200 and "Add an address" not in page.text
    refused = post_form(viewer, "/admin/subscribers/email", {"_form": "add", "email": "a@x.org"})
    assert refused.status_code == 403
