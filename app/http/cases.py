"""The case a staff route works on, loaded *and* authorised, and the case list's filter."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from app.auth.models import User
from app.cases import access, search
from app.cases.models import Case
from app.cases.views import CaseFilter
from app.enums import Risk, Status
from app.errors import Invalid, NotFound, raises
from app.http.transactions import DbSession
from app.http.users import (
    CaseWorker,
    Safeguarding,
)


@raises(NotFound)
def _visible_case(case_id: uuid.UUID, user: CaseWorker, session: DbSession) -> Case:
    return access.get_case(session, user, case_id)


@raises(NotFound)
def _case_to_work_on(case_id: uuid.UUID, user: CaseWorker, session: DbSession) -> Case:
    # Row-locked on PostgreSQL so two changes to one case never interleave.
    return access.get_case(session, user, case_id, for_update=True)


@raises(NotFound)
def _case_to_triage(case_id: uuid.UUID, user: Safeguarding, session: DbSession) -> Case:
    # The role is checked before the case is looked up: an HR user gets 403 here, never a hint
    # about whether the case exists.
    return access.get_case(session, user, case_id, for_update=True)


@raises(NotFound)
def _case_for_safeguarding(case_id: uuid.UUID, user: Safeguarding, session: DbSession) -> Case:
    return access.get_case(session, user, case_id)


VisibleCase = Annotated[Case, Depends(_visible_case)]
"""Safeguarding, or the assigned HR contact; 404 for anyone else who may see cases at all."""

WorkCase = Annotated[Case, Depends(_case_to_work_on)]
"""As VisibleCase, locked for a change."""

SafeguardingCase = Annotated[Case, Depends(_case_for_safeguarding)]
"""Safeguarding only (403 for HR), for reading."""

TriageCase = Annotated[Case, Depends(_case_to_triage)]
"""Safeguarding only (403 for HR), locked for a change."""


def case_filter(
    *, status: list[Status], theme: str | None, hr_contact: str | None, risk: Risk | None, overdue: bool,
    reference: str | None, newest_first: bool = False, open_referral: bool = False, attention_first: bool = False,
    owner: str | None = None, me: User | None = None, q: str | None = None,
) -> CaseFilter:
    """The list's query parameters as a filter (the queue page reads the same ones)."""
    contact_id: uuid.UUID | None = None
    if hr_contact not in (None, "", "none", "inactive"):
        try:
            contact_id = uuid.UUID(hr_contact)
        except ValueError:
            raise Invalid("Choose an HR contact from the list (`hr_contact`: a user id, `none` or `inactive`).",
                          field="hr_contact") from None
    owner_id: uuid.UUID | None = None
    if owner == "me" and me is not None:
        owner_id = me.id
    elif owner not in (None, "", "none", "inactive"):
        try:
            owner_id = uuid.UUID(owner)
        except ValueError:
            raise Invalid("Choose an owner from the list (`owner`: `me`, a user id, `none` or `inactive`).",
                          field="owner") from None
    words = q.strip() if q and q.strip() else None
    if words is not None and not search.stems_of(words):
        raise Invalid("Type at least one word to search for (letters or digits).", field="q")
    return CaseFilter(
        search=words, owner=owner_id, no_owner=owner == "none", needs_new_owner=owner == "inactive",
        statuses=tuple(status), theme=theme or None, risk=risk, hr_contact=contact_id,
        unassigned=hr_contact == "none", needs_new_hr_contact=hr_contact == "inactive", overdue=overdue,
        reference=reference.strip() if reference and reference.strip() else None, newest_first=newest_first,
        open_referral=open_referral, attention_first=attention_first,
    )
