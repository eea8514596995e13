"""The queue (`/staff/cases`): the same query as `GET /api/v1/cases`, with deadlines and unread messages."""

from __future__ import annotations

import math
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app import clock
from app.auth import service as auth
from app.auth.models import User
from app.cases import service as cases
from app.checkins import service as checkins
from app.crypto.keyring import KeyRing
from app.db import attempt
from app.enums import Risk, Role, Status
from app.errors import AppError, Invalid, NotFound
from app.http.cases import case_filter
from app.http.state import Keys, Sessions
from app.http.transactions import CommitInThreadRoute, DbSession, record_refusal
from app.http.users import CaseWorker, CurrentUser
from app.labels import STATUS_LABELS
from app.saved_views import service as saved_views
from app.saved_views.models import SavedView
from app.saved_views.schemas import SavedViewIn, ViewFilters
from app.themes import service as themes
from app.web.navigation import home_for
from app.web.pages import plain
from app.web.staff.common import csrf_refused, done, staff_page

router = APIRouter(include_in_schema=False, route_class=CommitInThreadRoute)

PAGE_SIZE = 25


NOTICES = {
    "reset_confirmed": "Two-factor reset confirmed: it is in effect now. The person sets it up again at their next "
                       "sign-in.",
    "excluded": "Exclusion recorded. You excluded yourself, so the case is no longer in your list.",
    "view_saved": "View saved. Pick it from your saved views to come back to it.",
    "view_deleted": "Saved view removed.",
}


def _resets_to_confirm(session: DbSession, user: User, everyone: list[User]) -> list[tuple[Any, User, User | None]]:
    """Two-factor resets waiting for this safeguarding user: (reset, account, requester)."""
    people = {u.id: u for u in everyone}
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
    keys: Keys,
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
    q: Annotated[str, Query()] = "",
    view: Annotated[str, Query()] = "",
    page: Annotated[str, Query()] = "1",
) -> Response:
    """The queue with filters and searches; `view=<id>` a saved view, no parameters the default view."""
    chosen_view = _view_id(view)
    if chosen_view is not None:
        row, words = saved_views.get(session, keys, user_id=user.id, view_id=chosen_view)
        return RedirectResponse(view_url(row, words), status_code=303)
    views = None
    if not request.query_params:
        views = saved_views.list_views(session, keys, user_id=user.id)  # the page lists them too
        default = next((v for v in views if v[0].is_default), None)
        if default is not None:
            return RedirectResponse(view_url(*default), status_code=303)
    return _queue(request, user, session, makers, keys, status=status, theme=theme, risk=risk, hr_contact=hr_contact,
                  overdue=overdue, open_referral=open_referral, reference=reference, owner=owner, q=q, page=page,
                  views=views)


def _view_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip()) if value.strip() else None
    except ValueError:
        raise NotFound("No such saved view.") from None


def view_url(row: SavedView, words: str | None) -> str:
    """The queue's address for a saved view (`saved` says which, for the page's own list)."""
    params = {**ViewFilters.model_validate(row.filters).query(), **({"q": words} if words else {}), "saved": str(row.id)}
    return "/staff/cases?" + urlencode(params, doseq=True)


def _queue(
    request: Request, user: User, session: DbSession, makers: Sessions, keys: KeyRing, *, status: list[str],
    theme: str, risk: str, hr_contact: str, overdue: str, open_referral: str, reference: str, owner: str, q: str,
    page: str, save_error: str | None = None, save_name: str = "", status_code: int = 200,
    views: list[tuple[SavedView, str | None]] | None = None,
) -> Response:
    error = None
    status, theme, risk, hr_contact, reference = status[:10], theme[:64], risk[:20], hr_contact[:40], reference[:40]
    q = q[:200]
    page_no = int(page) if page.isdigit() and 1 <= int(page) <= 100_000 else 1
    flag_overdue = overdue.strip().lower() in ("true", "on", "yes", "1")
    flag_referral = open_referral.strip().lower() in ("true", "on", "yes", "1")
    try:
        chosen = [s for s in (_choice(v, Status) for v in status) if s is not None]
        level = _choice(risk, Risk)
        filters = case_filter(status=chosen, theme=theme.strip() or None, hr_contact=hr_contact.strip() or None,
                              risk=level, overdue=flag_overdue, reference=reference, open_referral=flag_referral,
                              attention_first=True, owner=owner.strip()[:40] or None, me=user, q=q)
    except Invalid as exc:
        error = plain(exc.detail)
        chosen, level = [], None
        filters = case_filter(status=[], theme=None, hr_contact=None, risk=None, overdue=False, reference=None,
                              attention_first=True)
    # Every account at once for safeguarding (the filters and the resets list them); the rows' HR
    # contacts and owners then come from the session's identity map, not another query.
    everyone = auth.list_users(session) if user.has(Role.SAFEGUARDING) else []
    rows, total = cases.list_cases(
        session, user=user, filters=filters, page=page_no, page_size=PAGE_SIZE,
        also_overdue=checkins.overdue_clause(), ring=keys,
    )
    if filters.reference is not None and total == 1 and page_no == 1:
        return RedirectResponse(f"/staff/cases/{rows[0].case.id}", status_code=303)
    if filters.reference is not None and total == 0:
        refused = cases.refused_search(session, user=user, reference=filters.reference)
        if refused is not None:  # "not found", as for anyone, but the safeguarding team sees the attempt
            record_refusal(makers, refused)
    ids = [r.case.id for r in rows]
    next_due, unsuitable = checkins.marks_by_case(session, cases=[r.case for r in rows])
    today = clock.today()
    query: dict[str, Any] = {
        "status": [s.value for s in chosen], "theme": filters.theme or "", "risk": level.value if level else "",
        "hr_contact": hr_contact.strip() if not error else "", "overdue": "true" if filters.overdue else "",
        "open_referral": "true" if filters.open_referral else "", "reference": filters.reference or "",
        "owner": owner.strip()[:40] if not error else "", "q": filters.search or "",
    }
    kept = {k: v for k, v in query.items() if v}
    if views is None:
        views = saved_views.list_views(session, keys, user_id=user.id)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    ctx = {
        "rows": rows,
        "total": total,
        "page": page_no,
        "pages": pages,
        "next_due": next_due,
        "unread": cases.unread_by(session, user=user, case_ids=ids),
        "overdue_check_ins": {case_id for case_id, due in next_due.items() if due < today},
        "unsuitable": unsuitable,
        "filters": query,
        "filtered": bool(kept),
        # The filters a search inside the cases keeps (as the filter form keeps the search).
        "kept_without_q": [(k, item) for k, v in kept.items() if k not in ("q", "reference")
                           for item in (v if isinstance(v, list) else [v])],
        "page_link": lambda n: "/staff/cases?" + urlencode({**kept, "page": n}, doseq=True),
        "themes": themes.list_themes(session),
        "contacts": [u for u in everyone if u.has(Role.HR)],
        "owners": [u for u in everyone if u.has(Role.SAFEGUARDING)],
        "status_labels": STATUS_LABELS,
        "statuses": list(Status),
        "error": error,
        "searched": filters.reference,
        "resets": _resets_to_confirm(session, user, everyone) if user.has(Role.SAFEGUARDING) else [],
        "refusals": cases.recent_refusals(session, user=user) if user.has(Role.SAFEGUARDING) else [],
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "views": views,
        "has_default": any(v.is_default for v, _ in views),
        "saved": request.query_params.get("saved", ""),
        "save_fields": [(k, item) for k, v in kept.items() if k != "reference"
                        for item in (v if isinstance(v, list) else [v])],
        "save_error": save_error,
        "save_name": save_name,
    }
    return staff_page(request, "staff/queue.html", ctx, status_code=422 if error else status_code)


@router.post("/staff/views", response_class=HTMLResponse)
def save_view(
    request: Request, user: CaseWorker, session: DbSession, makers: Sessions, keys: Keys,
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
    name: Annotated[str, Form()] = "",
    default: Annotated[str, Form()] = "",
    status: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    theme: Annotated[str, Form()] = "",
    risk: Annotated[str, Form()] = "",
    hr_contact: Annotated[str, Form()] = "",
    overdue: Annotated[str, Form()] = "",
    open_referral: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
    q: Annotated[str, Form()] = "",
) -> Response:
    """Save the queue as it is shown under a name: `POST /api/v1/me/views` (offered on the queue)."""
    if (refused := csrf_refused(request, csrf, "/staff/cases")) is not None:
        return refused
    problem, code = None, 422
    try:
        body = SavedViewIn.model_validate({
            "name": name, "default": default.strip().lower() in ("true", "on", "yes", "1"), "q": q.strip() or None,
            "filters": {"status": [v for v in status if v.strip()], "theme": theme.strip() or None,
                        "risk": risk.strip() or None, "hr_contact": hr_contact.strip() or None,
                        "owner": owner.strip() or None, "overdue": overdue.strip().lower() in ("true", "on", "yes", "1"),
                        "open_referral": open_referral.strip().lower() in ("true", "on", "yes", "1")}})
        with attempt(session):
            row = saved_views.create(session, keys, user_id=user.id, name=body.name,
                                     filters=body.filters.model_dump(mode="json"), q=body.q, default=body.default,
                                     by=auth.actor(user))
    except ValidationError as exc:
        first = exc.errors()[0]
        problem = "Give the view a name (up to 200 characters)." if first["loc"][:1] == ("name",) else \
            "The filters shown could not be saved: choose them again from the lists."
    except AppError as exc:
        problem, code = plain(exc.detail), exc.status
    if problem is not None:
        return _queue(request, user, session, makers, keys, page="1", reference="", save_error=problem,
                      save_name=name[:200], status_code=code, status=status[:10], theme=theme[:64], risk=risk[:20],
                      hr_contact=hr_contact[:40], overdue=overdue, open_referral=open_referral, owner=owner[:40],
                      q=q[:200])
    return RedirectResponse(view_url(row, body.q) + "&done=view_saved", status_code=303)


@router.post("/staff/views/{view_id}/delete", response_class=HTMLResponse)
def delete_view(
    request: Request, view_id: uuid.UUID, user: CaseWorker, session: DbSession, keys: Keys,
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    """Remove one of your saved views: `DELETE /api/v1/me/views/{id}`."""
    if (refused := csrf_refused(request, csrf, "/staff/cases")) is not None:
        return refused
    saved_views.delete(session, keys, user_id=user.id, view_id=view_id, by=auth.actor(user))
    return done("/staff/cases?all=1", "view_deleted")
