"""The "possible risk" word list (app.cases.risk) measured on three sets of texts, each written by
someone who never saw the list (half of each with an immediate risk). The list was tuned on the
first and the second; the third has never been read by anyone working on the list, so it is the
honest measure. The figures and what they mean are in docs/casework.md ("Possible risk")."""

from __future__ import annotations

import json
from pathlib import Path

from app.cases import risk

DATA = Path(__file__).parents[1] / "data"


def _measure(name: str) -> tuple[float, float, list[str], list[str]]:
    corpus = json.loads((DATA / name).read_text(encoding="utf-8"))
    at_risk = [c["text"] for c in corpus if c["risk"]]
    safe = [c["text"] for c in corpus if not c["risk"]]
    assert len(at_risk) >= 30 and len(safe) >= 30
    missed = [t for t in at_risk if not risk.find_signals(t)]
    flagged = [t for t in safe if risk.find_signals(t)]
    return 1 - len(missed) / len(at_risk), len(flagged) / len(safe), missed, flagged


def test_the_texts_the_list_was_tuned_on_stay_found() -> None:
    recall, false_flags, missed, flagged = _measure("risk_corpus.json")
    assert recall >= 0.9, missed
    assert false_flags <= 0.2, flagged


def test_texts_nobody_tuned_on_do_no_worse_than_measured() -> None:
    """Measured 0.62 recall and 23% false flags: below the target of 0.9 and 20%, which is why an
    untriaged case always needs attention whatever the words say. A change to the list may not
    make this worse; nobody may read the misses of this set to tune the list (it would stop being
    a measure)."""
    recall, false_flags, _, _ = _measure("risk_corpus_third.json")
    assert recall >= 0.6
    assert false_flags <= 0.25


def test_the_words_are_highlighted_where_they_stand_and_negation_is_read() -> None:
    text = "He doesn't see the point anymore and might hurt himself. I’m SCARED to go home."
    assert risk.find_signals(text) == ["see the point anymore", "hurt himself", "scared to go home"]
    pieces = risk.highlight(text)
    assert "".join(p for p, _ in pieces) == text
    assert [p for p, hit in pieces if hit] == ["see the point anymore", "hurt himself", "SCARED to go home"]
    assert risk.find_signals("I have never felt unsafe at work; my manager is rude.") == []
    assert risk.find_signals("i cant go home") == ["cant go home"]
