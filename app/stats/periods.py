"""Months, quarters and ranges of months: plain arithmetic on `YYYY-MM` labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Range:
    start: str
    end: str

    @property
    def months(self) -> list[str]:
        return months_between(self.start, self.end)


def index_of(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_of(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(start: str, end: str) -> list[str]:
    return [month_of(i) for i in range(index_of(start), index_of(end) + 1)]


def first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def quarter_label(month: str) -> str:
    return f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}"


def quarter_start(month: str) -> str:
    i = index_of(month)
    return month_of(i - i % 3)
