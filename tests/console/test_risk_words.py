"""The "possible risk" word list (app.cases.risk) measured on texts written by someone who never
saw it (tests/data/risk_corpus.json, half with an immediate risk): the figures are in
docs/casework.md ("Possible risk")."""

from __future__ import annotations

import json
from pathlib import Path

from app.cases import risk

CORPUS = json.loads((Path(__file__).parents[1] / "data" / "risk_corpus.json").read_text(encoding="utf-8"))


def test_recall_and_false_flags_on_texts_written_apart_from_the_list() -> None:
    at_risk = [c["text"] for c in CORPUS if c["risk"]]
    safe = [c["text"] for c in CORPUS if not c["risk"]]
    assert len(at_risk) >= 30 and len(safe) >= 30
    missed = [t for t in at_risk if not risk.find_signals(t)]
    flagged = [t for t in safe if risk.find_signals(t)]
    recall = 1 - len(missed) / len(at_risk)
    false_flags = len(flagged) / len(safe)
    assert recall >= 0.9, missed
    assert false_flags <= 0.2, flagged


def test_the_words_are_highlighted_where_they_stand_and_negation_is_read() -> None:
    text = "He doesn't see the point anymore and might hurt himself. I’m SCARED to go home."
    assert risk.find_signals(text) == ["see the point anymore", "hurt himself", "scared to go home"]
    pieces = risk.highlight(text)
    assert "".join(p for p, _ in pieces) == text
    assert [p for p, hit in pieces if hit] == ["see the point anymore", "hurt himself", "SCARED to go home"]
    assert risk.find_signals("I have never felt unsafe at work; my manager is rude.") == []
    assert risk.find_signals("i cant go home") == ["cant go home"]
