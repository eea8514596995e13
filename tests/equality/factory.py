"""Arrange published equality answers directly (as a batch would have left them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy.orm import Session

from app.equality import service


def add_respondents(db: Session, month: str, respondents: Iterable[Mapping[str, str]]) -> None:
    service.publish_batch(db, [(month, dict(answers)) for answers in respondents])
    db.commit()


def many(n: int, **answers: str) -> list[dict[str, str]]:
    return [dict(answers) for _ in range(n)]
