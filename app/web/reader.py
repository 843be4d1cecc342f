"""What every public handler works with: the request, a read-only session, the settings, now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from app.clock import ClockDep
from app.config import Settings, SettingsDep
from app.db import ReadSessionDep


@dataclass(frozen=True)
class Reader:
    """One public read: its request, a session that never writes, the page's settings, and the
    time it is answered at."""

    request: Request
    session: Session
    settings: Settings
    now: datetime


def reader(
    request: Request, session: ReadSessionDep, settings: SettingsDep, clock: ClockDep
) -> Reader:
    """The public handler's context."""
    return Reader(request=request, session=session, settings=settings, now=clock())


ReaderDep = Annotated[Reader, Depends(reader)]
