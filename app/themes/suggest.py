"""Suggested themes for a new case: a transparent word-list scorer (stems, phrases, negation) that
triage can read and correct, with no external service; never applied without a person
confirming. How it scores, and its measured precision and recall: docs/checkins.md, "Theme
suggester"."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Protocol

import snowballstemmer

from app.themes.defaults import DEFAULT_THEMES

KEYWORDS_FILE = Path(__file__).with_name("keywords.json")
STRONG, WEAK = 2, 1
THRESHOLD = 2
MAX_SUGGESTIONS = 3
NEGATION_WINDOW = 5
WILDCARD = "*"

TOKEN_PATTERN = r"[a-z0-9]+(?:'[a-z]+)*|[.,;:!?()\"]"
_TOKEN = re.compile(TOKEN_PATTERN)
_NEGATORS = frozenset(
    "no not never nobody nothing none neither nor without cannot cant dont didnt isnt wasnt wont".split()
)
# A negator followed by one of these is not negating what comes after ("can't stop gambling").
_PSEUDO = frozenset("stop only just help wait doubt".split())
# Words that end a negation's reach: a new clause or a new subject.
_SCOPE_END = frozenset(
    "but although though however yet because whereas i i'm i've i'd i'll he he's she she's they they're "
    "we we're you you're it's".split()
)
_ORDER = {slug: i for i, (slug, _) in enumerate(DEFAULT_THEMES)}
_local = threading.local()


class Token(NamedTuple):
    word: str  # lower-cased surface form, or a punctuation mark
    stem: str  # the word's stem; a punctuation mark stands for itself
    is_word: bool


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    # Stemming is pure and words repeat across reports: caching takes it off the intake's hot path.
    # Snowball stemmer objects keep state while they work: one per thread (routes run in a pool).
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return str(stemmer.stemWord(word))


def stem(word: str) -> str:
    """A lower-cased word's Porter2 stem (cached)."""
    return _stem(word)


def tokenize(text: str) -> list[Token]:
    """Lower-cased words and punctuation, each word with its Porter2 stem."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    tokens = []
    for w in _TOKEN.findall(text):
        word = w[0].isalnum()
        tokens.append(Token(w, _stem(w) if word else w, word))
    return tokens


def is_negator(word: str) -> bool:
    return word in _NEGATORS or word.endswith("n't")


class Worded(Protocol):
    @property
    def word(self) -> str: ...

    @property
    def is_word(self) -> bool: ...


def negation_governs(tokens: Sequence[Worded], start: int, *, window: int, negator: Callable[[str], bool],
                     pseudo: frozenset[str], scope_end: frozenset[str]) -> bool:
    """Whether a negator up to `window` words before `start`, in the same clause (no punctuation or
    `scope_end` word between), governs what starts there; a negator followed by a `pseudo` word
    ("can't stop", "not only") does not. The theme suggester and the possible-risk check
    (app.cases.risk) share this reading, each with its own word lists."""
    for back in range(1, window + 1):
        i = start - back
        if i < 0:
            return False
        tok = tokens[i]
        if not tok.is_word or tok.word in scope_end:
            return False
        if negator(tok.word):
            following = tokens[i + 1].word if i + 1 < len(tokens) else ""
            return following not in pseudo
    return False


def is_negated(tokens: list[Token], start: int, window: int = NEGATION_WINDOW) -> bool:
    """Whether a negator governs the term starting at `start` (see the module docstring)."""
    return negation_governs(tokens, start, window=window, negator=is_negator, pseudo=_PSEUDO, scope_end=_SCOPE_END)


@dataclass(frozen=True)
class Term:
    stems: tuple[str, ...]
    slug: str
    weight: int
    negatable: bool = True


def _term_stems(phrase: str) -> tuple[str, ...]:
    """The stems of a listed term, keeping each "*" as a wildcard."""
    stems: list[str] = []
    for part in phrase.split():
        if part == WILDCARD:
            stems.append(WILDCARD)
        else:
            stems.extend(t.stem for t in tokenize(part) if t.is_word)
    return tuple(stems)


@lru_cache(maxsize=1)
def load_terms(path: Path = KEYWORDS_FILE) -> dict[str, list[Term]]:
    """The word lists, stemmed, indexed by the first stem of each term."""
    data = json.loads(path.read_text(encoding="utf-8"))["themes"]
    index: dict[str, list[Term]] = {}
    for slug, lists in data.items():
        if slug == "other":
            continue
        for weight, key in ((STRONG, "strong"), (WEAK, "weak"), (STRONG, "unnegated")):
            for phrase in lists.get(key, []):
                stems = _term_stems(phrase)
                if stems and stems[0] != WILDCARD:
                    index.setdefault(stems[0], []).append(Term(stems, slug, weight, key != "unnegated"))
    return index


def _matches(tokens: list[Token], start: int, stems: tuple[str, ...]) -> bool:
    """Whether the term's stems match the words from `start` on ("*" is any one word), the first
    already known to (`score` looks terms up by the word's stem)."""
    if start + len(stems) > len(tokens):
        return False
    for k in range(1, len(stems)):
        tok, stem = tokens[start + k], stems[k]
        if not tok.is_word or (stem != WILDCARD and tok.stem != stem):
            return False
    return True


def _with_extra(extra: dict[str, list[str]] | None) -> dict[str, list[Term]]:
    """The maintained list plus the words an administrator gave the themes (each a strong term)."""
    if not extra:
        return load_terms()
    return _merged(tuple((slug, tuple(phrases)) for slug, phrases in extra.items()))


@lru_cache(maxsize=8)
def _merged(extra: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, list[Term]]:
    """`_with_extra` for one set of administrators' words, built once (not on every report). Read only."""
    index = load_terms()
    merged = {stem: list(terms) for stem, terms in index.items()}
    for slug, phrases in extra:
        if slug == "other":
            continue
        for phrase in phrases:
            stems = _term_stems(phrase)
            if stems and stems[0] != WILDCARD:
                merged.setdefault(stems[0], []).append(Term(stems, slug, STRONG))
    return merged


def score(text: str, extra: dict[str, list[str]] | None = None) -> dict[str, int]:
    """Each theme's score for this text (themes with no match are left out).

    Each term counts once; a term inside a longer matched term of the same theme does not
    count again ("borrow money" does not also score "money"). `extra`: the administrator's
    words per theme (`Theme.words`), which count as strong terms.
    """
    tokens = tokenize(text)
    index = _with_extra(extra)
    matches: list[tuple[int, Term]] = []
    count = len(tokens)
    for i, tok in enumerate(tokens):
        if not tok.is_word:
            continue
        for term in index.get(tok.stem, ()):
            stems = term.stems
            if len(stems) > 1:  # a one-word term has matched already; most longer ones fail on their second word
                if i + len(stems) > count:
                    continue
                second = tokens[i + 1]
                if not second.is_word or (stems[1] != WILDCARD and second.stem != stems[1]):
                    continue
                if len(stems) > 2 and not _matches(tokens, i, stems):
                    continue
            if term.negatable and is_negated(tokens, i):
                continue
            matches.append((i, term))
    matches.sort(key=lambda m: -len(m[1].stems))
    seen: set[Term] = set()
    covered: set[tuple[str, int]] = set()
    scores: dict[str, int] = {}
    for i, term in matches:
        span = {(term.slug, j) for j in range(i, i + len(term.stems))}
        if term in seen or span & covered:
            continue
        seen.add(term)
        covered |= span
        scores[term.slug] = scores.get(term.slug, 0) + term.weight
    return scores


def suggest_themes(text: str, extra: dict[str, list[str]] | None = None) -> list[str]:
    """Up to three theme slugs for a concern, best first; never `other`."""
    scores = score(text, extra)
    ranked = sorted(
        (slug for slug, s in scores.items() if s >= THRESHOLD and slug != "other"),
        key=lambda slug: (-scores[slug], _ORDER.get(slug, len(_ORDER)), slug),
    )
    return ranked[:MAX_SUGGESTIONS]
