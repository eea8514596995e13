"""Every database test runs twice: on SQLite and on a fresh PostgreSQL database the suite creates.

The schema is built once per backend by `alembic upgrade head` (as in production). Each test
then gets an empty database: SQLite from a copy of the migrated file, PostgreSQL by emptying
the tables the last test wrote to (`db_url`) and restoring the seeded themes. Nothing is mocked:
the app under test talks to the real database through its real engine.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from app import clock, migrate
from app.config import Settings, load_settings
from tests.mailbox import Inbox, free_port

PG_ADMIN_URL = os.environ.get("SAFESHARE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CI = os.environ.get("CI", "").lower() == "true"

# Fast argon2 parameters, for tests only.
FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}


def _pg_available() -> str | None:
    try:
        eng = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(sa.text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"


@dataclass
class Backend:
    name: str
    template_url: str
    template_path: Path | None = None
    themes_snapshot: list[dict[str, Any]] | None = None


def _tables_in_order(url: str) -> list[str]:
    from app.models import Base

    return [t.name for t in reversed(Base.metadata.sorted_tables)]


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        yield Backend("sqlite", url, template_path=path)
        return
    problem = _pg_available()
    if problem is not None:
        if CI:
            pytest.fail(f"PostgreSQL is required under CI=true but is not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    name = f"safeshare_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate.upgrade(url)
        eng = sa.create_engine(url)
        with eng.connect() as c:
            snap = [dict(r._mapping) for r in c.execute(sa.text("select * from themes"))]
        eng.dispose()
        yield Backend("postgresql", url, themes_snapshot=snap)
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def db_url(backend: Backend, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database for this test alone."""
    if backend.name == "sqlite":
        assert backend.template_path is not None
        target = tmp_path / "safeshare.db"
        shutil.copyfile(backend.template_path, target)
        yield f"sqlite:///{target}"
        return
    eng = sa.create_engine(backend.template_url, isolation_level="AUTOCOMMIT")
    tables = [t for t in _tables_in_order(backend.template_url) if t != "themes"]
    with eng.connect() as c:
        # Only the tables the last test wrote to are emptied, and by DELETE, not TRUNCATE: almost
        # every table refers to users or cases, so a TRUNCATE of those took all ~40 tables with
        # them (0.15-0.3 s a test, each table and index given a new file). VACUUM then leaves each
        # emptied table as TRUNCATE would: no pages, so the next rows are stored (and read without
        # ORDER BY) in the order they are written, and no statistics, so queries are planned the same.
        used = [row[0] for row in c.execute(sa.text(" UNION ALL ".join(
            f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables)))]
        # The seeded themes stay unless the last test changed them.
        seeded = sorted((dict(r._mapping) for r in c.execute(sa.text("SELECT * FROM themes"))), key=lambda r: r["slug"])
        if seeded != sorted(backend.themes_snapshot or [], key=lambda r: r["slug"]):
            used.append("themes")
        if used:
            c.exec_driver_sql("BEGIN")
            c.exec_driver_sql("SET LOCAL session_replication_role = replica")  # no triggers, no key checks
            for table in used:  # children first
                c.exec_driver_sql(f'DELETE FROM "{table}"')
            c.exec_driver_sql("COMMIT")
            c.exec_driver_sql("VACUUM " + ", ".join(f'"{t}"' for t in used))
            left = [t for t in used if c.execute(sa.text("SELECT pg_relation_size(:t)"), {"t": f'"{t}"'}).scalar()]
            if left:  # a snapshot still open somewhere kept their rows: the slow way
                c.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in left) + " CASCADE")
            c.execute(sa.text(
                "UPDATE pg_class SET relpages = 0, reltuples = -1, relallvisible = 0 WHERE oid IN ("
                " SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY(:t)"
                " UNION SELECT i.indexrelid FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
                " WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY(:t))"), {"t": used})
        c.exec_driver_sql("BEGIN")
        for (sequence,) in c.execute(sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")).all():
            c.execute(sa.text(f'ALTER SEQUENCE "{sequence}" RESTART'))
        c.execute(sa.text("INSERT INTO audit_head (id, prev_hash, hash) VALUES (1, :g, :g)"), {"g": b"\x00" * 32})
        if "themes" in used and backend.themes_snapshot:
            c.execute(sa.text("INSERT INTO themes (slug, name, description, active, position) "
                              "VALUES (:slug, :name, :description, :active, :position)"), backend.themes_snapshot)
        c.exec_driver_sql("COMMIT")
    eng.dispose()
    yield backend.template_url


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module (or with `indirect`) to change settings for its tests."""
    return {}


# Tests sign staff in with a password alone unless they are about two-factor sign-in, and send
# as many reports as they need unless they are about the report rate: those tests set
# `require_2fa_roles` / `report_rate` themselves (production: "admin,safeguarding,hr", "10/hour").
TEST_DEFAULTS: dict[str, Any] = {**FAST_ARGON2, "require_2fa_roles": "", "report_rate": "0"}


@pytest.fixture
def settings(db_url: str, tmp_path: Path, settings_overrides: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {"database_url": db_url, "key_file": tmp_path / "keys.json", **TEST_DEFAULTS}
    values.update(settings_overrides)
    return load_settings(**values)


@pytest.fixture
def app(settings: Settings) -> Iterator[Any]:
    from app.main import create_app

    application = create_app(settings)
    seen = _AnswersSeen()
    logging.getLogger("safeshare.access").addHandler(seen)
    try:
        yield application
    finally:
        logging.getLogger("safeshare.access").removeHandler(seen)
        application.state.engine.dispose()
    undeclared = seen.undeclared(_declared_answers(application))
    if undeclared:
        pytest.fail("answers the OpenAPI document does not declare (method, route, status): " + repr(undeclared))


class _AnswersSeen(logging.Handler):
    """Every (method, route, status) the app answered during a test, from its access log: each must
    be declared in the app's OpenAPI document, so no test can see an answer a client was not told of."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.answers: set[tuple[str, str, int]] = set()

    def emit(self, record: logging.LogRecord) -> None:
        method, route, status = (getattr(record, k, None) for k in ("method", "route", "status"))
        if isinstance(method, str) and isinstance(route, str) and isinstance(status, int):
            self.answers.add((method, route, status))

    def undeclared(self, declared: dict[tuple[str, str], set[int]]) -> list[tuple[str, str, int]]:
        out = []
        for method, route, status in sorted(self.answers):
            statuses = declared.get(("GET" if method == "HEAD" else method, route))
            if statuses is not None and status not in statuses:
                out.append((method, route, status))
        return out


_DECLARED: dict[tuple[str, str], set[int]] = {}


def _declared_answers(application: Any) -> dict[tuple[str, str], set[int]]:
    """(method, route) -> the statuses its OpenAPI document declares; the same for every app
    the suite builds, so built once per worker."""
    if not _DECLARED:
        for route, operations in application.openapi()["paths"].items():
            for method, operation in operations.items():
                _DECLARED[(method.upper(), route)] = {int(s) for s in operation["responses"]}
    return _DECLARED


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def db(app: Any) -> Iterator[sa.orm.Session]:
    """A session on the same database as the app, for arranging and for reading what was stored."""
    with app.state.sessionmaker() as session:
        yield session


@pytest.fixture(autouse=True)
def _unfreeze_clock() -> Iterator[None]:
    yield
    clock.set_frozen(None)


@dataclass
class Staff:
    id: str
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_staff(app: Any, client: TestClient) -> Callable[..., Staff]:
    """Create a staff user with the given roles and sign them in through the API."""
    from app import flows
    from app.audit.service import Actor
    from app.auth import service as auth
    from app.enums import Role

    def make(*roles: str, name: str | None = None, email: str | None = None) -> Staff:
        email = email or f"{'-'.join(roles) or 'nobody'}-{uuid.uuid4().hex[:6]}@example.org"
        password = "correct horse battery staple"
        with app.state.sessionmaker() as s, s.begin():
            user = auth.create_user(
                s, app.state.passwords, email=email, name=name or email.split("@")[0], password=password,
                roles=[Role(r) for r in roles], by=Actor.system("test"),
            )
            uid = str(user.id)
            flows.finish(s)  # the notices of the new accounts join the outbox
        r = client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return Staff(id=uid, email=email, password=password, token=r.json()["token"])

    return make


CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(app: Any, **config: Any) -> Iterator[str]:
    """Serve `app` with uvicorn in a background thread (extra `uvicorn.Config` options in
    `config`); yields `127.0.0.1:<port>` once it is listening and stops it afterwards."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                                           **config))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The app served by uvicorn in a background thread; yields its base URL."""
    with serve_in_thread(app) as address:
        yield f"http://{address}"


@pytest.fixture
def empty_database(backend: Any, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it (not even the schema), on the test's backend: a restore's target."""
    if backend.name == "sqlite":
        yield f"sqlite:///{tmp_path}/restored.db"
        return
    name = f"safeshare_restore_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        if CI:
            pytest.fail(f"{CHROMIUM} is required under CI=true (scripts/test installs it with apt)")
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) on a free port, keeping what it receives."""
    box = Inbox()
    box.port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def stop_afterwards() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started (a `safeshare serve`), stopped when it ends, however it ends."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
