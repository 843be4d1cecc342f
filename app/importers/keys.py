"""Import keys: which Pharos object an imported object became, and how it looked then."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session, SQLModel, select

from app.models import ImportKey, new_id

# Statuspage's ids have Pharos's shape (12 lowercase letters and digits): they are kept as the
# Pharos ids, so links, API answers and webhooks name the same objects on both pages.
PHAROS_ID = re.compile(r"^[0-9a-z]{1,12}$")


def find(session: Session, source: str, kind: str, external_id: str) -> ImportKey | None:
    """The key of one imported object, if it was imported before."""
    return session.get(ImportKey, (source, kind, external_id))


def keys_of(session: Session, source: str, kinds: tuple[str, ...]) -> list[ImportKey]:
    """Every key of some kinds from one source."""
    stmt = select(ImportKey).where(ImportKey.source == source)
    return [k for k in session.exec(stmt) if k.kind in kinds]


def remember(
    session: Session,
    source: str,
    kind: str,
    external_id: str,
    pharos_id: str,
    digest: str,
    *,
    now: datetime,
) -> None:
    """Record (or refresh) the key of an imported object: `kind` `external_id` of `source` is
    `pharos_id` here, imported from content with this `digest`."""
    key = find(session, source, kind, external_id) or ImportKey(
        source=source,
        kind=kind,
        external_id=external_id,
        pharos_id=pharos_id,
        digest="",
        imported_at=now,
    )
    key.pharos_id = pharos_id
    key.digest = digest
    key.imported_at = now
    session.add(key)


def claim_id(session: Session, model: type[SQLModel], wanted: str) -> str:
    """The source's id when it fits Pharos and is free, else a fresh one."""
    if PHAROS_ID.match(wanted) and session.get(model, wanted) is None:
        return wanted
    return new_id()


# Ends one imported object's transaction; the import job passes it (see importers/job.py), so
# only the job decides where transactions end.
Checkpoint = Callable[[], None]
