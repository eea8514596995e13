"""The request-scoped dependencies of the API and the pages: one set of rules for both.

Everything a route needs from the application (session, settings, key ring, password hasher,
throttles) arrives through a typed dependency here; nothing else reads `request.app.state`.
The staff pages use the very same user, role and case dependencies as the API: the only
difference is where the staff token comes from (`staff_token`), so a page can never be more
permissive than its API twin.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from anyio import CapacityLimiter
from fastapi import Depends, Form, Header, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from app.api import cookies
from app.api.transactions import get_session
from app.auth import service as auth
from app.auth.models import User
from app.auth.passwords import Passwords
from app.cases import access
from app.cases.models import Case
from app.concurrency import run_slow
from app.config import Settings
from app.crypto.keyring import KeyRing
from app.enums import Role
from app.errors import AppError, Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized, raises
from app.reports import idempotency, sessions
from app.throttle import RateLimit, Throttle, client_bucket

DbSession = Annotated[Session, Depends(get_session, scope="function")]
log = logging.getLogger("safeshare.api")
T = TypeVar("T")


# --- what the application holds --------------------------------------------------------------------
# Plain attribute reads are `async def`: a sync dependency costs a trip through the thread pool.


def _held(request: Request, name: str, kind: type[T]) -> T:
    value = getattr(request.app.state, name)
    assert isinstance(value, kind), name
    return value


def settings_of(request: Request) -> Settings:
    return _held(request, "settings", Settings)


async def _settings(request: Request) -> Settings:
    return settings_of(request)


def keyring_of(request: Request) -> KeyRing:
    return _held(request, "keyring", KeyRing)


async def _keyring(request: Request) -> KeyRing:
    return keyring_of(request)


async def _sessionmaker(request: Request) -> sessionmaker[Session]:
    return _held(request, "sessionmaker", sessionmaker)


async def _passwords(request: Request) -> Passwords:
    return _held(request, "passwords", Passwords)


async def _slow_hash_limiter(request: Request) -> CapacityLimiter:
    return _held(request, "slow_hash_limiter", CapacityLimiter)


async def _throttle(request: Request) -> Throttle:
    return _held(request, "throttle", Throttle)


async def _report_rate(request: Request) -> RateLimit:
    return _held(request, "report_rate", RateLimit)


CurrentSettings = Annotated[Settings, Depends(_settings)]
Keys = Annotated[KeyRing, Depends(_keyring)]
Sessions = Annotated[sessionmaker[Session], Depends(_sessionmaker)]
Hasher = Annotated[Passwords, Depends(_passwords)]
SlowHashLimiter = Annotated[CapacityLimiter, Depends(_slow_hash_limiter)]
# One table of back-off buckets serves sign-ins and receipts; the names say what a route uses it for.
LoginThrottle = Annotated[Throttle, Depends(_throttle)]
ReceiptThrottle = Annotated[Throttle, Depends(_throttle)]
ReportRate = Annotated[RateLimit, Depends(_report_rate)]


# --- who is asking ------------------------------------------------------------------------------

STAFF_COOKIE = "ss_staff"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def is_page(request: Request) -> bool:
    """A browser page, not the JSON API (which lives under /api/ and takes bearer tokens only)."""
    return not request.url.path.startswith("/api/")


def staff_token(request: Request) -> str | None:
    """The staff token: the bearer header; pages also take the sign-in cookie (HttpOnly,
    SameSite=Strict, `__Host-` over https). The API never reads the cookie, so no other site can
    use it there."""
    token = bearer_token(request)
    if token is None and is_page(request):
        token = cookies.read(request, STAFF_COOKIE)
    return token


def client_host(request: Request) -> str | None:
    """The client's address, for throttling only: never stored or logged. Behind a proxy listed in
    `SAFESHARE_FORWARDED_ALLOW_IPS` it is the forwarded address (uvicorn's proxy-headers
    middleware, see app.main); from anyone else, the peer's own."""
    return request.client.host if request.client else None


@dataclass(frozen=True)
class Viewer:
    """Who is signed in, as plain values: still readable after the request's transaction ended
    (an error page is rendered after the rollback that expires every loaded row)."""

    id: uuid.UUID
    email: str
    name: str
    roles: tuple[Role, ...]

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(user.id, user.email, user.name, tuple(user.roles))


class PasswordChangeRequired(Forbidden):
    title, slug = "Password change needed", "password-change-required"


class TotpSetupRequired(Forbidden):
    title, slug = "Two-factor set-up needed", "totp-setup-required"


@raises(Unauthorized, security="staff")
def signed_in_user(request: Request, session: DbSession) -> User:
    """The user behind the staff token, whatever they must do first. A session left unused for
    `SAFESHARE_STAFF_IDLE_MINUTES` has ended (401; the pages then ask to sign in again)."""
    token = staff_token(request)
    writes = request.method not in ("GET", "HEAD", "OPTIONS")
    idle = timedelta(minutes=settings_of(request).staff_idle_minutes)
    makers = _held(request, "sessionmaker", sessionmaker)
    user = auth.user_for_token(session, token, touch=writes, idle=idle, touch_apart=makers) if token else None
    if user is None:
        raise Unauthorized()
    request.state.viewer = Viewer.of(user)
    return user


SignedInUser = Annotated[User, Depends(signed_in_user)]
"""Any signed-in user, even one who must first change their password or set up two-factor
sign-in: only for what such a user may do (read `/auth/me`, sign out)."""


@raises(Unauthorized, Forbidden, security="staff")
def current_user(request: Request, session: DbSession, settings: CurrentSettings) -> User:
    """The signed-in user, fully: 403 while they must change their password
    (`password-change-required`) or set up two-factor sign-in (`totp-setup-required`).
    Every route but the few that clear those takes this (the roles below build on it)."""
    user = signed_in_user(request, session)
    if user.password_change_required:
        raise PasswordChangeRequired("Change your password first: your account has a one-time password.")
    if auth.totp_setup_required(user, settings):
        raise TotpSetupRequired("Set up two-factor sign-in first: your role requires it.")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def _may_change_password(user: SignedInUser, settings: CurrentSettings) -> User:
    # Password first: a user with a one-time password changes it before anything else.
    if not user.password_change_required and auth.totp_setup_required(user, settings):
        raise TotpSetupRequired("Set up two-factor sign-in first: your role requires it.")
    return user


def _may_set_up_totp(user: SignedInUser) -> User:
    if user.password_change_required:
        raise PasswordChangeRequired("Change your password first: your account has a one-time password.")
    return user


PasswordOwner = Annotated[User, Depends(_may_change_password)]
"""A signed-in user who may change their password now (also one who must)."""

TotpOwner = Annotated[User, Depends(_may_set_up_totp)]
"""A signed-in user who may set up two-factor sign-in now (also one who must)."""


def require_role(*roles: Role) -> Any:
    @raises(Forbidden)
    def check(user: CurrentUser) -> User:
        if not user.has(*roles):
            raise Forbidden("Your role does not allow this.")
        return user

    return check


Admin = Annotated[User, Depends(require_role(Role.ADMIN))]
Safeguarding = Annotated[User, Depends(require_role(Role.SAFEGUARDING))]
CaseWorker = Annotated[User, Depends(require_role(Role.SAFEGUARDING, Role.HR))]
SecondPerson = Annotated[User, Depends(require_role(Role.ADMIN, Role.SAFEGUARDING))]
"""Who sees, and may cancel, what waits for a second person (grants and resets)."""
StatsReader = Annotated[User, Depends(require_role(Role.LEADERSHIP, Role.SAFEGUARDING, Role.ADMIN))]


# --- the case a staff route works on: loaded *and* authorised --------------------------------------


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


# --- signing in: one flow for the API and the sign-in page -------------------------------------------


@raises(Unauthorized, TooManyRequests)
class SignIn:
    """Check a password (and a two-factor code) under the sign-in throttle and open a staff
    session (`auth.login`), with the slow hash in its own small thread pool. The API's login and
    the sign-in page both call it, and both set the device cookie it returns (`keep_device`)."""

    def __init__(
        self, request: Request, session: DbSession, settings: CurrentSettings, keys: Keys, passwords: Hasher,
        throttle: LoginThrottle, limiter: SlowHashLimiter,
    ) -> None:
        self.request, self.session, self.settings, self.keys = request, session, settings, keys
        self.passwords, self.throttle, self.limiter = passwords, throttle, limiter

    async def __call__(self, *, email: str, password: str, totp: str | None = None) -> auth.SignedIn:
        return await run_slow(
            self.limiter, auth.login, self.session, self.passwords, self.throttle, self.keys, self.settings,
            email=email, password=password, totp=totp, client_host=client_host(self.request),
            cookies=cookies.jar(self.request),
        )

    async def second_step(self, *, pending: str, totp: str) -> auth.SignedIn:
        """The sign-in page's code step, after `TotpRequired` gave it a pending sign-in."""
        return await run_slow(
            self.limiter, auth.login_with_pending, self.session, self.passwords, self.throttle, self.keys,
            self.settings, pending=pending, totp=totp, client_host=client_host(self.request),
            cookies=cookies.jar(self.request),
        )


SignInFlow = Annotated[SignIn, Depends()]


def keep_device(request: Request, response: Response, signed_in: auth.SignedIn) -> None:
    """Set the device cookie of a successful sign-in: HttpOnly, signed, a year long, sent to both
    sign-in routes (so API clients that keep cookies benefit too); Secure over https."""
    cookie = signed_in.device_cookie
    cookies.put(response, request, cookie.name, cookie.value, max_age=cookie.max_age)


def report_rate_bucket(request: Request, keys: KeyRing) -> bytes:
    """The client's bucket for `SAFESHARE_REPORT_RATE` (API and form alike)."""
    return client_bucket(keys, "report", client_host(request))


# --- the reporter ---------------------------------------------------------------------------------


@raises(Unauthorized, security="reporter")
def current_reporter_case(request: Request, session: DbSession) -> Case:
    """The case of the reporter token in `Authorization: Bearer ssr_…`; 401 for anything else."""
    token = bearer_token(request)
    case = reporter_case_for(request, session, token) if token else None
    if case is None:
        raise Unauthorized("Sign in again with your receipt.")
    return case


def reporter_case_for(request: Request, session: Session, token: str) -> Case | None:
    """The case of a live reporter token, for the API and the follow-up pages alike: a session
    left unused for `SAFESHARE_REPORTER_IDLE_MINUTES` has ended; using one keeps it alive."""
    writes = request.method not in ("GET", "HEAD", "OPTIONS")
    idle = timedelta(minutes=settings_of(request).reporter_idle_minutes)
    makers = _held(request, "sessionmaker", sessionmaker)
    return sessions.case_for_token(session, token, idle=idle, touch=writes, touch_apart=makers)


CurrentReporterCase = Annotated[Case, Depends(current_reporter_case)]


class Idempotency:
    """The request's Idempotency-Key, if any: claimed before the work, released if the request fails."""

    def __init__(self, makers: sessionmaker[Session], key: idempotency.IdempotencyKey | None) -> None:
        self.sessions = makers
        self.key = key
        self.claimed = False
        self.abandoned = False

    def claim(self, data: Any) -> dict[str, Any] | None:
        """None if this request should do the work; the stored response if it is a replay."""
        if self.key is None:
            return None
        replay = idempotency.claim(self.sessions, self.key, fingerprint=self.key.fingerprint(data))
        self.claimed = replay is None
        return replay

    def abandon(self) -> None:
        """The request answers without doing the work (a page that lists what to fix): the key is
        released once its transaction has ended, so the next try starts afresh."""
        self.abandoned = True


@asynccontextmanager
async def _guard(makers: sessionmaker[Session], key: idempotency.IdempotencyKey | None) -> AsyncIterator[Idempotency]:
    # async: no thread hop for the common case of no key; the clean-up's DB work goes to the pool.
    guard = Idempotency(makers, key)
    try:
        yield guard
    except BaseException:
        # Entered before the request's session, so this runs after its rollback: nothing of the
        # failed request remains, and the released key lets the client's retry start afresh.
        if guard.claimed and key is not None:
            await _release(guard.sessions, key)
        raise
    if guard.claimed and guard.abandoned and key is not None:
        await _release(guard.sessions, key)


async def _release(makers: sessionmaker[Session], key: idempotency.IdempotencyKey) -> None:
    try:
        await run_in_threadpool(idempotency.release, makers, key)
    except Exception as exc:  # noqa: BLE001 - the request's own answer stands
        # The database is out of reach (a restart): keep trying for a while after the answer has
        # gone, so the client's retry is not told "still running" for long.
        log.warning("could not release an Idempotency-Key", extra={"error_type": type(exc).__name__})
        _keep(asyncio.get_running_loop().create_task(_release_later(makers, key)))


@raises(AppError, Conflict, Invalid)  # AppError: a malformed header is a 400
async def _idempotency(
    keys: Keys,
    makers: Sessions,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Optional; 16 to 255 visible ASCII characters (a random UUID is ideal). A retry with "
            "the same key and body gets the first answer again; another body is 422; a retry while the "
            "first is still running is 409. Kept for 24 hours.",
        ),
    ] = None,
) -> AsyncIterator[Idempotency]:
    key = idempotency.IdempotencyKey.derive(keys, idempotency.parse_header(idempotency_key)) if idempotency_key else None
    async with _guard(makers, key) as guard:
        yield guard


# The report form's own key: a random id in a hidden field, made when the form is shown.
FORM_ID_FIELD = "form_id"
_FORM_ID = re.compile(r"[A-Za-z0-9_-]{43}")


def new_form_id() -> str:
    return secrets.token_urlsafe(32)


async def _form_idempotency(
    keys: Keys, makers: Sessions, form_id: Annotated[str, Form(alias=FORM_ID_FIELD)] = ""
) -> AsyncIterator[Idempotency]:
    # A form from before this field existed, or a mangled one, simply goes without.
    key = idempotency.IdempotencyKey.derive(keys, "report-form:" + form_id) if _FORM_ID.fullmatch(form_id) else None
    async with _guard(makers, key) as guard:
        yield guard


_RELEASING: set[asyncio.Task[None]] = set()


def _keep(task: asyncio.Task[None]) -> None:
    _RELEASING.add(task)
    task.add_done_callback(_RELEASING.discard)


async def _release_later(makers: sessionmaker[Session], key: idempotency.IdempotencyKey) -> None:
    """Release a claim once the database is back: every second for a minute (then the claim
    simply goes stale, `idempotency.STALE`)."""
    for _ in range(60):
        await asyncio.sleep(1)
        try:
            await run_in_threadpool(idempotency.release, makers, key)
            return
        except Exception:  # noqa: BLE001, S112 - still out of reach; try again
            continue


IdempotencyGuard = Annotated[Idempotency, Depends(_idempotency, scope="function")]
FormIdempotencyGuard = Annotated[Idempotency, Depends(_form_idempotency, scope="function")]
"""The report form's key (its hidden `form_id`), with the API's Idempotency-Key rules: one form, one case."""


# --- request bodies -------------------------------------------------------------------------------

# The transport ceiling of the intake routes (a reporter's concern, a staff-recorded contact, the
# report form), above the app's 64 KiB: a 20,000-character description can be 120 KB of JSON
# once escaped, and ~240 KB form-encoded. `intake_body_limit` then applies
# SAFESHARE_MAX_REPORT_BODY_BYTES, which a module-level route cannot read because each app has
# its own settings.
INTAKE_CEILING = 1024 * 1024


class ContentTooLarge(AppError):
    status, title, slug = 413, "Content Too Large", "content-too-large"


def body_too_large(request: Request, settings: Settings) -> bool:
    """Whether the declared body is over `SAFESHARE_MAX_REPORT_BODY_BYTES`."""
    declared = request.headers.get("content-length", "")
    return declared.isdigit() and int(declared) > settings.max_report_body_bytes


@raises(ContentTooLarge)
async def intake_body_limit(request: Request, settings: CurrentSettings) -> None:
    """Apply `SAFESHARE_MAX_REPORT_BODY_BYTES` to an intake route (413 problem above it)."""
    if body_too_large(request, settings) or len(await request.body()) > settings.max_report_body_bytes:
        raise ContentTooLarge("The request body is too large.")
