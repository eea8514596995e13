"""Account and key commands run from the shell (`create-user`, break-glass, `seal-cases`, `escrow`).

Above `app.flows` because each commits: `flows.finish` must write the security e-mails first.
"""

from __future__ import annotations

import sys
import uuid
from typing import Annotated

import typer
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from app import flows
from app.audit import service as audit
from app.audit.service import Actor
from app.auth import keys, service
from app.auth.models import User
from app.auth.passwords import Passwords
from app.auth.schemas import CommandUserCreate, NewPassword
from app.cases import keyholders
from app.commandline import PlainHelpGroup, database_error, fail, keyring_or_exit, sessionmaker_for, settings_or_exit
from app.config import Settings
from app.crypto import escrow, holders, people
from app.crypto.keyring import KeyRing
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
    which only safeguarding users hold. First, every case from before case locks that the runner
    opens gets its lock (a closed one under its retention day), its wraps re-made masked by it, a
    transaction per batch. Run by a safeguarding user with their own password; safe to run again
    (in a deployment sealed before the safeguarding-only key or case locks existed, running it
    again moves the older notes, and locks the cases, the runner holds). Audited."""
    settings = settings_or_exit()
    password = _password(password_stdin)
    ring = keyring_or_exit(settings)
    sessions = sessionmaker_for(settings, ring)
    try:
        with sessions() as session:
            user_id, unlocked = _unlock_as(session, settings, as_, password)
            locked = _lock_older_cases(session, ring, user_id, unlocked)
            with session.begin():
                user = _hold_as(session, user_id, unlocked)
                moved, notes = flows.seal_cases(session, ring, user=user)
                flows.finish(session)
            typer.echo(f"sealed: {moved} case key(s) moved from the key ring to people's keys; "
                       "new cases are wrapped only to certified safeguarding users")
            if locked.locked or locked.left:
                typer.echo(f"locked: {locked.locked} case(s) from before case locks now also need the key ring "
                           "(a closed one its retention day's key, which purge destroys)"
                           + (f"; {locked.left} such case(s) are not yours to open: a safeguarding user who holds "
                              "them runs seal-cases again" if locked.left else ""))
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


def _lock_older_cases(session: Session, ring: KeyRing, user_id: uuid.UUID,
                      unlocked: keys.Unlocked) -> keyholders.Locked:
    """Every case from before case locks this user opens gets one, a transaction per batch (before
    the seal, so the master wraps still open them all in a deployment not yet sealed)."""
    after, locked, left = None, 0, 0
    while True:
        with session.begin():
            holders.hold(session, user_id, unlocked.private)
            step = keyholders.lock_older_cases(session, ring, by=service.user_by_id(session, user_id), after=after)
            flows.finish(session)
        if step.last is None:
            return keyholders.Locked(locked, left, None)
        after, locked, left = step.last, locked + step.locked, left + step.left


def _password(password_stdin: bool) -> str:
    if not password_stdin:
        fail("give --password-stdin and the password on standard input")
    return sys.stdin.readline().rstrip("\r\n")


def _unlock_as(session: Session, settings: Settings, email: str, password: str) -> tuple[uuid.UUID, keys.Unlocked]:
    """A safeguarding user's private key opened with their password, as a sign-in would (slow: reads end first)."""
    user = service.user_by_email(session, email)
    user_id, stored = user.id, user.password_hash
    key, needs = keys.at_rest(session, user_id)
    end_reads(session)
    if not Passwords(settings).verify(stored, password):
        fail("the password is not right")
    unlocked = keys.unlock(user_id, key, needs, password, settings)
    if unlocked is None:
        fail(f"{email} may not read cases")
    return user_id, unlocked


def _hold_as(session: Session, user_id: uuid.UUID, unlocked: keys.Unlocked) -> User:
    """Inside the transaction: store a new key pair (its recovery key shown once), and act with the key."""
    user = service.user_by_id(session, user_id)
    if unlocked.new is not None:
        keys.store_new(session, user=user, pair=unlocked.new)
        typer.echo(f"made a key pair for {user.email}; recovery key (shown once, keep it safe): "
                   f"{unlocked.new.recovery_key}")
    holders.hold(session, user_id, unlocked.private)
    return user


# --- the escrow key (off by default) --------------------------------------------------------------------

escrow_commands = typer.Typer(help="The optional escrow key kept offline in two shares (off by default; see "
                                   "docs/operations.md, \"The escrow key\").", no_args_is_help=True,
                            cls=PlainHelpGroup, rich_markup_mode="markdown")
commands.add_typer(escrow_commands, name="escrow")

NO_ESCROW = "no escrow key is configured (escrow is off): `safeshare escrow create` turns it on"


def _say(message: str) -> None:
    """Everything but the shares goes to standard error: standard output carries the shares only."""
    typer.echo(message, err=True)


@escrow_commands.command("create")
def escrow_create() -> None:
    """The two-person ceremony: make an escrow key pair, keep its public key in the database, and
    print its private key once as two shares, for person A and person B (never stored, never
    logged). From now on every new case key, and every one `seal-cases`, a grant or an assignment
    touches, is also wrapped to it. Audited (`keys.escrow_created`, with its fingerprint)."""
    settings = settings_or_exit()
    sessions = sessionmaker_for(settings, keyring_or_exit(settings))
    ceremony = escrow.new_escrow_key()
    fingerprint = people.fingerprint(ceremony.public)
    try:
        with sessions() as session, session.begin():
            existing = holders.escrow_public(session)
            if existing is not None:
                fail(f"an escrow key already exists (fingerprint {people.fingerprint(existing)}): "
                     "`safeshare escrow remove --yes` first to replace it")
            holders.turn_escrow_on(session, public=ceremony.public)
            audit.record(session, Actor.system("escrow create"), "keys.escrow_created", target=fingerprint)
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001
        database_error(exc, "store the escrow key")
    _say(f"escrow is on: key {fingerprint}. Each person writes down their own share by hand now; it is shown "
         "once and kept nowhere else.")
    typer.echo(f"person A's share: {ceremony.share_a}")
    if sys.stdout.isatty():  # person B looks away until A's share is off the screen
        typer.prompt("person A: press Enter once you have written it down and checked it",
                     default="", show_default=False, err=True)
        typer.echo("\033[2J\033[3J\033[H", nl=False)
    typer.echo(f"person B's share: {ceremony.share_b}")
    if sys.stdout.isatty():
        typer.prompt("person B: press Enter once you have written it down and checked it",
                     default="", show_default=False, err=True)
        typer.echo("\033[2J\033[3J\033[H", nl=False)
    _say("cases sealed before now are not covered: each safeguarding holder runs "
         "`safeshare escrow cover --as EMAIL --password-stdin` to cover the cases they hold")


@escrow_commands.command("cover")
def escrow_cover(
    as_: Annotated[str, typer.Option("--as", help="The e-mail address of a safeguarding user who holds case keys.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read their password from standard input.")]
    = False,
) -> None:
    """Wrap every case key this safeguarding user holds to the escrow key: the cases sealed before
    escrow was turned on. Run by each holder with their own password; safe to run again. Audited."""
    settings = settings_or_exit()
    password = _password(password_stdin)
    sessions = sessionmaker_for(settings, keyring_or_exit(settings))
    try:
        with sessions() as session:
            if holders.escrow_public(session) is None:
                fail(NO_ESCROW)
            user_id, unlocked = _unlock_as(session, settings, as_, password)
            with session.begin():
                user = _hold_as(session, user_id, unlocked)
                covered = keyholders.cover_escrow(session, by=user)
                flows.finish(session)
        typer.echo(f"covered: {covered} more case key(s) wrapped to the escrow key")
    except AppError as exc:
        fail(exc.detail)
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001
        database_error(exc, "cover the cases")


def _read_shares() -> list[str]:
    """The two shares: typed in turn (hidden) on a terminal, else two lines of standard input."""
    if sys.stdin.isatty():
        return [typer.prompt(f"{who}: type your share (it is not shown)", hide_input=True, err=True)
                for who in ("first person", "second person")]
    return [sys.stdin.readline().strip() for _ in range(2)]


@escrow_commands.command("recover")
def escrow_recover(
    to: Annotated[str, typer.Option("--to", help="The e-mail address of the safeguarding user to recover the cases to.")],
) -> None:
    """The two people with the shares rebuild the escrow private key (never stored) and every
    escrowed case key is wrapped to this safeguarding user (active, with a key pair; a case they
    are excluded from is left out). For when every holder lost their keys. Audited
    (`keys.escrow_recovered`)."""
    settings = settings_or_exit()
    sessions = sessionmaker_for(settings, keyring_or_exit(settings))
    try:
        with sessions() as session:
            if holders.escrow_public(session) is None:
                fail(NO_ESCROW)
            service.user_by_email(session, to)
        texts = _read_shares()
        shares = [escrow.parse_share(text, which=which) for text, which in zip(texts, ("the first", "the second"),
                                                                                   strict=True)]
        with sessions() as session, session.begin():
            public = holders.escrow_public(session)
            if public is None:
                fail(NO_ESCROW)
            private = escrow.join(shares[0], shares[1], public)
            user = service.user_by_email(session, to)
            moved = keyholders.recover_from_escrow(session, private=private, to=user)
            flows.finish(session)
        typer.echo(f"recovered: {moved} case key(s) wrapped to {user.email}, who can grant them to others")
    except escrow.ShareError as exc:
        fail(f"{exc}; nothing was changed")
    except AppError as exc:
        fail(exc.detail)
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001
        database_error(exc, "recover the cases")


@escrow_commands.command("remove")
def escrow_remove(
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: the escrow key and every wrap to it are deleted.")]
    = False,
) -> None:
    """Turn escrow off: delete the escrow public key and every case key wrapped to it; the two
    shares then open nothing (destroy them). Audited (`keys.escrow_removed`)."""
    settings = settings_or_exit()
    if not yes:
        fail("give --yes to delete the escrow key and every case key wrapped to it")
    sessions = sessionmaker_for(settings, keyring_or_exit(settings))
    try:
        with sessions() as session, session.begin():
            if holders.escrow_public(session) is None:
                fail(NO_ESCROW)
            gone = holders.turn_escrow_off(session)
            audit.record(session, Actor.system("escrow remove"), "keys.escrow_removed", target=str(gone))
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001
        database_error(exc, "remove the escrow key")
    typer.echo(f"escrow is off: deleted the escrow key and {gone} case key wrap(s) to it; destroy both shares")
