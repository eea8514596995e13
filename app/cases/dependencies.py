"""Dependencies that load *and* authorise a case: the route gets a Case the caller may act on."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from app.cases import access
from app.cases.models import Case
from app.dependencies import CaseWorker, DbSession, Safeguarding


def _visible_case(case_id: uuid.UUID, user: CaseWorker, session: DbSession) -> Case:
    return access.get_case(session, user, case_id)


def _case_to_work_on(case_id: uuid.UUID, user: CaseWorker, session: DbSession) -> Case:
    # Row-locked on PostgreSQL so two changes to one case never interleave.
    return access.get_case(session, user, case_id, for_update=True)


def _case_to_triage(case_id: uuid.UUID, user: Safeguarding, session: DbSession) -> Case:
    # The role is checked before the case is looked up: an HR user gets 403 here, never a hint
    # about whether the case exists.
    return access.get_case(session, user, case_id, for_update=True)


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
