"""What admin form pages share: a kept draft, submitting a form, and confirming a step.

A page shows its form from a FormState: first as `kept` (the draft kept for the page, else its
defaults). A post `submit`s the use case: refused, the page shows the form again with why;
done, the handler says what comes next (mostly a redirect with a notice):

    return submit(
        post,
        lambda: service.do_it(post.session, ..., actor=post.actor, now=post.clock()),
        page=lambda shown: _page(post, shown),
        then=lambda result: done(f"{PREFIX}/...", "saved"),
    )
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from app.admin.deps import Posted, Screen, done
from app.admin.forms import FormErrors, FormValues
from app.errors import PharosError
from app.users import sessions

DRAFT_REASONS = {
    "stale": "Your form was not sent: the page had expired. Check it and send it again.",
    "expired": "You are signed in again. Your form was not sent yet: check it and send it.",
}


@dataclasses.dataclass(frozen=True)
class Draft:
    """A refused form to show again, with why it was refused."""

    form: str
    values: FormValues
    message: str


def take_draft(screen: Screen) -> Draft | None:
    """The draft kept for this page, if any (forgotten once taken)."""
    draft = screen.staff.session.draft
    if not draft or draft.get("path") != screen.request.url.path:
        return None
    sessions.keep_draft(screen.session, screen.staff, None)
    values = FormValues(draft.get("fields") or {})
    return Draft(
        form=values.get("_form"),
        values=values,
        message=DRAFT_REASONS.get(str(draft.get("reason")), DRAFT_REASONS["stale"]),
    )


@dataclasses.dataclass(frozen=True)
class FormState:
    """A page's form: what its fields show (None: the page's defaults), errors, draft, status."""

    values: FormValues | None = None
    errors: FormErrors = dataclasses.field(default_factory=FormErrors)
    draft: Draft | None = None
    status: int = 200


def kept(screen: Screen, defaults: FormValues | None = None) -> FormState:
    """The form as a page first shows it: the draft kept for the page, else the defaults."""
    draft = take_draft(screen)
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
    post: Posted,
    action: Callable[[], T],
    *,
    field: FieldOf = "_form",
    prefix: dict[str, str] | None = None,
) -> T | FormState:
    """Run a use case the page may refuse: its result, or the form state that shows why not.

    It runs in a savepoint of the request's unit of work: refused, what it wrote is undone and
    the request goes on to render the refusal (and commit what else it did, a kept draft say).
    When the request has written nothing yet there is no savepoint (it would begin the
    transaction, on SQLite take the write lock, before the use case has prepared outside it
    what it can): a refusal then rolls back the whole transaction, which holds only the
    action's writes.
    """
    fresh = not post.session.in_transaction()
    try:
        if fresh:
            return action()
        with post.session.begin_nested():
            return action()
    except ValidationError as exc:
        if fresh:
            post.session.rollback()
        return invalid(post.form, exc, prefix=prefix)
    except PharosError as exc:
        if fresh:
            post.session.rollback()
        return refused(post.form, exc, field(exc) if callable(field) else field)


def submit(
    post: Posted,
    action: Callable[[], T],
    *,
    field: FieldOf = "_form",
    prefix: dict[str, str] | None = None,
    page: Callable[[FormState], Response],
    then: Callable[[T], Response],
) -> Response:
    """Attempt the post's use case: refused, `page` shows the form again with why; else `then`."""
    outcome = attempt(post, action, field=field, prefix=prefix)
    return page(outcome) if isinstance(outcome, FormState) else then(outcome)


def form_page(
    screen: Screen,
    template: str,
    shown: FormState,
    *,
    defaults: FormValues | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page with a form, as `shown` says (its values, else `defaults`)."""
    return screen.render(
        template,
        status=shown.status,
        values=shown.values or defaults or FormValues(),
        errors=shown.errors,
        draft=shown.draft,
        **context,
    )


def confirmation(
    screen: Screen, template: str, refusal: FormState | None = None, **context: Any
) -> HTMLResponse:
    """A page that asks before an irreversible step; after a refusal, with why (see refused)."""
    shown = refusal or FormState()
    return screen.render(template, status=shown.status, errors=shown.errors, **context)


class Step(Protocol):
    """An audited use case on one object, by id: deleting a component, say."""

    def __call__(self, session: Session, object_id: str, /, *, actor: str, now: datetime) -> None:
        """Take the step (or refuse it with a PharosError)."""


@dataclasses.dataclass(frozen=True)
class Confirmed:
    """A step that cannot be undone, so a page asks first (`page`); the form on it `take`s it."""

    template: str  # the page that asks, and explains a refusal
    subject: str  # the template's name for the object
    load: Callable[[Session, str], object]  # the object, by id
    step: Step
    then: str  # where to go once it is done, with the "deleted" notice

    def page(
        self, screen: Screen, object_id: str, refusal: FormState | None = None
    ) -> HTMLResponse:
        """The page that asks; after a refusal, saying why."""
        found = self.load(screen.session, object_id)
        return confirmation(screen, self.template, refusal, **{self.subject: found})

    def take(self, post: Posted, object_id: str) -> Response:
        """Take the step and go on; refused, the page again saying why."""
        return submit(
            post,
            lambda: self.step(post.session, object_id, actor=post.actor, now=post.clock()),
            page=lambda shown: self.page(post, object_id, shown),
            then=lambda _: done(self.then, "deleted"),
        )
