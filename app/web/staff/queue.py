"""The queue (`/staff/cases`): the cases a safeguarding officer or HR contact may see, newest
and most urgent first, with the deadlines, the next check-in and unread messages from reporters.

The same query and the same rules as `GET /api/v1/cases` (`app.cases.service.list_cases`):
an HR contact sees only their own cases, nobody sees a case they are excluded from.
"""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app import clock
from app.auth import service as auth
from app.auth.models import User
from app.cases import service as cases
from app.checkins import service as checkins
from app.enums import Risk, Role, Status
from app.errors import Invalid
from app.http.cases import case_filter
from app.http.state import Sessions
from app.http.transactions import CommitInThreadRoute, DbSession, record_refusal
from app.http.users import CaseWorker, CurrentUser
from app.themes import service as themes
from app.web.navigation import home_for
from app.web.pages import plain
from app.web.staff.common import staff_page

router = APIRouter(include_in_schema=False, route_class=CommitInThreadRoute)

PAGE_SIZE = 25
STATUS_LABELS = {
    Status.RECEIVED.value: "New",
    Status.TRIAGED.value: "Triaged",
    Status.IN_PROGRESS.value: "With HR contact",
    Status.CLOSED.value: "Closed",
}


NOTICES = {
    "reset_confirmed": "Two-factor reset confirmed: it is in effect now. The person sets it up again at their next "
                       "sign-in.",
    "excluded": "Exclusion recorded. You excluded yourself, so the case is no longer in your list.",
}


def _resets_to_confirm(session: DbSession, user: User) -> list[tuple[Any, User, User | None]]:
    """Two-factor resets of case-reading accounts waiting for a safeguarding user other than the
    requester and the owner: (reset, account, requester)."""
    people = {u.id: u for u in auth.list_users(session)}
    return [
        (r, people[r.user_id], people.get(r.requested_by_id) if r.requested_by_id else None)
        for r in auth.waiting_totp_resets(session)
        if r.user_id in people and user.id not in (r.user_id, r.requested_by_id)
    ]


@router.get("/staff", response_class=HTMLResponse)
def staff_home(user: CurrentUser) -> Response:
    """Where each role starts."""
    return RedirectResponse(home_for(user.roles), status_code=303)


def _choice(value: str, options: type[Status] | type[Risk]) -> Any:
    """A select's or checkbox's value as the browser sends it: "" is "any"; anything else must be an option."""
    value = value.strip()
    if not value:
        return None
    try:
        return options(value)
    except ValueError:
        raise Invalid("Choose one of the options in the list.") from None


@router.get("/staff/cases", response_class=HTMLResponse)
def queue(
    request: Request,
    user: CaseWorker,
    session: DbSession,
    makers: Sessions,
    # Every parameter is taken as text, as the browser's own form sends it (an untouched select
    # is an empty string), and read here: a hand-edited address gets the page with a message.
    status: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    theme: Annotated[str, Query()] = "",
    risk: Annotated[str, Query()] = "",
    hr_contact: Annotated[str, Query()] = "",
    overdue: Annotated[str, Query()] = "",
    open_referral: Annotated[str, Query()] = "",
    reference: Annotated[str, Query()] = "",
    owner: Annotated[str, Query()] = "",
    page: Annotated[str, Query()] = "1",
) -> Response:
    """The queue, with filters and a search by the reference a reporter quotes."""
    error = None
    status, theme, risk, hr_contact, reference = status[:10], theme[:64], risk[:20], hr_contact[:40], reference[:40]
    page_no = int(page) if page.isdigit() and 1 <= int(page) <= 100_000 else 1
    flag_overdue = overdue.strip().lower() in ("true", "on", "yes", "1")
    flag_referral = open_referral.strip().lower() in ("true", "on", "yes", "1")
    try:
        chosen = [s for s in (_choice(v, Status) for v in status) if s is not None]
        level = _choice(risk, Risk)
        filters = case_filter(status=chosen, theme=theme.strip() or None, hr_contact=hr_contact.strip() or None,
                              risk=level, overdue=flag_overdue, reference=reference, open_referral=flag_referral,
                              attention_first=True, owner=owner.strip()[:40] or None, me=user)
    except Invalid as exc:
        error = plain(exc.detail)
        chosen, level = [], None
        filters = case_filter(status=[], theme=None, hr_contact=None, risk=None, overdue=False, reference=None,
                              attention_first=True)
    rows, total = cases.list_cases(
        session, user=user, filters=filters, page=page_no, page_size=PAGE_SIZE,
        also_overdue=checkins.overdue_clause(),
    )
    if filters.reference is not None and total == 1 and page_no == 1:
        return RedirectResponse(f"/staff/cases/{rows[0].case.id}", status_code=303)
    if filters.reference is not None and total == 0:
        refused = cases.refused_search(session, user=user, reference=filters.reference)
        if refused is not None:  # "not found", as for anyone, but the safeguarding team sees the attempt
            record_refusal(makers, refused)
    ids = [r.case.id for r in rows]
    next_due = checkins.next_due_by_case(session, case_ids=ids)
    today = clock.today()
    query: dict[str, Any] = {
        "status": [s.value for s in chosen], "theme": filters.theme or "", "risk": level.value if level else "",
        "hr_contact": hr_contact.strip() if not error else "", "overdue": "true" if filters.overdue else "",
        "open_referral": "true" if filters.open_referral else "", "reference": filters.reference or "",
        "owner": owner.strip()[:40] if not error else "",
    }
    kept = {k: v for k, v in query.items() if v}
    pages = max(1, math.ceil(total / PAGE_SIZE))
    ctx = {
        "rows": rows,
        "total": total,
        "page": page_no,
        "pages": pages,
        "next_due": next_due,
        "unread": cases.unread_by(session, user=user, case_ids=ids),
        "overdue_check_ins": {case_id for case_id, due in next_due.items() if due < today},
        "unsuitable": checkins.unsuitable_support(session, case_ids=ids),
        "filters": query,
        "filtered": bool(kept),
        "page_link": lambda n: "/staff/cases?" + urlencode({**kept, "page": n}, doseq=True),
        "themes": themes.list_themes(session),
        "contacts": [u for u in auth.list_users(session, role=Role.HR)] if user.has(Role.SAFEGUARDING) else [],
        "owners": auth.list_users(session, role=Role.SAFEGUARDING) if user.has(Role.SAFEGUARDING) else [],
        "status_labels": STATUS_LABELS,
        "statuses": list(Status),
        "error": error,
        "searched": filters.reference,
        "resets": _resets_to_confirm(session, user) if user.has(Role.SAFEGUARDING) else [],
        "refusals": cases.recent_refusals(session, user=user) if user.has(Role.SAFEGUARDING) else [],
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    return staff_page(request, "staff/queue.html", ctx, status_code=422 if error else 200)
