from __future__ import annotations

from app.cases.intake import create_case
from app.cases.schemas import ReportIn
from app.enums import Channel


def test_a_new_case_stores_the_suggested_themes_for_triage_sealed(app, settings):
    with app.state.sessionmaker() as s, s.begin():
        case = create_case(
            s, app.state.keyring, settings, channel=Channel.WEB,
            data=ReportIn(description="I've lost thousands on betting apps and I'm behind on the rent."),
        )
        case_id = case.id
    with app.state.sessionmaker() as s:
        from app.cases import service
        from app.cases.models import Case

        stored = s.get(Case, case_id)
        assert stored is not None
        # Sealed under the case's key: the row says nothing of what the report is about.
        assert stored.suggested_themes_ct is not None and b"gambling" not in stored.suggested_themes_ct
        content = service.read_content(s, app.state.keyring, user=None, case=stored, audited=False)  # type: ignore[arg-type]
        assert content.suggested_themes == ("financial_concern", "gambling")
        assert stored.theme_slugs == []  # suggested, never applied without a person confirming
