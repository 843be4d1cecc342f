"""`pharos users`: staff accounts for the admin UI."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from app import commands
from app.clock import utcnow
from app.errors import PharosError
from app.models import UserRole
from app.users import service

users = typer.Typer(help="Staff users of the admin UI (/admin).", no_args_is_help=True)


@users.command("create")
def create(
    email: Annotated[str, typer.Argument(help="The user's email address (their sign-in name)")],
    role: Annotated[UserRole, typer.Option(help="admin, editor or viewer")] = UserRole.viewer,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Create a user; prints a one-time password unless --password-stdin gives one."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else service.new_password()
    try:
        with commands.transaction() as session:
            user = service.create_user(
                session, email=email, role=role, password=password, actor="cli", now=utcnow()
            )
            created = f"Created {user.role.value} {user.email}."
    except PharosError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    if password_stdin:
        typer.echo(created)
    else:
        typer.echo(f"{created} Password, shown only now (change it after signing in):")
        typer.echo(password)


@users.command("list")
def list_users() -> None:
    """List users and their roles."""
    with commands.transaction() as session:
        for u in service.list_users(session):
            state = "disabled" if u.disabled_at else "active"
            typer.echo(f"{u.email}\t{u.role.value}\t{state}")
