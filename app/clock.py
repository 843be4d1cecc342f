"""The one source of "now"; tests replace it through the app's dependency overrides."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


def get_clock() -> Clock:
    """Dependency returning the clock function."""
    return utcnow


ClockDep = Annotated[Clock, Depends(get_clock)]
