"""What admin form pages share: showing a kept draft, and showing a refused form again.

A page's form is shown from a FormState; a route attempts the use case and, when it is refused,
shows the form again with the errors:

    outcome = attempt(session, form, lambda: service.do_it(session, ...))
    if isinstance(outcome, FormState):
        return _form_page(..., outcome)
    return done(...)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

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


def refused(values: FormValues, exc: PharosError, field: str = "_form") -> FormState:
    """A service's refusal: the form again with the reason by `field`."""
    return FormState(values, FormErrors.from_domain(exc, field), status=exc.status_code)


T = TypeVar("T")
FieldOf = str | Callable[[PharosError], str]


def attempt(
    session: Session,
    values: FormValues,
    action: Callable[[], T],
    *,
    field: FieldOf = "_form",
    prefix: dict[str, str] | None = None,
) -> T | FormState:
    """Run a use case the page may refuse: its result, or the form state that shows why not.

    It runs in a savepoint of the request's unit of work: refused, what it wrote is undone and
    the request goes on to render the refusal (and commit what else it did, a kept draft say).
    """
    try:
        with session.begin_nested():
            return action()
    except ValidationError as exc:
        return invalid(values, exc, prefix=prefix)
    except PharosError as exc:
        return refused(values, exc, field(exc) if callable(field) else field)


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
