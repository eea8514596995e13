"""No withheld cell of the equality table can be worked out from everything the API publishes.

Random respondents over four months go into the published table; every (from, to) query is made
through `GET /api/v1/stats/equality`, and every number it returns becomes an equation over the
true month cells (counts; `respondents`, the sum of a characteristic's value cells; and, for a
published share of `prefer_not_to_say`, the exact number of those who answered the question,
which the share's denominator is). The attacker of tests/stats/attack.py also knows that every
characteristic counts the same respondents each month, and that a withheld cell is never 0.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from app.equality.schemas import CHARACTERISTICS, NOT_ANSWERED, PREFER_NOT_TO_SAY
from app.stats.service import months_between
from tests.equality.factory import add_respondents
from tests.stats.attack import Attacker, equation

MONTHS = months_between("2024-11", "2025-02")
KEYS = ["sex", "disability"]  # the rest are left unanswered: all their cells are 0 except `not_answered`


def rows_of(key: str) -> list[str]:
    return [*CHARACTERISTICS[key], PREFER_NOT_TO_SAY, NOT_ANSWERED]


@pytest.mark.parametrize("seed", range(4))
def test_no_withheld_equality_cell_can_be_worked_out_through_the_api(client, db, make_staff, seed) -> None:
    rng = random.Random(seed)
    truth: Counter = Counter()
    for m in MONTHS:
        respondents = []
        for _ in range(rng.choice([0, 2, 3, 4, 6, 9])):
            answers = {}
            for key in KEYS:
                value = rng.choice([*CHARACTERISTICS[key], *CHARACTERISTICS[key], PREFER_NOT_TO_SAY, None])
                if value is not None:
                    answers[key] = value
                truth[(key, value or NOT_ANSWERED, m)] += 1
            respondents.append(answers)
        add_respondents(db, m, respondents)
    variables = {(k, v, m): truth[(k, v, m)] for k in KEYS for v in rows_of(k) for m in MONTHS}
    lead = make_staff("leadership")

    eqs = []
    for i, a in enumerate(MONTHS):
        for b in MONTHS[i:]:
            span = months_between(a, b)
            body = client.get("/api/v1/stats/equality", headers=lead.headers, params={"from": a, "to": b}).json()
            for c in body["characteristics"]:
                key = c["key"]
                if key not in KEYS:
                    assert all(r["count"] == 0 for r in c["rows"])
                    continue
                values = CHARACTERISTICS[key]
                by_value = {r["value"]: r for r in c["rows"]}
                for value, r in by_value.items():
                    if r["count"] is not None:
                        eqs.append(equation({(key, value, m): 1 for m in span}, r["count"]))
                if c["respondents"] is not None:
                    eqs.append(equation({(key, v, m): 1 for v in values for m in span}, c["respondents"]))
                if by_value[PREFER_NOT_TO_SAY]["share"] is not None:
                    answered = sum(truth[(key, v, m)] for v in (*values, PREFER_NOT_TO_SAY) for m in span)
                    eqs.append(equation({(key, v, m): 1 for v in (*values, PREFER_NOT_TO_SAY) for m in span}, answered))
                for value in values:
                    r = by_value[value]
                    if r["share"] is not None:  # a share is only ever published with its count and denominator
                        assert r["count"] is not None and c["respondents"] is not None
    for m in MONTHS:
        coefs = {(KEYS[0], v, m): 1 for v in rows_of(KEYS[0])}
        coefs.update({(KEYS[1], v, m): -1 for v in rows_of(KEYS[1])})
        eqs.append(equation(coefs, 0))

    attacker = Attacker(variables, eqs)
    withheld = [v for v in variables if v not in attacker.known and variables[v] > 0 and v[1] != NOT_ANSWERED]
    assert withheld or seed == 2, "the fixture is meant to exercise suppression"
    assert attacker.disclosed(withheld) == []
    # Zeros are always published as zeros; every published row's cell is a plain count.
    assert all(v in attacker.known for v in variables if variables[v] == 0 and v[1] != NOT_ANSWERED)
