"""An attempt to link a case to its equality answers through everything the database offers.

Twenty reports, each with answers the attacker knows (a distinct religion/age combination in
sequence), fill exactly one batch (`min_cell` = 20). Before the batch moves, the pool is linked to
its case (the same transaction) but sealed; once it has moved, the attacker tries every column,
every ordering (rowid, primary key, physical order, ctid), the transaction ids (xmin) and the
time: the guesses must do no better than chance.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.cases.models import Case
from app.equality.models import EqualityAnswer
from app.equality.schemas import CHARACTERISTICS

N = 20
RELIGIONS = [*CHARACTERISTICS["religion_belief"], "prefer_not_to_say"]
AGES = [*CHARACTERISTICS["age_band"], "prefer_not_to_say"]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"min_cell": N}


def truth(i: int) -> dict[str, str]:
    return {"religion_belief": RELIGIONS[i % len(RELIGIONS)], "age_band": AGES[(i * 3) % len(AGES)]}


def hits(guesses: list[str], answers: list[str]) -> int:
    return sum(g == a for g, a in zip(guesses, answers, strict=True))


def test_a_case_cannot_be_linked_to_its_answers_once_the_batch_has_moved(client, db, backend) -> None:
    pg = backend.name == "postgresql"
    cases: list[str] = []
    case_xids: list[int] = []
    with db.bind.connect() as raw:
        for i in range(N):
            r = client.post("/api/v1/reports", json={"description": f"Report {i}.", "equality": truth(i)})
            assert r.status_code == 201, r.text
            cases.append(r.json()["reference"])
            if pg:
                case_xids.append(raw.execute(sa.text("SELECT xmin::text::bigint FROM cases WHERE reference = :r"),
                                             {"r": cases[-1]}).scalar_one())
                if i < N - 1:
                    # The link that remains before a move (docs/statistics.md): the pool row was written in
                    # the case's own transaction. Its answers are sealed, and it is gone after the move.
                    pooled = raw.execute(sa.text("SELECT xmin::text::bigint FROM equality_pending")).scalars().all()
                    assert case_xids[-1] in pooled
                raw.rollback()
        pending = raw.execute(sa.text("SELECT count(*) FROM equality_pending")).scalar_one()
        assert pending == 0, "the twentieth answer completes the batch"

        # 1. Columns: nothing but a random key, the month, the characteristic and the value.
        columns = {c["name"] for c in sa.inspect(raw).get_columns("equality_answers")}
        assert columns == {"id", "month", "characteristic", "value"}
        assert not [c for c in sa.inspect(raw).get_columns("equality_answers")
                    if isinstance(c["type"], sa.DateTime | sa.Date | sa.Integer)]
        # The monthly counts (what the statistics read) hold sums only, by month.
        assert {c["name"] for c in sa.inspect(raw).get_columns("equality_counts")} == {
            "month", "characteristic", "value", "respondents"}
        case_rows = raw.execute(select(Case.id, Case.reference, Case.received_month)).all()
        ids = set(raw.execute(select(EqualityAnswer.id)).scalars())
        assert len(ids) == N * len(CHARACTERISTICS)
        assert not ids & {c.id for c in case_rows}
        assert {m for (m,) in raw.execute(select(EqualityAnswer.month).distinct())} == {c.received_month for c in case_rows}

        # 2. Orderings: guess that the k-th case is the k-th row in each order the database offers.
        answers = [truth(i)["religion_belief"] for i in range(N)]
        where = "WHERE characteristic = 'religion_belief'"
        orders = {
            "as stored": f"SELECT value FROM equality_answers {where}",
            "by primary key": f"SELECT value FROM equality_answers {where} ORDER BY id",
        }
        if pg:
            orders["by ctid"] = f"SELECT value FROM equality_answers {where} ORDER BY ctid"
            orders["by xmin"] = f"SELECT value FROM equality_answers {where} ORDER BY xmin::text::bigint, ctid"
        else:
            for table in ("equality_answers", "equality_pending"):
                ddl = raw.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table}).scalar_one()
                assert "WITHOUT ROWID" in ddl.upper()
            with pytest.raises(sa.exc.OperationalError, match="rowid"):
                raw.execute(sa.text("SELECT rowid FROM equality_answers"))
            raw.rollback()
        for name, sql in orders.items():
            guesses = list(raw.execute(sa.text(sql)).scalars())
            assert len(guesses) == N
            for order in (guesses, guesses[::-1]):
                # By chance about 2 of 20 match; an order that followed the cases would match all 20.
                assert hits(order, answers) < N // 2, f"{name}: the order follows the cases"
        # The combination of one respondent's answers is not kept either: each characteristic's rows
        # are shuffled on their own, so no row order pairs an age with a religion.
        age_rows = list(raw.execute(sa.text("SELECT value FROM equality_answers WHERE characteristic = 'age_band' ORDER BY id")).scalars())
        assert hits(age_rows, [truth(i)["age_band"] for i in range(N)]) < N // 2

        # 3. Transaction ids and time: the whole batch went in together, under one transaction id (the
        # twentieth case's), so no row's xmin (or its commit time) is any other case's.
        if pg:
            xids = set(raw.execute(sa.text("SELECT DISTINCT xmin::text::bigint FROM equality_answers")).scalars())
            assert len(xids) == 1
            assert xids <= {case_xids[-1]}
            assert not xids & set(case_xids[:-1])
            if raw.execute(sa.text("SHOW track_commit_timestamp")).scalar_one() == "on":  # off by default
                times = raw.execute(sa.text("SELECT DISTINCT pg_xact_commit_timestamp(xmin) FROM equality_answers")).all()
                assert len(times) == 1
