"""The `pharos` command: serve, migrate, tokens, sync, dump, export, import."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from app import commands
from app.auth import service as tokens_service
from app.clock import utcnow
from app.config import default_public_url_to
from app.importers.cli import importer as import_cli
from app.loops import background_loops
from app.probes.cli import probe_cli
from app.publishing.cli import cli as publishing_cli
from app.server import ServerKind
from app.server import run as run_server
from app.uptime import rollups
from app.users.cli import users as users_cli
from app.web import request_log
from app.workers import Supervisor

cli = typer.Typer(
    help="Pharos: incident status page and postmortem publishing.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
tokens = typer.Typer(help="Staff API tokens.", no_args_is_help=True)
cli.add_typer(tokens, name="tokens")
cli.add_typer(publishing_cli)  # sync, dump, export
cli.add_typer(probe_cli, name="probe")
cli.add_typer(users_cli, name="users")
cli.add_typer(import_cli, name="import")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes; each keeps its own render cache (see Performance in README)",
        ),
    ] = 1,
    server: Annotated[
        ServerKind,
        typer.Option(help="granian (over its RSGI; granian-asgi over ASGI) or uvicorn; see README"),
    ] = ServerKind.granian,
) -> None:
    """Apply migrations, then serve the status page and API."""
    default_public_url_to(host, port)
    settings = commands.load_settings()
    commands.migrate_database(settings)
    run_server(settings, host=host, port=port, workers=workers, kind=server)


@cli.command()
def worker() -> None:
    """Run the background workers (delivery, maintenance, probes) without the web server."""
    settings = commands.load_settings()
    request_log.configure(settings.log_level)

    async def main(engine: Engine) -> None:
        supervisor = Supervisor(background_loops(engine, settings))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await supervisor.start()
        typer.echo("pharos worker running; Ctrl-C to stop")
        await stop.wait()
        await supervisor.stop()

    with commands.database(settings) as engine:
        asyncio.run(main(engine))


@cli.command("rebuild-uptime")
def rebuild_uptime() -> None:
    """Recompute the daily uptime figures from the status log (after changing PHAROS_TIMEZONE)."""
    settings = commands.load_settings()
    with commands.transaction(settings) as session:
        rows = rollups.rebuild_rollups(session, tz=settings.tz)
    typer.echo(f"rebuilt {rows} daily rows in {settings.timezone}")


@cli.command("migrate")
def migrate_command() -> None:
    """Bring the database schema up to date."""
    commands.migrate_database()
    typer.echo("database is up to date")


@tokens.command("create")
def tokens_create(name: Annotated[str, typer.Argument(help="Who or what uses the token")]) -> None:
    """Create an API token; it is printed once, alone on the last line."""
    try:
        with commands.transaction() as session:
            token, plain = tokens_service.create_token(session, name=name, now=utcnow())
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"Created token {token.id} ({token.name}). It is shown only now:")
    typer.echo(plain)


@tokens.command("list")
def tokens_list() -> None:
    """List tokens (never their values)."""
    with commands.transaction() as session:
        for t in tokens_service.list_tokens(session):
            state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}Z" if t.last_used_at else "never"
            typer.echo(f"{t.id}\t{t.name}\t{state}\tlast used {used}")


@tokens.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="Id from `tokens list`")]) -> None:
    """Revoke a token."""
    with commands.transaction() as session:
        token = tokens_service.revoke_token(session, token_id=token_id, now=utcnow())
    if token is None:
        typer.echo(f"error: no token {token_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked token {token.id} ({token.name})")


def main() -> None:
    """Entry point of the `pharos` script."""
    cli()
