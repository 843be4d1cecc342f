"""Form values, field errors and the drafts that keep refused forms."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from pydantic import ValidationError

from app.errors import PharosError

# Never kept in a draft or carried through the sign-in page.
NOT_KEPT = frozenset({"csrf_token", "password", "new_password", "confirm_password"})


class FormValues:
    """What a form shows in its fields: typed values, a kept draft, or defaults."""

    def __init__(self, data: Mapping[str, Iterable[str]] | None = None) -> None:
        self.data: dict[str, list[str]] = {k: list(v) for k, v in (data or {}).items()}

    @classmethod
    def of(cls, **defaults: Any) -> FormValues:
        """Defaults: None leaves a field out, True ticks a checkbox, lists are multi-values."""
        data: dict[str, list[str]] = {}
        for key, value in defaults.items():
            if value is None or value is False:
                continue
            if value is True:
                data[key] = ["on"]
            elif isinstance(value, list | tuple | set):
                data[key] = [str(v) for v in value]
            else:
                data[key] = [str(value)]
        return cls(data)

    def get(self, name: str, default: str = "") -> str:
        """The field's (first) value."""
        found = self.data.get(name)
        return found[0] if found else default

    def getlist(self, name: str) -> list[str]:
        """Every value of a multi-value field."""
        return self.data.get(name, [])

    def checked(self, name: str) -> bool:
        """Whether a checkbox is ticked."""
        return name in self.data

    def kept(self) -> dict[str, list[str]]:
        """The values worth keeping in a draft (no secrets)."""
        return {k: v for k, v in self.data.items() if k not in NOT_KEPT}

    def with_prefix(self, prefix: str) -> dict[str, str]:
        """Fields named prefix + key, as {key: value}, empty values left out."""
        return {
            k.removeprefix(prefix): v[0]
            for k, v in self.data.items()
            if k.startswith(prefix) and v and v[0]
        }


class FormErrors(dict[str, str]):
    """Error messages by field name; "_form" is for the form as a whole."""

    @classmethod
    def from_validation(cls, exc: ValidationError, *, prefix: dict[str, str] | None = None) -> Any:
        """One message per field from a pydantic error (prefix maps dict fields to inputs)."""
        errors = cls()
        for error in exc.errors():
            loc = [str(p) for p in error.get("loc", ())]
            name = loc[0] if loc else "_form"
            if prefix and name in prefix and len(loc) > 1:
                name = prefix[name] + loc[1]
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            errors.setdefault(name, _friendly(message))
        return errors

    @classmethod
    def from_domain(cls, exc: PharosError, field: str = "_form") -> FormErrors:
        """A service's refusal, shown by the field it concerns (or atop the form)."""
        errors = cls()
        errors[field] = exc.message[:1].upper() + exc.message[1:]
        return errors


def _friendly(message: str) -> str:
    if message.startswith("String should have at least 1"):
        return "This can't be empty."
    if message.startswith("String should have at most"):
        return message.replace("String should", "This should")
    return message[:1].upper() + message[1:]


def parse_local(value: str, tz: tzinfo) -> datetime | None:
    """A datetime-local input value (page time zone) as an aware time; None when empty."""
    if not value.strip():
        return None
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError("enter a date and time like 2025-09-07 11:12") from exc
    return naive.replace(tzinfo=tz) if naive.tzinfo is None else naive
