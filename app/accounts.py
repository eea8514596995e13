"""`safeshare create-user`, the break-glass `safeshare set-password` and `safeshare reset-2fa`, and
`safeshare seal-cases` (issue 27: an existing deployment moves to keys only people hold).

Above `app.flows` (not in `app.auth`) because each commits: `flows.finish` writes the security
e-mails the change recorded to the outbox before the commit, as a request's transaction does."""

from __future__ import annotations

import sys
import uuid
from typing import Annotated

import typer
from pydantic import BaseModel, ValidationError

from app import flows
from app.audit.service import Actor
from app.auth import keys, service
from app.auth.passwords import Passwords
from app.auth.schemas import CommandUserCreate, NewPassword
from app.commandline import database_error, fail, keyring_or_exit, sessionmaker_for, settings_or_exit
from app.crypto import holders
from app.db import end_reads
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
    # Issue 27: an account that may work on cases gets its key pair now, sealed under this password.
    user_id = uuid.uuid4()
    pair = holders.new_key_pair(user_id, body.password, keys.argon2_params(settings)) \
        if keys.needs_key_pair(body.roles) else None
    try:
        with sessions() as session, session.begin():
            user = service.create_user(
                session, Passwords(settings), email=str(body.email), name=body.name, roles=body.roles,
                password=body.password, by=Actor.system("create-user"), pair=pair, user_id=user_id,
            )
            flows.finish(session)
            typer.echo(f"created {user.email} ({', '.join(r.value for r in user.roles)})")
            if pair is not None:
                _show_recovery_key(pair.recovery_key)
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
            user, recovery = service.set_password(session, Passwords(settings), email=email, password=password,
                                                  by=Actor.system("set-password"), settings=settings)
            flows.finish(session)
            typer.echo(f"password set for {user.email}; every session of the account has ended")
            if recovery is not None:
                typer.echo("the account has a new key pair and holds no case key until a holder grants access")
                _show_recovery_key(recovery)
    except AppError as exc:
        fail(exc.detail)
    except Exception as exc:  # noqa: BLE001
        database_error(exc, "set the password")


def _show_recovery_key(recovery: str) -> None:
    typer.echo(f"recovery key (shown once; give it to the account's owner to keep): {recovery}")


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


@commands.command("seal-cases")
def seal_cases(
    as_: Annotated[str, typer.Option("--as", help="The e-mail address of the safeguarding user sealing the cases.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read their password from standard input.")]
    = False,
) -> None:
    """Wrap every case key to the accounts that hold key pairs (safeguarding users not excluded from
    the case, its HR contact) and delete its master-key wrap: from then on the key ring alone opens
    no case. Older safeguarding-only notes move first under their case's safeguarding-only key,
    which only safeguarding users hold. Run by a safeguarding user with their own password; safe to
    run again (in a deployment sealed before the safeguarding-only key existed, running it again
    moves the older notes of the cases the runner holds). Audited."""
    settings = settings_or_exit()
    if not password_stdin:
        fail("give --password-stdin and the password on standard input")
    password = sys.stdin.readline().rstrip("\r\n")
    ring = keyring_or_exit(settings)
    sessions = sessionmaker_for(settings, ring)
    try:
        with sessions() as session:
            user = service.user_by_email(session, as_)
            user_id, stored = user.id, user.password_hash
            key, needs = keys.at_rest(session, user_id)
            end_reads(session)
            if not Passwords(settings).verify(stored, password):
                fail("the password is not right")
            unlocked = keys.unlock(user_id, key, needs, password, settings)
            if unlocked is None:
                fail(f"{as_} may not read cases")
            with session.begin():
                user = service.user_by_id(session, user_id)
                if unlocked.new is not None:
                    keys.store_new(session, user=user, pair=unlocked.new)
                    typer.echo(f"made a key pair for {user.email}; recovery key (shown once, keep it safe): "
                               f"{unlocked.new.recovery_key}")
                holders.hold(session, user_id, unlocked.private)
                moved, notes = flows.seal_cases(session, ring, user=user)
                flows.finish(session)
            typer.echo(f"sealed: {moved} case key(s) moved from the key ring to people's keys; "
                       "new cases are wrapped only to certified safeguarding users")
            if notes.notes or notes.left:
                typer.echo(f"safeguarding-only notes: {notes.notes} older note(s) on {len(notes.cases)} case(s) moved "
                           "under their cases' safeguarding-only keys"
                           + (f"; {notes.left} case(s) with such notes are not yours to open: a safeguarding user "
                              "who holds them runs seal-cases again" if notes.left else ""))
    except AppError as exc:
        fail(exc.detail)
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001
        database_error(exc, "seal the cases")
