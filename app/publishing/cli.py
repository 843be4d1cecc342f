"""`pharos sync`, `pharos dump` and `pharos export`: incidents as files, the site as files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app import commands
from app.clock import utcnow
from app.main import create_app
from app.publishing import export, incidents_as_code, incidents_dump
from app.publishing import s3 as s3_upload

cli = typer.Typer()
FOLDER = Path("incidents")


@cli.command()
def sync(
    directory: Annotated[Path, typer.Argument(help="Folder of incident files")] = FOLDER,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan, write nothing")
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Only check the files (no database); exit 1 on problems")
    ] = False,
    create_components: Annotated[
        bool, typer.Option("--create-components", help="Create components the files name")
    ] = False,
) -> None:
    """Import incidents/<slug>.md files, keyed by slug: running it twice changes nothing."""
    settings = commands.load_settings()
    if check:
        files, bad = incidents_as_code.load_files(directory, tz=settings.tz, now=utcnow())
        for outcome in bad:
            typer.echo(outcome.error, err=True)
        typer.echo(f"{len(files)} incident file(s) OK, {len(bad)} with problems")
        raise typer.Exit(1 if bad else 0)
    # One transaction: a dry run is the real sync, rolled back at the end.
    with commands.transaction(settings, dry_run=dry_run) as session:
        report = incidents_as_code.sync_incidents(
            session, directory, settings=settings, clock=utcnow, create_components=create_components
        )
    for outcome in report.outcomes:
        if outcome.error:
            typer.echo(f"error: {outcome.error}", err=True)
        for action in outcome.actions:
            typer.echo(f"{outcome.path.name}: {action}")
    if not report.changed:
        typer.echo("nothing to change")
    elif dry_run:
        typer.echo("dry run: nothing was written")
    raise typer.Exit(1 if report.errors else 0)


@cli.command()
def dump(
    directory: Annotated[Path, typer.Argument(help="Folder to write incident files to")] = FOLDER,
) -> None:
    """Write every incident (made in the API or from files) to <folder>/<slug>.md."""
    settings = commands.load_settings()
    with commands.transaction(settings) as session:
        written = incidents_dump.dump_incidents(session, directory, tz=settings.tz)
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"{len(written)} file(s) written")


@cli.command("export")
def export_command(
    directory: Annotated[Path, typer.Argument(help="Folder to write the site to (replaced)")],
    s3: Annotated[
        str | None, typer.Option("--s3", help="Then upload it to s3://bucket/prefix (pharos[s3])")
    ] = None,
    s3_endpoint_url: Annotated[
        str | None, typer.Option(help="An S3-compatible store's endpoint (R2, MinIO, ...)")
    ] = None,
) -> None:
    """Write the public site as static files (pages, JSON, feeds, badges) for a CDN or bucket."""
    if s3 is not None:
        try:
            s3_upload.parse_target(s3)
        except ValueError as exc:
            typer.echo(f"error: --s3: {exc}", err=True)
            raise typer.Exit(2) from exc
    settings = commands.load_settings().model_copy(update={"run_workers": False})
    commands.migrate_database(settings)
    app = create_app(settings)
    try:
        report = export.export_site(app, directory)
    except export.ExportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        app.state.engine.dispose()
    for skipped in report.skipped:
        typer.echo(f"left out a link that answers no page: {skipped}", err=True)
    typer.echo(f"wrote {len(report.files)} files to {directory}")
    if s3 is not None:
        _upload(directory, s3, s3_endpoint_url)


def _upload(directory: Path, target: str, endpoint_url: str | None) -> None:
    try:
        import boto3  # an optional extra, imported only when asked for
    except ImportError as exc:
        typer.echo("error: --s3 needs boto3: pip install 'pharos[s3]'", err=True)
        raise typer.Exit(2) from exc
    client = boto3.client("s3", endpoint_url=endpoint_url)  # credentials: boto3's usual chain
    report = s3_upload.upload_site(directory, target, client=client)
    typer.echo(
        f"{target}: {len(report.uploaded)} uploaded, {report.unchanged} unchanged, "
        f"{len(report.deleted)} deleted"
    )
