"""`safeshare create-user`, and the break-glass `safeshare set-password` and `safeshare reset-2fa`.

Above `app.flows` (not in `app.auth`) because each commits: `flows.finish` writes the security
e-mails the change recorded to the outbox before the commit, as a request's transaction does."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from pydantic import BaseModel, ValidationError

from app import flows
from app.audit.service import Actor
from app.auth import service
from app.auth.passwords import Passwords
from app.auth.schemas import CommandUserCreate, NewPassword
from app.commandline import database_error, fail, sessionmaker_for, settings_or_exit
from app.errors import AppError

commands = typer.Typer()


class NewPasswordCheck(BaseModel):
    password: NewPassword


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
        body = CommandUserCreate.model_validate({"email": email, "name": name or email, "roles": role, "password": password})
    except ValidationError as exc:
        err = exc.errors()[0]
        fail(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}")
    sessions = sessionmaker_for(settings, create_ring=True)
    try:
        with sessions() as session, session.begin():
            user = service.create_user(
                session, Passwords(settings), email=str(body.email), name=body.name, roles=body.roles,
                password=body.password, by=Actor.system("create-user"),
            )
            flows.finish(session)
            typer.echo(f"created {user.email} ({', '.join(r.value for r in user.roles)})")
    except AppError as exc:
        fail(exc.detail)
    except Exception as exc:  # noqa: BLE001
        database_error(exc, "create the user")


@commands.command("set-password")
def set_password(
    email: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the new password from standard input.")] = False,
) -> None:
    """Break-glass: set a staff account's password (read from standard input) and end its sessions. Audited."""
    settings = settings_or_exit()
    if not password_stdin:
        fail("give --password-stdin and the new password on standard input")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        NewPasswordCheck.model_validate({"password": password})
    except ValidationError as exc:
        err = exc.errors()[0]
        fail(f"password: {str(err['msg']).removeprefix('Value error, ')}")
    sessions = sessionmaker_for(settings, create_ring=True)
    try:
        with sessions() as session, session.begin():
            user = service.set_password(session, Passwords(settings), email=email, password=password,
                                        by=Actor.system("set-password"))
            flows.finish(session)
            typer.echo(f"password set for {user.email}; every session of the account has ended")
    except AppError as exc:
        fail(exc.detail)
    except Exception as exc:  # noqa: BLE001
        database_error(exc, "set the password")


@commands.command("reset-2fa")
def reset_2fa(email: str) -> None:
    """Break-glass: turn off a staff account's two-factor sign-in at once (e.g. the only admin lost
    their phone); its sessions end and it must set it up again. Audited."""
    settings = settings_or_exit()
    sessions = sessionmaker_for(settings, create_ring=True)
    try:
        with sessions() as session, session.begin():
            user = service.user_by_email(session, email)
            service.request_totp_reset(session, user_id=user.id, by=Actor.system("reset-2fa"), by_user=None)
            flows.finish(session)
            typer.echo(f"two-factor sign-in reset for {user.email}; every session of the account has ended")
    except AppError as exc:
        fail(exc.detail)
    except Exception as exc:  # noqa: BLE001
        database_error(exc, "reset two-factor sign-in")
