"""The postmortem editor: preview (the public page's renderer), save, publish, unpublish."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from app.admin import views
from app.admin.deps import PREFIX, EditorPost, Screen, Viewer, ViewerPost, done
from app.admin.flow import FormState, form_page, kept, submit
from app.admin.forms import FormValues
from app.incidents import postmortems, read
from app.incidents.schemas import PostmortemDraft
from app.publishing.markdown import render_markdown

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _postmortem_page(screen: Screen, incident_id: str, shown: FormState) -> HTMLResponse:
    incident = views.incident_page(screen.session, screen.settings, incident_id)
    # Subscribers hear of the first publication; republishing (a typo fixed) tells them
    # again only when staff tick the box themselves.
    again = postmortems.published_before(
        screen.session, read.get_incident(screen.session, incident_id)
    )
    values = shown.values or FormValues.of(body=incident.postmortem_draft or "", notify=not again)
    body = values.get("body")
    return form_page(
        screen,
        "admin/postmortem.html",
        shown,
        defaults=values,
        incident=incident,
        notified_before=again,
        # The public page's renderer and sanitizer, with the same heading level: the saved
        # draft (or what was typed) is previewed at once, before any key is pressed.
        preview_html=render_markdown(body, heading_offset=2) if body else None,
    )


@router.get("/incidents/{incident_id}/postmortem")
def postmortem_form(incident_id: str, screen: Viewer) -> HTMLResponse:
    """The postmortem editor."""
    return _postmortem_page(screen, incident_id, kept(screen))


@router.post("/incidents/{incident_id}/postmortem")
def postmortem_action(incident_id: str, post: EditorPost) -> Response:
    """Preview, save the draft, publish (with or without notifying) or unpublish."""
    form, action, actor = post.form, post.form.get("action"), post.actor
    if action == "preview":
        return _postmortem_page(post, incident_id, FormState(form))

    def act() -> str:
        if action == "unpublish":
            postmortems.unpublish_postmortem(
                post.session, incident_id, actor=actor, now=post.clock()
            )
            return "unpublished"
        data = PostmortemDraft.model_validate({"body": form.get("body")})
        if data.body != read.get_incident(post.session, incident_id).postmortem_body:
            postmortems.save_postmortem_draft(
                post.session, incident_id, body=data.body, actor=actor, now=post.clock()
            )
        if action != "publish":
            return "saved"
        postmortems.publish_postmortem(
            post.session,
            incident_id,
            published_at=None,
            notify_subscribers=form.checked("notify"),
            settings=post.settings,
            actor=actor,
            now=post.clock(),
        )
        return "published"

    return submit(
        post,
        act,
        page=lambda shown: _postmortem_page(post, incident_id, shown),
        then=lambda notice: done(f"{PREFIX}/incidents/{incident_id}/postmortem", notice),
    )


@router.post("/preview")
def preview(post: ViewerPost) -> HTMLResponse:
    """Live preview for the editor's script: the body rendered as the public page does."""
    html = render_markdown(post.form.get("body"), heading_offset=2)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
