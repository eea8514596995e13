"""Suggested themes for a new case: a transparent word-list scorer (stems, phrases, negation) that
triage can read and correct, with no external service; never applied without a person
confirming. How it scores, and its measured precision and recall: docs/checkins.md, "Theme
suggester"."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Sequence
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
_MARKS = frozenset('.,;:!?()"')  # the punctuation TOKEN_PATTERN keeps
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


def _plain(text: str) -> str:
    """The text lower-cased, with curly apostrophes made straight."""
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def tokenize(text: str) -> list[Token]:
    """Lower-cased words and punctuation, each word with its Porter2 stem."""
    return [Token(w, w, False) if w in _MARKS else Token(w, _stem(w), True) for w in _TOKEN.findall(_plain(text))]


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


class Term(NamedTuple):  # a tuple, not a frozen dataclass: `score` keeps a set of terms, and tuples hash in C
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


# A match as `score` sorts it: (minus the term's length, where it starts, the term's rank in its
# first stem's list, the term). Longest first, then in reading order, as the list has them.
_Match = tuple[int, int, int, Term]


class _First(NamedTuple):
    """The terms opening with one stem, split by how `_find` checks them (each with its rank in that
    stem's list, which `score` keeps to)."""
    words: tuple[tuple[int, Term], ...]  # one-word terms
    pairs: dict[str, tuple[tuple[int, Term, list[str]], ...]]  # longer ones by their second stem, with
    # the stems after those two (none a wildcard)
    wild: tuple[tuple[int, Term], ...]  # terms with a wildcard


def _split(terms: list[Term]) -> _First:
    """One stem's list, as `_find` reads it."""
    words: list[tuple[int, Term]] = []
    pairs: dict[str, list[tuple[int, Term, list[str]]]] = {}
    wild: list[tuple[int, Term]] = []
    for rank, term in enumerate(terms):
        stems = term.stems
        if WILDCARD in stems:
            wild.append((rank, term))
        elif len(stems) == 1:
            words.append((rank, term))
        else:
            pairs.setdefault(stems[1], []).append((rank, term, list(stems[2:])))
    return _First(tuple(words), {second: tuple(p) for second, p in pairs.items()}, tuple(wild))


def _with_extra(extra: dict[str, list[str]] | None) -> dict[str, _First]:
    """The maintained list plus the words an administrator gave the themes (each a strong term)."""
    return _index(tuple((slug, tuple(phrases)) for slug, phrases in extra.items()) if extra else ())


@lru_cache(maxsize=8)
def _index(extra: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, _First]:
    """`_with_extra` for one set of administrators' words, built once (not on every report). Read only."""
    merged = {stem: list(terms) for stem, terms in load_terms().items()}
    for slug, phrases in extra:
        if slug == "other":
            continue
        for phrase in phrases:
            stems = _term_stems(phrase)
            if stems and stems[0] != WILDCARD:
                merged.setdefault(stems[0], []).append(Term(stems, slug, STRONG))
    return {stem: _split(terms) for stem, terms in merged.items()}


def _matches(stems: list[str | None], start: int, term: tuple[str, ...]) -> bool:
    """Whether a term's stems match the text's from `start` on ("*" is any one word, never punctuation)."""
    if start + len(term) > len(stems):
        return False
    for k in range(1, len(term)):
        stem, want = stems[start + k], term[k]
        if stem is None or (want != WILDCARD and stem != want):
            return False
    return True


def _find(stems: list[str | None], index: dict[str, _First]) -> list[_Match]:
    """Every term matching somewhere in the text's stems (None for punctuation), negated or not."""
    found: list[_Match] = []
    last = len(stems) - 1
    for i, stem in enumerate(stems):
        if stem is None or (first := index.get(stem)) is None:
            continue
        for rank, term in first.words:
            found.append((-1, i, rank, term))
        if first.pairs and i < last and (second := stems[i + 1]) is not None:
            for rank, term, rest in first.pairs.get(second, ()):
                if stems[i + 2:i + 2 + len(rest)] == rest:
                    found.append((-len(term.stems), i, rank, term))
        for rank, term in first.wild:
            if _matches(stems, i, term.stems):
                found.append((-len(term.stems), i, rank, term))
    return found


def _unnegated(found: list[_Match], plain: str, words: list[str], stems: list[str | None]) -> list[_Match]:
    """`found` without the negatable terms a negator governs (`is_negated`, each place read once)."""
    negators = _NEGATORS.intersection(words)  # the text's words `is_negator` accepts
    if "n't" in plain:
        negators |= {w for w in words if w.endswith("n't")}
    if not negators:  # most texts
        return found
    # Only a place with a negator among the few words before it can be negated: most have none.
    places = {i for _, i, _, term in found
              if term.negatable and not negators.isdisjoint(words[max(i - NEGATION_WINDOW, 0):i])}
    if not places:
        return found
    tokens = [Token(w, w, False) if s is None else Token(w, s, True) for w, s in zip(words, stems, strict=True)]
    negated = {i for i in places if is_negated(tokens, i)}
    return [m for m in found if not (m[3].negatable and m[1] in negated)]


def score(text: str, extra: dict[str, list[str]] | None = None) -> dict[str, int]:
    """Each theme's score for this text (themes with no match are left out).

    Each term counts once; a term inside a longer matched term of the same theme does not
    count again ("borrow money" does not also score "money"). `extra`: the administrator's
    words per theme (`Theme.words`), which count as strong terms.
    """
    plain = _plain(text)
    words = _TOKEN.findall(plain)
    stems = [None if w in _MARKS else _stem(w) for w in words]
    found = _find(stems, _with_extra(extra))
    if found:
        found = _unnegated(found, plain, words, stems)
    found.sort()
    seen: set[Term] = set()
    covered: dict[str, set[int]] = {}  # per theme, the places its counted terms cover
    scores: dict[str, int] = {}
    for minus_length, i, _, term in found:
        span = range(i, i - minus_length)
        slug = term.slug
        places = covered.setdefault(slug, set())
        if term in seen or not places.isdisjoint(span):
            continue
        seen.add(term)
        places.update(span)
        scores[slug] = scores.get(slug, 0) + term.weight
    return scores


def suggest_themes(text: str, extra: dict[str, list[str]] | None = None) -> list[str]:
    """Up to three theme slugs for a concern, best first; never `other`."""
    scores = score(text, extra)
    ranked = sorted((-s, _ORDER.get(slug, len(_ORDER)), slug) for slug, s in scores.items()
                    if s >= THRESHOLD and slug != "other")
    return [slug for _, _, slug in ranked[:MAX_SUGGESTIONS]]
