"""The postmortem editor: preview (the public page's renderer), save, publish, unpublish."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.admin import views
from app.admin.deps import (
    PREFIX,
    EditorPost,
    Viewer,
    ViewerPost,
    done,
)
from app.admin.flow import FormState, attempt, kept, render_form
from app.admin.forms import FormValues
from app.clock import ClockDep
from app.config import Settings, SettingsDep
from app.db import SessionDep
from app.incidents import postmortems, read
from app.incidents.schemas import PostmortemDraft
from app.publishing.markdown import render_markdown
from app.users.sessions import SignedIn

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _postmortem_page(
    request: Request,
    session: Session,
    settings: Settings,
    staff: SignedIn,
    incident_id: str,
    shown: FormState,
    preview: bool = False,
) -> HTMLResponse:
    incident = views.incident_page(session, settings, incident_id)
    values = shown.values or FormValues.of(body=incident.postmortem_draft or "", notify=True)
    body = values.get("body")
    return render_form(
        request,
        "admin/postmortem.html",
        staff,
        shown,
        defaults=values,
        incident=incident,
        # The public page's renderer and sanitizer, with the same heading level.
        preview_html=render_markdown(body, heading_offset=2) if preview and body else None,
    )


@router.get("/incidents/{incident_id}/postmortem")
def postmortem_form(
    incident_id: str, request: Request, session: SessionDep, settings: SettingsDep, staff: Viewer
) -> HTMLResponse:
    """The postmortem editor."""
    shown = kept(session, staff, request)
    return _postmortem_page(request, session, settings, staff, incident_id, shown)


@router.post("/incidents/{incident_id}/postmortem")
def postmortem_action(
    incident_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    post: EditorPost,
) -> Response:
    """Preview, save the draft, publish (with or without notifying) or unpublish."""
    form, action = post.form, post.form.get("action")
    page = f"{PREFIX}/incidents/{incident_id}/postmortem"
    if action == "preview":
        return _postmortem_page(
            request, session, settings, post.staff, incident_id, FormState(form), preview=True
        )

    def act() -> str:
        if action == "unpublish":
            postmortems.unpublish_postmortem(session, incident_id, actor=post.actor, now=clock())
            return "unpublished"
        data = PostmortemDraft.model_validate({"body": form.get("body")})
        current = read.get_incident(session, incident_id).postmortem_body
        if data.body != current:
            postmortems.save_postmortem_draft(
                session, incident_id, body=data.body, actor=post.actor, now=clock()
            )
        if action != "publish":
            return "saved"
        postmortems.publish_postmortem(
            session,
            incident_id,
            published_at=None,
            notify_subscribers=form.checked("notify"),
            settings=settings,
            actor=post.actor,
            now=clock(),
        )
        return "published"

    outcome = attempt(session, form, act)
    if isinstance(outcome, FormState):
        return _postmortem_page(request, session, settings, post.staff, incident_id, outcome)
    return done(page, outcome)


@router.post("/preview")
def preview(post: ViewerPost) -> HTMLResponse:
    """Live preview for the editor's script: the body rendered as the public page does."""
    html = render_markdown(post.form.get("body"), heading_offset=2)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
