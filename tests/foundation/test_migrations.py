"""The Alembic head and the models agree, on both databases; migrations run down and up again."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from app import flows, migrate
from app.db import make_engine
from app.enums import SentAs
from app.models import Base


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def test_migration_head_matches_models(db_url: str) -> None:
    assert _diff(db_url) == []


def test_migrations_downgrade_to_base_and_upgrade_again(db_url: str) -> None:
    migrate.downgrade(db_url, "base")
    migrate.upgrade(db_url)
    assert _diff(db_url) == []
    engine = make_engine(db_url)
    with engine.connect() as conn:
        slugs = [r[0] for r in conn.exec_driver_sql("select slug from themes order by position")]
    engine.dispose()
    assert slugs[0] == "domestic_abuse" and slugs[-1] == "other" and len(slugs) == 14


def test_upgrade_labels_earlier_staff_messages_by_who_wrote_them(app: Any, make_case: Any, db_url: str) -> None:
    from app.audit.service import Actor
    from app.auth import service as auth
    from app.cases import thread
    from app.cases.models import Case, Message
    from app.enums import Role, Sender

    case_id = make_case()
    with app.state.sessionmaker() as s, s.begin():
        def user(email: str, *roles: Role) -> Any:
            return auth.create_user(s, app.state.passwords, email=email, name=email, password="a long passphrase 1",
                                    roles=list(roles), by=Actor.system("test"))

        hr, former_hr, safeguarding = user("hr@x.org", Role.HR), user("old@x.org", Role.HR), user("sg@x.org", Role.SAFEGUARDING)
        case = s.get(Case, case_id)
        assert case is not None
        case.hr_contact_id = hr.id
        for author in (hr, former_hr, safeguarding):
            thread.add_message(s, app.state.keyring, case=case, sender=Sender.STAFF, body="hello", author=author)
        thread.add_message(s, app.state.keyring, case=case, sender=Sender.REPORTER, body="hi")
        ids = {"hr": hr.id, "former": former_hr.id, "sg": safeguarding.id}
        flows.finish(s)  # the notices of the new accounts join the outbox
    app.state.engine.dispose()

    migrate.downgrade(db_url, "0003")
    migrate.upgrade(db_url)

    with app.state.sessionmaker() as s:
        sent_as = {m.author_id: m.sent_as for m in s.scalars(select(Message))}
    assert sent_as == {ids["hr"]: SentAs.HR_CONTACT, ids["former"]: SentAs.HR_CONTACT,
                       ids["sg"]: SentAs.SAFEGUARDING, None: None}
