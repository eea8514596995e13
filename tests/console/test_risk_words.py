"""The "possible risk" check (app.cases.risk) measured on three sets of texts, each written by
someone who never saw the rules (half of each with an immediate risk), and the behaviours it
promises: normalising, negation, figures of speech, contexts that lower a match, highlighting.

All three sets have now been read to write the rules, so on them the check finds everything; the
figures that say how it does on new texts are the cross-validation (rules chosen on two sets,
measured on the third) and the blind measurements in docs/casework.md ("Possible risk").
`bench/risk/measure.py` prints them all. The fourth set was measured blind once (0.76 recall, 6%
false flags, a flag at two faint signs) and then read to write more rules; the fifth, written by
someone who saw no code, measured once with a flag at one sign (0.97 recall, 17% false flags), is
the honest figure now: nobody may read its misses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cases import risk
from bench.risk.measure import cross_validate

DATA = Path(__file__).parents[1] / "data"
SETS = ("risk_corpus.json", "risk_corpus_second.json", "risk_corpus_third.json", "risk_corpus_fourth.json")
# Texts the rules' author wrote himself to find gaps (not a measure: he knew the rules); kept so
# that the kinds of risk they taught stay found.
AUTHOR = "risk_corpus_author.json"


def _measure(name: str) -> tuple[float, float, list[str], list[str]]:
    corpus = json.loads((DATA / name).read_text(encoding="utf-8"))
    at_risk = [c["text"] for c in corpus if c["risk"]]
    safe = [c["text"] for c in corpus if not c["risk"]]
    assert len(at_risk) >= 30 and len(safe) >= 30
    missed = [t for t in at_risk if not risk.find_signals(t)]
    flagged = [t for t in safe if risk.find_signals(t)]
    return 1 - len(missed) / len(at_risk), len(flagged) / len(safe), missed, flagged


# False flags measured on each set with a flag at one sign (docs/casework.md), plus one text of room.
FALSE_FLAGS = {"risk_corpus.json": 6 / 45, "risk_corpus_second.json": 4 / 41, "risk_corpus_third.json": 5 / 40,
               "risk_corpus_fourth.json": 13 / 50, AUTHOR: 18 / 92}


@pytest.mark.parametrize("name", [*SETS, AUTHOR])
def test_the_texts_the_rules_were_written_from_stay_found(name: str) -> None:
    """Measured 1.00 recall on each: a change may not lose what is found (a little room, so that a
    change made for a new kind of risk is not refused for one text), nor flag more ordinary concerns."""
    recall, false_flags, missed, flagged = _measure(name)
    assert recall >= 0.95, missed
    assert false_flags <= FALSE_FLAGS[name], flagged


def test_rules_carry_over_to_a_set_they_were_not_chosen_on() -> None:
    """Cross-validation: only the rules that earned their place on two sets, read on the third.
    Measured 0.93, 0.95 and 1.00 recall with 11%, 2% and 5% false flags (docs/casework.md); a change
    may not make the rules more particular to the texts they were written from than that."""
    for train, held, recall, false_flags in cross_validate():
        found, total = (int(x) for x in recall.split(" = ")[0].split("/"))
        flagged, safe = (int(x) for x in false_flags.split(" = ")[0].split("/"))
        assert found / total >= 0.9, (train, held, recall)
        assert flagged / safe <= 0.12, (train, held, false_flags)


def test_the_words_are_highlighted_where_they_stand_and_negation_is_read() -> None:
    text = "He doesn't see the point anymore and might hurt himself. I’m SCARED to go home."
    assert risk.find_signals(text) == ["doesn't see the point anymore", "hurt himself", "scared to go home"]
    pieces = risk.highlight(text)
    assert "".join(p for p, _ in pieces) == text
    assert [p for p, hit in pieces if hit] == ["doesn't see the point anymore", "hurt himself", "SCARED to go home"]
    assert risk.find_signals("I have never felt unsafe at work; my manager is rude.") == []
    assert risk.find_signals("No thoughts of harming myself, just fed up with the rota.") == []
    assert risk.highlight("The rota for the spring has not been published.") == [
        ("The rota for the spring has not been published.", False)]


@pytest.mark.parametrize("text", [
    "i cant go home",  # no apostrophe
    "Im not sure ill be around much longer tbh",  # text-speak spelled out
    "wld everyone be better off if i wasnt here",
    "He said he’d kill me if I left",  # a curly quote
    "been self-harming again, deeper this time",
    "she's been stockpiling her sleeping tablets",  # a kind, not a listed phrase
    "he's got a knife and says if I ring the police he'll use it",
    "My 13 year old has been left on her own since Friday",
])
def test_a_risk_said_in_other_words_is_found(text: str) -> None:
    assert risk.find_signals(text), text


@pytest.mark.parametrize("text", [
    "This deadline is killing me and the new rota will kill us all.",  # figures of speech
    "I could murder a brew after that shout.",
    "He stabbed me in the back by going to HR about my leave.",
    "The knife crime awareness session at the school went well.",  # a mention at work
    "We attended an overdose on Tuesday; the crew are coping fine.",
    "Years ago I self-harmed but I'm well now and have been for a long time.",  # a resolved past
    "My manager said he'd 'strangle me' if I was late again - clearly a joke.",
    "Retiring in March, so I'm giving my tools away to the probationers.",  # leaving, not a goodbye
    "Persons trapped on the third floor, we rescued two. Good job by the crew.",
    "Could you shoot me an email with the new rota?",
])
def test_what_only_sounds_like_a_risk_is_not_flagged(text: str) -> None:
    assert risk.find_signals(text) == [], text


def test_the_score_explains_itself() -> None:
    reading = risk.read("Honestly I feel like a burden to everyone. Nobody knows.")
    assert reading.flagged and reading.score >= risk.THRESHOLD
    assert {rule.kind for rule, _, _ in reading.matches} >= {risk.SUICIDE}
    assert not risk.read("Years ago I took an overdose. I'm doing much better now.").flagged


def test_the_set_nobody_has_read_keeps_what_was_measured() -> None:
    """The fifth set, measured once and never read (docs/casework.md): 29 of 30 risks found, 5 of
    30 ordinary concerns flagged. A change may not lose one of those risks or add a false flag."""
    recall, false_flags, _, _ = _measure("risk_corpus_fifth.json")
    assert recall >= 29 / 30  # the misses are not printed: reading them would be tuning on the set
    assert false_flags <= 5 / 30
