"""`safeshare create-user`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from app.audit.service import Actor
from app.auth import service
from app.auth.passwords import Passwords
from app.auth.schemas import UserCreate
from app.commandline import database_error, fail, sessionmaker_for, settings_or_exit
from app.errors import AppError

commands = typer.Typer()


@commands.command("create-user")
def create_user(
    email: str,
    role: Annotated[list[str], typer.Option("--role", help="admin, safeguarding, hr or leadership; repeat for several.")],
    name: Annotated[str | None, typer.Option(help="Display name (defaults to the e-mail address).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Create a staff account; the password is read from standard input."""
    settings = settings_or_exit()
    if not password_stdin:
        fail("give --password-stdin and the password on standard input")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        body = UserCreate.model_validate({"email": email, "name": name or email, "roles": role, "password": password})
    except ValidationError as exc:
        err = exc.errors()[0]
        fail(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}")
    sessions = sessionmaker_for(settings)
    try:
        with sessions() as session, session.begin():
            user = service.create_user(
                session, Passwords(settings), email=str(body.email), name=body.name, roles=body.roles,
                password=body.password, by=Actor.system("create-user"),
            )
            typer.echo(f"created {user.email} ({', '.join(r.value for r in user.roles)})")
    except AppError as exc:
        fail(exc.detail)
    except Exception as exc:  # noqa: BLE001
        database_error(exc, "create the user")
