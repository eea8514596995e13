"""Security notices by e-mail about staff accounts; never a password, code or case content.

`record` keeps a notice with the transaction; `app.flows.finish` writes it to the outbox in the
same commit, so a notice exists only if its action was committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.auth.models import User, holders
from app.auth.permissions import CASE_READING_ROLES, ROLES, Capability
from app.db import PENDING_NOTICES, transaction_info
from app.enums import Role


@dataclass(frozen=True)
class Notice:
    kind: str
    to: tuple[str, ...]
    subject: str
    body: str


def record(session: Session, notice: Notice) -> None:
    """Send `notice` once the transaction commits (see the module's docstring)."""
    if notice.to:
        transaction_info(session).setdefault(PENDING_NOTICES, []).append(notice)


def take(session: Session) -> list[Notice]:
    """The notices recorded in this transaction, handed over once (to `app.notify.account_notices`)."""
    if not session.in_transaction():
        return []
    taken: list[Notice] = transaction_info(session).pop(PENDING_NOTICES, [])
    return taken


# --- who is told ------------------------------------------------------------------------------------


def safeguarding_addresses(session: Session) -> list[str]:
    """Every active safeguarding user: they are told whenever someone may start reading cases."""
    rows = session.scalars(
        select(User.email)
        .where(User.active.is_(True), User.id.in_(holders(Capability.READ_EVERY_CASE)))
        .order_by(User.email)
    )
    return list(rows)


def _to(*groups: Any) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in groups:
        for address in [group] if isinstance(group, str) else group:
            seen.setdefault(address, None)
    return tuple(seen)


def _when() -> str:
    return f"{clock.now():%d %B %Y at %H:%M} UTC"


_FOOTER = (
    "\n\nIf you did not expect this, tell the safeguarding lead and your IT security contact at once.\n"
    "This message was sent by Safe Share. It contains no case information."
)


# --- the notices --------------------------------------------------------------------------------------


def role_granted(session: Session, *, user: User, role: Role, by: str) -> Notice:
    subject = (f"Safe Share: {user.email} is now an administrator" if role == Role.ADMIN
               else f"Safe Share: {user.email} can now act as {role.value}")
    return Notice(
        kind="admin_granted" if role == Role.ADMIN else "role_granted",
        to=_to(safeguarding_addresses(session)),
        subject=subject,
        body=(f"{user.name} ({user.email}) was given the {role.value} role in Safe Share by {by} on {_when()}.\n"
              + ROLES[role].granted + _FOOTER),
    )


def role_removed(session: Session, *, user: User, role: Role, by: str) -> Notice:
    return Notice(
        kind="role_removed",
        to=_to(safeguarding_addresses(session)),
        subject=f"Safe Share: {user.email} no longer acts as {role.value}",
        body=f"{user.name} ({user.email}) lost the {role.value} role in Safe Share, removed by {by} on {_when()}." + _FOOTER,
    )


def role_grant_requested(session: Session, *, user: User, roles: list[Role], by: str, days: int) -> Notice:
    names = " and ".join(r.value for r in roles)
    return Notice(
        kind="role_grant_requested",
        to=_to(safeguarding_addresses(session)),
        subject=f"Safe Share: confirm or cancel: {user.email} to act as {names}",
        body=(
            f"{by} asked on {_when()} to give {user.name} ({user.email}) the {names} role in Safe Share.\n"
            "It takes effect only when a safeguarding user other than the requester confirms it "
            f"(Safe Share, Waiting for a second person); it lapses after {days} days. If you did not expect it, "
            "cancel it there." + _FOOTER
        ),
    )


def password_reset_requested(session: Session, *, user: User, by: str, days: int) -> Notice:
    return Notice(
        kind="password_reset_requested",
        to=_to(user.email, safeguarding_addresses(session)),
        subject=f"Safe Share: confirm or cancel: a password reset for {user.email}",
        body=(
            f"{by} asked on {_when()} to reset the password of {user.name} ({user.email}), an account that "
            "has read concerns in the last 90 days. Every session of the account was ended.\n"
            "It takes effect only when a safeguarding user other than the requester confirms it; the one-time "
            f"password is then shown to that safeguarding user, not to the requester. It lapses after {days} days."
            + _FOOTER
        ),
    )


def enrolment(*, user: User, link: str, hours: int) -> Notice:
    """The one notice that carries a secret: the single-use link to the owner's own mailbox."""
    return Notice(
        kind="enrolment",
        to=(user.email,),
        subject="Safe Share: choose your password",
        body=(
            f"Choose your own password for your Safe Share account ({user.email}), made for you or about to be given "
            f"a new role. The link works once, for {hours} hours:\n\n{link}\n\nThen sign in, and set up two-factor sign-in if asked. Nobody "
            "else is told this link; do not forward it.\n\nIf you did not expect this, tell the safeguarding lead "
            "and your IT security contact at once.\nThis message was sent by Safe Share. It contains no case "
            "information."
        ),
    )


def password_reset(session: Session, *, user: User, by: str, tell_safeguarding: bool = False,
                   one_time: bool = True) -> Notice:
    reads_cases = tell_safeguarding or user.has(*CASE_READING_ROLES)
    given = ("The new one-time password was given to the person who made the reset, not sent by e-mail; it must "
             "be changed at the next sign-in." if one_time else "The password was set from the server's command line.")
    return Notice(
        kind="password_reset",
        to=_to(user.email, safeguarding_addresses(session) if reads_cases else []),
        subject=f"Safe Share: the password of {user.email} was reset",
        body=(
            f"The password of {user.name} ({user.email}) was reset by {by} on {_when()}.\n"
            "Every session of the account was ended. " + given + _FOOTER
        ),
    )


def password_recovered(session: Session, *, user: User) -> Notice:
    """Whoever holds someone's recovery key and second factor could take the account over: its owner,
    and for a case-reading account the safeguarding users, hear of every recovery at once."""
    return Notice(
        kind="password_recovered",
        to=_to(user.email, safeguarding_addresses(session) if user.has(*CASE_READING_ROLES) else []),
        subject=f"Safe Share: {user.email} set a new password with their recovery key",
        body=(
            f"The password of {user.name} ({user.email}) was replaced on {_when()} by someone who entered the "
            "account's recovery key and a two-factor code; nobody else was involved. Every session of the account "
            "was ended, and its recovery key was replaced by a new one." + _FOOTER
        ),
    )


def totp_reset(session: Session, *, user: User, by: str, awaiting_confirmation: bool,
               tell_safeguarding: bool = False) -> Notice:
    if awaiting_confirmation:
        what = (
            f"{by} asked on {_when()} to reset the two-factor sign-in of {user.name} ({user.email}).\n"
            "It takes effect only when a safeguarding user other than the requester confirms it. "
            "Every session of the account was ended."
        )
    else:
        what = (
            f"The two-factor sign-in of {user.name} ({user.email}) was reset by {by} on {_when()}.\n"
            "Every session of the account was ended; the account must set up two-factor sign-in again."
        )
    reads_cases = tell_safeguarding or user.has(*CASE_READING_ROLES)
    return Notice(
        kind="totp_reset_requested" if awaiting_confirmation else "totp_reset",
        to=_to(user.email, safeguarding_addresses(session) if reads_cases else []),
        subject=f"Safe Share: two-factor sign-in reset for {user.email}",
        body=what + _FOOTER,
    )
