"""What staff see of a case before it becomes a response: pure data and date arithmetic."""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.auth.models import User
from app.cases.models import Case
from app.enums import Risk, Status

ACKNOWLEDGE_WITHIN = timedelta(days=7)
FEEDBACK_WITHIN_MONTHS = 3


def add_months(at: datetime, months: int) -> datetime:
    """Calendar months, clipped to the month's last day (31 Nov -> 30 Nov)."""
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


def add_years(day: date, years: int) -> date:
    """29 February becomes 28 February in a year that has none."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class Deadlines:
    acknowledge_by: datetime
    acknowledgement_overdue: bool
    feedback_due: datetime
    feedback_overdue: bool


def deadlines(case: Case, *, last_staff_message_at: datetime | None, now: datetime) -> Deadlines:
    """The EU Whistleblowing Directive's deadlines (docs/casework.md, "Deadlines").

    Each staff message restarts the 3-month feedback clock; closed cases are never overdue.
    """
    acknowledge_by = case.received_at + ACKNOWLEDGE_WITHIN
    if case.acknowledged_at is None:
        last_word = acknowledge_by
    else:
        last_word = max(case.acknowledged_at, last_staff_message_at or case.acknowledged_at)
    feedback_due = add_months(last_word, FEEDBACK_WITHIN_MONTHS)
    is_open = case.status is not Status.CLOSED
    return Deadlines(
        acknowledge_by=acknowledge_by,
        acknowledgement_overdue=is_open and case.acknowledged_at is None and now > acknowledge_by,
        feedback_due=feedback_due,
        feedback_overdue=is_open and now > feedback_due,
    )


@dataclass(frozen=True)
class CaseRow:
    """A case as listed: no decrypted content."""

    case: Case
    hr_contact: User | None
    deadlines: Deadlines
    # Open, with a referral not completed by its due date (app.cases.referrals).
    referral_overdue: bool = False
    # The safeguarding user who owns the case (None: nobody has taken it).
    owner: User | None = None

    @property
    def possible_risk(self) -> bool:
        """Open, with risk words that came in since a person last set the risk (app.cases.risk)."""
        return self.case.status is not Status.CLOSED and self.case.risk_flagged_at is not None

    @property
    def untriaged(self) -> bool:
        """New and not yet triaged: always needs someone's attention."""
        return self.case.status is Status.RECEIVED

    @property
    def needs_new_hr_contact(self) -> bool:
        """Open, and its HR contact's account has been deactivated: safeguarding must assign another."""
        return self.case.status is not Status.CLOSED and self.hr_contact is not None and not self.hr_contact.active

    @property
    def needs_new_owner(self) -> bool:
        """Open, and its owner's account has been deactivated: another safeguarding user must take it."""
        return self.case.status is not Status.CLOSED and self.owner is not None and not self.owner.active


@dataclass(frozen=True)
class CaseFilter:
    """What a case list is narrowed to (every field optional; all given must hold)."""

    statuses: tuple[Status, ...] = ()
    theme: str | None = None
    risk: Risk | None = None
    hr_contact: uuid.UUID | None = None
    unassigned: bool = False
    needs_new_hr_contact: bool = False
    overdue: bool = False
    # Cases (open or closed) with a referral not yet marked complete.
    open_referral: bool = False
    reference: str | None = None
    # Words to find inside the cases (app.cases.search): never stored, never logged.
    search: str | None = None
    owner: uuid.UUID | None = None
    no_owner: bool = False
    needs_new_owner: bool = False
    # The queue shows the newest first (after the urgent ones); the API lists the oldest first.
    newest_first: bool = False
    # The queue's order on a real day: open cases with possible risk (urgent, or risk words a
    # person has not yet looked at) first, then the other open cases, the oldest waiting first,
    # then closed cases, the most recent first. Overrides `newest_first`.
    attention_first: bool = False


@dataclass(frozen=True)
class CaseContent:
    """The decrypted parts of a case (all None once it has been purged)."""

    description: str | None
    reporter: dict[str, str | None] | None
    summary: str | None
    # The words that raised the "possible risk" flag (app.cases.risk), oldest first.
    risk_signals: tuple[str, ...] = ()
    # The suggester's themes made at intake (sealed under the case's key), never applied without a person.
    suggested_themes: tuple[str, ...] = ()
    # Issue 27: False when the reader holds no key to the case (the content above is then None).
    access: bool = True
