"""What admin form pages share: showing a kept draft, and showing a refused form again.

A page's form is shown from a FormState; a route tries the service and, when it refuses, shows
the form again with the errors:

    try:
        ...
    except ValidationError as exc:
        shown = invalid(form, exc)
    except PharosError as exc:
        shown = refused(session, form, exc)
    else:
        return done(...)
    return _form_page(..., shown)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlmodel import Session

from app.admin.deps import Draft, render, take_draft
from app.admin.forms import FormErrors, FormValues
from app.errors import PharosError
from app.users.sessions import SignedIn


@dataclasses.dataclass(frozen=True)
class FormState:
    """A page's form: what its fields show (None: the page's defaults), errors, draft, status."""

    values: FormValues | None = None
    errors: FormErrors = dataclasses.field(default_factory=FormErrors)
    draft: Draft | None = None
    status: int = 200


def kept(
    session: Session, staff: SignedIn, request: Request, defaults: FormValues | None = None
) -> FormState:
    """The form as a page first shows it: the draft kept for the page, else the defaults."""
    draft = take_draft(session, staff, request.url.path)
    return FormState(values=draft.values if draft else defaults, draft=draft)


def invalid(
    values: FormValues, exc: ValidationError, *, prefix: dict[str, str] | None = None
) -> FormState:
    """Invalid input: the form again with an error by each field, answered with 422."""
    return FormState(values, FormErrors.from_validation(exc, prefix=prefix), status=422)


def refused(
    session: Session, values: FormValues, exc: PharosError, field: str = "_form"
) -> FormState:
    """A service's refusal: its changes rolled back, the form again with the reason by `field`."""
    session.rollback()
    return FormState(values, FormErrors.from_domain(exc, field), status=exc.status_code)


def render_form(
    request: Request,
    template: str,
    staff: SignedIn,
    shown: FormState,
    *,
    defaults: FormValues | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page with a form, as `shown` says (its values, else `defaults`)."""
    return render(
        request,
        template,
        staff=staff,
        status=shown.status,
        values=shown.values or defaults or FormValues(),
        errors=shown.errors,
        draft=shown.draft,
        **context,
    )


def confirmation(
    request: Request,
    template: str,
    staff: SignedIn,
    refusal: FormState | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page that asks before an irreversible step; after a refusal, with why (see refused)."""
    shown = refusal or FormState()
    return render(
        request, template, staff=staff, status=shown.status, errors=shown.errors, **context
    )
