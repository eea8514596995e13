"""Unit tests of the theme suggester: stemming, negation, ranking and limits."""

from __future__ import annotations

import json

import pytest

from app.themes import suggest
from app.themes.defaults import DEFAULT_THEMES
from app.themes.suggest import is_negated, score, suggest_themes, tokenize


@pytest.mark.parametrize("text", [
    "I am being bullied.", "The bullying has gone on for months.", "He is a bully.", "They bully me every shift.",
])
def test_every_form_of_a_word_matches_one_listed_stem(text):
    assert suggest_themes(text) == ["bullying"]


def test_stemming_reaches_plurals_and_verb_forms():
    assert suggest_themes("I owe debts everywhere") == ["financial_concern"]
    assert suggest_themes("He gambles every night") == ["gambling"]
    assert suggest_themes("I feel very depressed") == ["mental_health"]


@pytest.mark.parametrize("text", [
    "This is not about money or debt.",
    "There is no drinking problem here.",
    "I'm not a gambler and I never bet.",
    "Nobody is bullying me.",
    "We aren't getting a divorce.",
    "I've never been depressed.",
])
def test_a_negated_term_suggests_nothing(text):
    assert suggest_themes(text) == []


def test_negation_stops_at_the_end_of_the_clause():
    assert suggest_themes("It's not my manager, but I am being bullied.") == ["bullying"]
    assert suggest_themes("No problem with pay. My debts are the worry.") == ["financial_concern"]


def test_negation_stops_at_a_new_subject():
    assert suggest_themes("I haven't told anyone I'm gay.") == ["homophobia"]


def test_negation_reaches_only_a_few_words():
    assert suggest_themes("I didn't expect that after a long night shift the debt collectors would call") == ["financial_concern"]


def test_can_not_stop_is_not_a_negation():
    assert suggest_themes("I can't stop gambling.") == ["gambling"]


def test_slurs_count_even_after_a_negator():
    assert suggest_themes("He said he wouldn't want a lesbian on his watch.") == ["homophobia"]


def test_is_negated_looks_back_from_the_term():
    tokens = tokenize("not about money")
    assert is_negated(tokens, 2) and not is_negated(tokens, 0)


def test_a_weak_term_alone_suggests_nothing():
    assert score("my partner") == {"domestic_abuse": 1}
    assert suggest_themes("my partner") == []


def test_a_term_inside_a_longer_one_is_not_counted_twice():
    assert score("he asked to borrow money") == {"financial_concern": 1}


def test_suggestions_are_ranked_by_score_and_capped_at_three():
    text = ("My line manager is a bully, I'm in debt from gambling at the casino, drinking too much, "
            "my divorce is going through and I have panic attacks and PTSD and anxiety.")
    got = suggest_themes(text)
    assert len(got) == 3
    scores = score(text)
    assert [scores[s] for s in got] == sorted((scores[s] for s in got), reverse=True)
    assert got[0] == "mental_health"


def test_other_is_never_suggested():
    assert "other" not in suggest_themes("Something else entirely, other than anything listed.")
    assert suggest_themes("") == []
    assert suggest_themes("The weather at the station was grey today.") == []


def test_curly_apostrophes_read_like_straight_ones():
    assert suggest_themes("I can\u2019t afford my rent") == ["financial_concern"]


def test_the_word_list_covers_every_default_theme_but_other():
    data = json.loads(suggest.KEYWORDS_FILE.read_text())["themes"]
    slugs = {s for s, _ in DEFAULT_THEMES} - {"other"}
    assert set(data) == slugs
    for slug in slugs:
        assert data[slug]["strong"] or data[slug].get("unnegated"), slug


@pytest.mark.parametrize("text", ["My watch manager ignores me.", "My new manager ignores me.", "My new station manager ignores me."])
def test_a_wildcard_in_a_listed_phrase_matches_any_one_word(text):
    assert suggest_themes(text) == ["line_manager"]


def test_a_wildcard_never_matches_across_punctuation():
    assert suggest_themes("That's my, manager.") == []
