"""Probes: every probe's state; the ones staff manage are created, changed, paused, resumed,
run now and deleted here (the probes file's are shown read-only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from app.admin import views
from app.admin.deps import PREFIX, Editor, EditorPost, Screen, Viewer, done
from app.admin.flow import FormState, form_page, kept, submit
from app.admin.forms import FormValues
from app.probes import definitions, manual, service
from app.probes.config import KIND_NAMES

router = APIRouter(prefix=PREFIX, include_in_schema=False)
KINDS = [
    ("ocpp16", "OCPP 1.6J charger"),
    ("ocpp201", "OCPP 2.0.1 station"),
    ("ocpp21", "OCPP 2.1 station"),
    ("http", "HTTP endpoint"),
    ("metrics", "Prometheus metrics"),
    ("ocpi", "OCPI locations"),
]
SIMPLE = ("name", "kind", "component", "url", "interval", "timeout", "username", "password")


def _kinds() -> list[tuple[str, str]]:
    return [(k, label) for k, label in KINDS if k in KIND_NAMES]


def _table(form: FormValues) -> dict[str, Any]:
    """The probe table a form describes: its simple fields, then the extra TOML."""
    table = views.toml_table(form.get("extra"))
    for field in SIMPLE:
        value = form.get(field).strip()
        if value:
            table[field] = value
    ids = form.get("charge_point_ids").replace(",", " ").split()
    if ids:
        table["charge_point_ids"] = ids
    table.pop("public_latency", None)  # the checkbox says
    if form.checked("public_latency"):
        table["public_latency"] = True
    return table


def _values(table: dict[str, Any]) -> FormValues:
    """A stored table as the form shows it (secrets masked)."""
    shown = definitions.redacted(table)
    simple = {k: str(shown[k]) for k in SIMPLE if k in shown}
    ids = " ".join(shown.get("charge_point_ids", []))
    own = (*SIMPLE, "charge_point_ids", "public_latency")
    rest = {k: v for k, v in shown.items() if k not in own}
    return FormValues.of(
        **simple,
        charge_point_ids=ids,
        public_latency=bool(shown.get("public_latency")),
        extra=views.toml_text(rest),
    )


def _list_page(screen: Screen, shown: FormState) -> HTMLResponse:
    return form_page(
        screen,
        "admin/probes.html",
        shown,
        defaults=FormValues.of(kind="ocpp201", interval="15s", timeout="10s"),
        probes=views.probe_rows(
            screen.session, screen.settings.tz, settings=screen.settings, now=screen.clock()
        ),
        kinds=_kinds(),
    )


@router.get("/probes")
def probe_list(screen: Viewer) -> HTMLResponse:
    """Every probe and the form to add one."""
    return _list_page(screen, kept(screen))


@router.post("/probes")
def create_probe(post: EditorPost) -> Response:
    """Add a probe; it runs from the runner's next round."""
    return submit(
        post,
        lambda: definitions.create(
            post.session,
            _table(post.form),
            settings=post.settings,
            actor=post.actor,
            now=post.clock(),
        ),
        page=lambda shown: _list_page(post, shown),
        then=lambda d: done(f"{PREFIX}/probes/{d.name}", "saved"),
    )


def _probe_page(screen: Screen, name: str, shown: FormState) -> HTMLResponse:
    about = definitions.describe(screen.session, screen.settings).get(name)
    rows = views.probe_rows(
        screen.session, screen.settings.tz, settings=screen.settings, now=screen.clock()
    )
    row = next((r for r in rows if r.name == name), None)
    if row is None and about is None:
        service.get_state(screen.session, name)  # NotFound
    source, paused, shadowed, table = about or ("file", False, False, None)
    results = views.probe_results(screen.session, name, screen.settings.tz)
    return form_page(
        screen,
        "admin/probe.html",
        shown,
        defaults=_values(table or {}),
        probe=row,
        name=name,
        source=source,
        paused=paused,
        shadowed=shadowed,
        definition=views.toml_text(table or {}),
        results=results,
        kinds=_kinds(),
    )


@router.get("/probes/{name}")
def probe_page(name: str, screen: Viewer) -> HTMLResponse:
    """One probe: its definition, latest results with their steps, and its actions."""
    return _probe_page(screen, name, kept(screen))


@router.post("/probes/{name}")
def update_probe(name: str, post: EditorPost) -> Response:
    """Save a managed probe's changed definition."""

    def save() -> object:
        table = {**_table(post.form), "name": name}
        stored = definitions.get_definition(post.session, name).config
        changes: dict[str, Any] = {k: None for k in stored if k not in table}
        changes.update(table)
        return definitions.update(
            post.session,
            name,
            changes,
            settings=post.settings,
            actor=post.actor,
            now=post.clock(),
        )

    return submit(
        post,
        save,
        page=lambda shown: _probe_page(post, name, shown),
        then=lambda _: done(f"{PREFIX}/probes/{name}", "saved"),
    )


@router.post("/probes/{name}/pause")
def pause_probe(name: str, post: EditorPost) -> Response:
    """Stop running a managed probe."""
    definitions.set_paused(
        post.session, name, True, settings=post.settings, actor=post.actor, now=post.clock()
    )
    return done(f"{PREFIX}/probes/{name}", "paused")


@router.post("/probes/{name}/resume")
def resume_probe(name: str, post: EditorPost) -> Response:
    """Run a paused probe again."""
    definitions.set_paused(
        post.session, name, False, settings=post.settings, actor=post.actor, now=post.clock()
    )
    return done(f"{PREFIX}/probes/{name}", "resumed")


@router.post("/probes/{name}/run")
def run_probe(name: str, post: EditorPost) -> Response:
    """Run a probe once now; its page shows the result on top."""
    manual.run_and_record(post.session, post.settings, name, actor=post.actor, now=post.clock())
    return done(f"{PREFIX}/probes/{name}", "ran")


@router.get("/probes/{name}/delete")
def delete_probe_form(name: str, screen: Editor) -> HTMLResponse:
    """Ask before deleting a managed probe."""
    definitions.get_definition(screen.session, name)
    return screen.render("admin/probe_delete.html", name=name)


@router.post("/probes/{name}/delete")
def delete_probe(name: str, post: EditorPost) -> Response:
    """Delete a managed probe and its state."""
    definitions.remove(
        post.session, name, settings=post.settings, actor=post.actor, now=post.clock()
    )
    return done(f"{PREFIX}/probes", "deleted")
