"""`safeshare seal-cases`: an existing deployment moves to keys only people hold (issue 27)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from app.auth import keys as person_keys
from app.auth import service as auth
from app.auth.passwords import Passwords
from app.cases import keyholders
from app.commandline import database_error, fail, keyring_or_exit, sessionmaker_for, settings_or_exit
from app.crypto import holders
from app.db import end_reads
from app.errors import AppError

commands = typer.Typer()


@commands.command("seal-cases")
def seal_cases(
    as_: Annotated[str, typer.Option("--as", help="The e-mail address of the safeguarding user sealing the cases.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read their password from standard input.")]
    = False,
) -> None:
    """Wrap every case key to the accounts that hold key pairs (safeguarding users not excluded from
    the case, its HR contact) and delete its master-key wrap: from then on the key ring alone opens
    no case. Run by a safeguarding user with their own password; safe to run again. Audited."""
    settings = settings_or_exit()
    if not password_stdin:
        fail("give --password-stdin and the password on standard input")
    password = sys.stdin.readline().rstrip("\r\n")
    ring = keyring_or_exit(settings)
    sessions = sessionmaker_for(settings, ring)
    try:
        with sessions() as session:
            user = auth.user_by_email(session, as_)
            user_id, stored = user.id, user.password_hash
            key, needs = person_keys.at_rest(session, user_id)
            end_reads(session)
            if not Passwords(settings).verify(stored, password):
                fail("the password is not right")
            unlocked = person_keys.unlock(user_id, key, needs, password, settings)
            if unlocked is None:
                fail(f"{as_} may not read cases")
            with session.begin():
                user = auth.user_by_id(session, user_id)
                if unlocked.new is not None:
                    person_keys.store_new(session, user=user, pair=unlocked.new)
                    typer.echo(f"made a key pair for {user.email}; recovery key (shown once, keep it safe): "
                               f"{unlocked.new.recovery_key}")
                holders.hold(session, user_id, unlocked.private)
                moved = keyholders.seal_cases(session, ring, by=user)
            typer.echo(f"sealed: {moved} case key(s) moved from the key ring to people's keys; "
                       "new cases are wrapped only to certified safeguarding users")
    except AppError as exc:
        fail(exc.detail)
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001
        database_error(exc, "seal the cases")
