"""Search inside cases: decrypt and match, within the cases the user may see (docs/casework.md).

Nothing about a case's words is stored outside its ciphertext: no index, no hashes of words. A
search takes the cases the list's own scoping query and filters leave (`app.cases.access`,
in SQL: visibility and exclusions first), opens each with the case's data key, and keeps those
whose reference, description, reporter name, notes (safeguarding-only notes only for the
safeguarding team) and messages hold every word of the search. Words match on their Porter2 stem
(the stemmer the theme suggester uses), whatever their letter case: "bullied" finds "bullying".

A search holds the visible cases' ciphertext in memory while it runs (four queries, each narrowed
by the list's own scoping query as a subquery); its words are never written anywhere (the audit entry `case.search` says that a search happened, not for what).
"""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.cases.models import Case, Message, Note
from app.crypto import fields, keys
from app.crypto.envelope import CaseCipher
from app.crypto.keyring import KeyRing
from app.enums import NoteVisibility
from app.themes.suggest import stem

MAX_WORDS = 10
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def _lower(text: str) -> str:
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def words_of(text: str) -> list[str]:
    """The lower-cased words of a text (letters and digits in any script; "don't" is one word)."""
    return _WORD.findall(_lower(text))


def stems_of(query: str) -> frozenset[str]:
    """The distinct stems a search asks for (at most `MAX_WORDS` words are read)."""
    return frozenset(stem(w) for w in words_of(query)[:MAX_WORDS])


def _clues(stem_: str) -> tuple[str, ...]:
    """What any text holding a word of this stem must contain: the stem's first three letters.
    Porter2 only trims a word's ending, except that it turns a "y" into "i" ("cry" -> "cri",
    "dying" -> "die", where the "e" is new too) and back ("skies" -> "sky"), so each "i" or "y"
    after the first letter may have been the other."""
    head = stem_[:2] if stem_ in ("die", "lie", "tie") else stem_[:3]
    variants = {head}
    for i, ch in enumerate(head):
        if ch in "iy" and i > 0:  # ("skies" -> "sky" the other way round)
            variants |= {v[:i] + ("y" if ch == "i" else "i") + v[i + 1:] for v in variants}
    return tuple(variants)


def _holds_all(text: str, stems: frozenset[str], clues: list[tuple[str, ...]]) -> bool:
    """Whether the (lower-cased) text holds a word of every stem. A quick look for each stem's
    first letters rules most texts out before any word is stemmed."""
    if not all(any(c in text for c in options) for options in clues):
        return False
    wanted = set(stems)
    for word in set(words_of(text)):
        wanted.discard(stem(word))
        if not wanted:
            return True
    return False


def _texts(cipher: CaseCipher | None, case: Any, notes: list[tuple[uuid.UUID, bytes, bool]],
           messages: list[tuple[uuid.UUID, bytes]], sg_cipher: CaseCipher | None = None) -> Iterable[str]:
    """The case's searchable texts, decrypted. An erased case (its key destroyed) has only its
    reference left. A note under the safeguarding-only key is read with `sg_cipher` (left out
    without it)."""
    yield case.reference
    if cipher is None or case.purged_at is not None:
        return
    if case.description_ct is not None:
        yield cipher.decrypt(fields.CASE_DESCRIPTION, case.id, case.description_ct)
    if not case.anonymous and case.reporter_ct is not None:
        reporter = json.loads(cipher.decrypt(fields.CASE_REPORTER, case.id, case.reporter_ct))
        yield " ".join(str(v) for v in reporter.values() if v)
    for note_id, blob, under_sg_key in notes:
        if not under_sg_key:
            yield cipher.decrypt(fields.NOTE_BODY, note_id, blob)
        elif sg_cipher is not None:
            yield sg_cipher.decrypt(fields.NOTE_BODY, note_id, blob)
    for message_id, blob in messages:
        yield cipher.decrypt(fields.MESSAGE_BODY, message_id, blob)


def matching(session: Session, ring: KeyRing, *, scope: Select[Any], order: Sequence[Any], stems: frozenset[str],
             safeguarding: bool) -> list[uuid.UUID]:
    """The ids of the cases of `scope` (a SELECT of the cases the caller may see, filtered) whose
    texts hold every stem, in `order`. `safeguarding`: safeguarding-only notes are searched too.

    A fixed number of queries whatever the number of cases (the cases, their keys, notes and messages, each
    narrowed by `scope` as a subquery): no list of ids goes back and forth."""
    ids = scope.with_only_columns(Case.id).order_by(None)
    cases = session.execute(
        scope.with_only_columns(Case.id, Case.reference, Case.anonymous, Case.description_ct, Case.reporter_ct,
                                Case.purged_at).order_by(*order, Case.id)
    ).all()
    ciphers = keys.case_ciphers(session, ring, within=ids)
    sg_ciphers = keys.sg_ciphers(session, ring, within=ids) if safeguarding else {}
    notes: dict[uuid.UUID, list[tuple[uuid.UUID, bytes, bool]]] = defaultdict(list)
    note_rows = select(Note.case_id, Note.id, Note.body_ct, Note.under_sg_key).where(
        Note.case_id.in_(ids), Note.body_ct.is_not(None))
    if not safeguarding:
        note_rows = note_rows.where(Note.visibility == NoteVisibility.CASE_TEAM)
    for case_id, note_id, blob, under_sg_key in session.execute(note_rows.order_by(Note.created_at, Note.id)):
        if blob is not None:
            notes[case_id].append((note_id, blob, under_sg_key))
    messages: dict[uuid.UUID, list[tuple[uuid.UUID, bytes]]] = defaultdict(list)
    for case_id, message_id, blob in session.execute(
        select(Message.case_id, Message.id, Message.body_ct)
        .where(Message.case_id.in_(ids), Message.body_ct.is_not(None)).order_by(Message.created_at, Message.id)
    ):
        if blob is not None:
            messages[case_id].append((message_id, blob))
    clues = [_clues(s) for s in stems]
    found: list[uuid.UUID] = []
    for case in cases:
        texts = _texts(ciphers.get(case.id), case, notes.get(case.id, []), messages.get(case.id, []),
                       sg_ciphers.get(case.id))
        if _holds_all(_lower("\n".join(texts)), stems, clues):
            found.append(case.id)
    return found
