"""`pharos import statuspage`: bring a page over from Atlassian Statuspage."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from app import commands
from app.clock import utcnow
from app.config import Settings
from app.importers.job import import_statuspage
from app.importers.public import import_public_page
from app.importers.report import ImportReport
from app.importers.statuspage_api import DEFAULT_API_URL, StatuspageClient

importer = typer.Typer(help="Bring a status page over from another service.", no_args_is_help=True)
PAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _api_key(path: Path | None, settings: Settings) -> str:
    """The key from --api-key-file, else PHAROS_STATUSPAGE_API_KEY; never from argv."""
    if path is not None:
        try:
            key = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(f"--api-key-file: can't read {path}: {exc.__class__.__name__}") from exc
        if not key:
            raise _fail(f"--api-key-file: {path} is empty")
        return key
    if settings.statuspage_api_key is not None:
        key = settings.statuspage_api_key.get_secret_value().strip()
        if key:
            return key
    raise _fail("no API key: give --api-key-file FILE or set PHAROS_STATUSPAGE_API_KEY")


@importer.command("statuspage")
def statuspage(
    page_id: Annotated[
        str | None, typer.Option("--page-id", help="The page's id (Statuspage: API info)")
    ] = None,
    api_key_file: Annotated[
        Path | None,
        typer.Option(help="File holding the API key (else PHAROS_STATUSPAGE_API_KEY)"),
    ] = None,
    api_url: Annotated[str, typer.Option(help="The management API's base URL")] = DEFAULT_API_URL,
    public: Annotated[
        str | None, typer.Option("--public", help="Import what a public page shows, no key")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would change, write nothing")
    ] = False,
    max_rate: Annotated[
        float, typer.Option(min=0.01, help="Requests per second at most (Statuspage allows 1)")
    ] = 1.0,
) -> None:
    """Import components, incidents, maintenances, postmortems, templates and subscribers;
    a re-run updates what changed and never duplicates. Nobody is notified."""
    if (page_id is None) == (public is None):
        raise _fail("give either --page-id (with an API key) or --public URL")
    settings = commands.load_settings()
    if public is not None:
        if not public.startswith(("http://", "https://")):
            raise _fail("--public: the page's URL, starting with http:// or https://")
        client = StatuspageClient(public.rstrip("/"), max_rate=max_rate)
    else:
        assert page_id is not None
        if not PAGE_ID.match(page_id):
            raise _fail("--page-id: letters, digits, '-' and '_' only")
        if not api_url.startswith(("http://", "https://")):
            raise _fail("--api-url must start with http:// or https://")
        client = StatuspageClient(
            api_url, api_key=_api_key(api_key_file, settings), max_rate=max_rate
        )
    with commands.database(settings) as engine, client:
        report = _run(engine, client, settings, page_id=page_id, dry_run=dry_run)
    for line in report.lines():
        typer.echo(line, err=line.startswith("error:"))
    raise typer.Exit(1 if report.error else 0)


def _run(
    engine: Engine,
    client: StatuspageClient,
    settings: Settings,
    *,
    page_id: str | None,
    dry_run: bool,
) -> ImportReport:
    if page_id is None:
        return import_public_page(engine, client, settings=settings, clock=utcnow, dry_run=dry_run)
    return import_statuspage(
        engine, client, page_id=page_id, settings=settings, clock=utcnow, dry_run=dry_run
    )
