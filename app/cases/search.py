"""Search inside cases: decrypt and match, within the cases the user may see (docs/casework.md).

Nothing about a case's words is stored outside its ciphertext: no index, no hashes of words. A
search takes the cases the list's own scoping query and filters leave (`app.cases.access`,
in SQL: visibility and exclusions first), opens each with the case's data key, and keeps those
whose reference, description, reporter name, notes (safeguarding-only notes only for the
safeguarding team) and messages hold every word of the search. Words match on their Porter2 stem
(the stemmer the theme suggester uses), whatever their letter case: "bullied" finds "bullying".

The search reads in batches, so memory stays bounded at any number of cases; its words are never
written anywhere (the audit entry `case.search` says that a search happened, not for what).
"""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.models import Case, Message, Note
from app.crypto import keys
from app.crypto.envelope import CaseCipher
from app.crypto.keyring import KeyRing
from app.enums import NoteVisibility
from app.themes.suggest import stem

MAX_WORDS = 10
BATCH = 500
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def words_of(text: str) -> list[str]:
    """The lower-cased words of a text (letters and digits in any script; "don't" is one word)."""
    return _WORD.findall(text.lower().replace("\u2019", "'").replace("\u2018", "'"))


def stems_of(query: str) -> frozenset[str]:
    """The distinct stems a search asks for (at most `MAX_WORDS` words are read)."""
    return frozenset(stem(w) for w in words_of(query)[:MAX_WORDS])


def _holds(text: str, wanted: set[str]) -> None:
    """Strike from `wanted` every stem this text holds."""
    for word in set(words_of(text)):
        wanted.discard(stem(word))
        if not wanted:
            return


def _texts(cipher: CaseCipher | None, case: Any, notes: list[tuple[uuid.UUID, bytes]],
           messages: list[tuple[uuid.UUID, bytes]]) -> Iterable[str]:
    """The case's searchable texts, decrypted one at a time (so a match can stop early). An erased
    case (its key destroyed) has only its reference left."""
    yield case.reference
    if cipher is None or case.purged_at is not None:
        return
    if case.description_ct is not None:
        yield cipher.decrypt("cases", "description", case.id, case.description_ct)
    if not case.anonymous and case.reporter_ct is not None:
        reporter = json.loads(cipher.decrypt("cases", "reporter", case.id, case.reporter_ct))
        yield " ".join(str(v) for v in reporter.values() if v)
    for note_id, blob in notes:
        yield cipher.decrypt("notes", "body", note_id, blob)
    for message_id, blob in messages:
        yield cipher.decrypt("messages", "body", message_id, blob)


def matching(
    session: Session, ring: KeyRing, *, case_ids: Sequence[uuid.UUID], stems: frozenset[str], safeguarding: bool
) -> list[uuid.UUID]:
    """Those of `case_ids` (cases the caller may see, in the order wanted) whose texts hold every
    stem, in the same order. `safeguarding`: safeguarding-only notes are searched too."""
    found: list[uuid.UUID] = []
    for start in range(0, len(case_ids), BATCH):
        batch = list(case_ids[start:start + BATCH])
        cases = {c.id: c for c in session.execute(
            select(Case.id, Case.reference, Case.anonymous, Case.description_ct, Case.reporter_ct, Case.purged_at)
            .where(Case.id.in_(batch)))}
        ciphers = keys.case_ciphers(session, ring, list(cases))
        notes: dict[uuid.UUID, list[tuple[uuid.UUID, bytes]]] = defaultdict(list)
        note_rows = select(Note.case_id, Note.id, Note.body_ct).where(Note.case_id.in_(batch), Note.body_ct.is_not(None))
        if not safeguarding:
            note_rows = note_rows.where(Note.visibility == NoteVisibility.CASE_TEAM)
        for case_id, note_id, blob in session.execute(note_rows):
            if blob is not None:
                notes[case_id].append((note_id, blob))
        messages: dict[uuid.UUID, list[tuple[uuid.UUID, bytes]]] = defaultdict(list)
        for case_id, message_id, blob in session.execute(
            select(Message.case_id, Message.id, Message.body_ct).where(
                Message.case_id.in_(batch), Message.body_ct.is_not(None))
        ):
            if blob is not None:
                messages[case_id].append((message_id, blob))
        for case_id in batch:
            case = cases.get(case_id)
            if case is None:
                continue
            wanted = set(stems)
            for text in _texts(ciphers.get(case_id), case, notes[case_id], messages[case_id]):
                _holds(text, wanted)
                if not wanted:
                    found.append(case_id)
                    break
    return found
