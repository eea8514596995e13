"""Arrange published equality answers directly (as a batch would have left them)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from sqlalchemy.orm import Session

from app.equality.models import EqualityAnswer
from app.equality.schemas import CHARACTERISTICS, NOT_ANSWERED


def add_respondents(db: Session, month: str, respondents: Iterable[Mapping[str, str]]) -> None:
    for answers in respondents:
        for key in CHARACTERISTICS:
            db.add(EqualityAnswer(id=uuid.uuid4(), month=month, characteristic=key, value=answers.get(key, NOT_ANSWERED)))
    db.commit()


def many(n: int, **answers: str) -> list[dict[str, str]]:
    return [dict(answers) for _ in range(n)]
