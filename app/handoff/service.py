"""Hand-off to a formal investigation: a case as a PDF (docs/console.md, "PDF hand-off").

The safeguarding team chooses the parts (the description, the messages, the notes for the case
team, the notes for the safeguarding team only, the list of files); every page carries who
exported it and when, and the export is one audit entry (`case.export`, with the parts, never
the text). The reporter's identity goes in only when they said yes to it being shared
(`identity_sharing`); otherwise the PDF says that it was left out and why.

Drawn with fpdf2 (pure Python): a TrueType font with the scripts reporters write in
(DejaVu Sans, Debian's `fonts-dejavu-core`), or, where the machine has none, the PDF core font
with what it cannot show replaced by "?".
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.attachments import service as attachments
from app.audit import service as audit
from app.auth.models import User
from app.auth.service import actor
from app.cases import service as cases
from app.cases.models import Case, Message, Note
from app.crypto import fields, keys
from app.crypto.envelope import NoCaseKey
from app.crypto.keyring import KeyRing
from app.enums import IdentitySharing, NoteVisibility, Sender
from app.errors import Conflict


class ExportPart(str, enum.Enum):
    """A part of a case a PDF hand-off may hold."""

    DESCRIPTION = "description"
    MESSAGES = "messages"
    NOTES = "notes"
    SAFEGUARDING_NOTES = "safeguarding_notes"
    ATTACHMENTS = "attachments"


PARTS = tuple(p.value for p in ExportPart)
DEFAULT_PARTS = ("description", "messages", "notes", "attachments")
FONT_FILES = (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
              Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"))
SHARING_LEFT_OUT = {
    IdentitySharing.NO.value: "they asked for it never to be shared",
    IdentitySharing.ASK_ME.value: "they asked to be asked first: ask them, record their answer, then export again",
    None: "they have not been asked whether it may be shared",
}


@dataclass(frozen=True)
class Export:
    filename: str
    content: bytes


def _font_file() -> Path | None:
    return next((p for p in FONT_FILES if p.is_file()), None)


class _Pdf(FPDF):
    def __init__(self, *, reference: str, stamp: str) -> None:
        super().__init__(format="A4")
        self.reference, self.stamp = reference, stamp
        font = _font_file()
        if font is not None:
            self.add_font("body", fname=str(font))
            self.family_name, self.unicode = "body", True
        else:
            self.family_name, self.unicode = "helvetica", False
        self.set_auto_page_break(auto=True, margin=20)
        self.set_title(f"Case {reference}")
        self.set_creator("Safe Share")
        self.alias_nb_pages()

    def text_(self, value: str) -> str:
        return value if self.unicode else value.encode("latin-1", "replace").decode("latin-1")

    def header(self) -> None:
        self.set_font(self.family_name, size=8)
        self.set_text_color(90)
        self.multi_cell(0, 4, self.text_(f"CONFIDENTIAL · Case {self.reference} · {self.stamp}"), align="C",
                        new_x="LMARGIN", new_y="NEXT")
        self.ln(3)
        self.set_text_color(0)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(self.family_name, size=8)
        self.set_text_color(90)
        self.cell(0, 4, self.text_(f"{self.stamp} · page {self.page_no()} of {{nb}}"), align="C")
        self.set_text_color(0)

    def heading(self, words: str) -> None:
        self.ln(3)
        self.set_font(self.family_name, size=13)
        self.multi_cell(0, 7, self.text_(words), new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.family_name, size=10)

    def para(self, words: str, *, size: int = 10) -> None:
        self.set_font(self.family_name, size=size)
        self.multi_cell(0, 5, self.text_(words), new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def item(self, label: str, body: str) -> None:
        self.set_font(self.family_name, size=8)
        self.set_text_color(70)
        self.multi_cell(0, 4, self.text_(label), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0)
        self.para(body)


def _when(at: datetime | None, tz: Any) -> str:
    if at is None:
        return "—"
    local = at.astimezone(tz)
    return f"{local.day} {local:%B %Y}, {local:%H:%M}"


def _name(people: dict[Any, User], user_id: Any, fallback: str) -> str:
    person = people.get(user_id) if user_id is not None else None
    return person.name if person is not None else fallback


def export_pdf(session: Session, ring: KeyRing, *, user: User, case: Case, parts: Sequence[str], tz: Any) -> Export:
    """The case as a PDF with the chosen `parts` (safeguarding), each page marked with who exported
    it and when; audited as `case.export` (`pdf:` and the parts). 409 once the case is erased."""
    if case.purged_at is not None:
        raise Conflict("This case has been erased after its retention date: there is nothing to export.")
    chosen = [p for p in PARTS if p in parts]
    now = clock.now()
    stamp = f"Exported by {user.name} on {_when(now, tz)} ({tz})"
    content = cases.read_content(session, ring, user=user, case=case, audited=False)
    cipher = keys.case_cipher(session, ring, case.id)
    pdf = _Pdf(reference=case.reference, stamp=stamp)
    pdf.add_page()
    pdf.set_font(pdf.family_name, size=18)
    pdf.multi_cell(0, 9, pdf.text_(f"Case {case.reference}"), new_x="LMARGIN", new_y="NEXT")
    pdf.para(f"Prepared for a formal investigation. {stamp}. This copy holds only the parts chosen for it: "
             + ", ".join(p.replace("_", " ") for p in chosen) + ".", size=9)
    facts = [("Received", _when(case.received_at, tz)), ("How", case.channel.value.replace("_", " ")),
             ("Status", case.status.value.replace("_", " ")), ("Risk", case.risk.value),
             ("Primary theme", (case.primary_theme or "not yet triaged").replace("_", " "))]
    if case.outcome is not None:
        facts.append(("Outcome", case.outcome.value.replace("_", " ")))
    for label, value in facts:
        pdf.para(f"{label}: {value}")

    pdf.heading("Who raised it")
    if case.anonymous:
        pdf.para("An anonymous report: nobody at the service knows who raised it.")
    elif case.identity_sharing is IdentitySharing.YES and content.reporter is not None:
        pdf.para("The reporter agreed that their identity may be shared with a formal investigation.")
        for key in ("name", "email", "phone"):
            if content.reporter.get(key):
                pdf.para(f"{key.capitalize()}: {content.reporter[key]}")
    else:
        why = SHARING_LEFT_OUT.get(case.identity_sharing.value if case.identity_sharing else None, "")
        pdf.para(f"A named report. The reporter's identity is left out of this copy: {why}.")

    if "description" in chosen:
        pdf.heading("The concern, in the reporter's words")
        pdf.para(content.description or "")
    people = cases.people(session, set())
    if "messages" in chosen:
        rows = session.scalars(select(Message).where(Message.case_id == case.id, Message.body_ct.is_not(None))
                               .order_by(Message.created_at, Message.id)).all()
        people = cases.people(session, {m.author_id for m in rows})
        pdf.heading(f"Messages with the reporter ({len(rows)})")
        for m in rows:
            assert m.body_ct is not None
            who = "The reporter" if m.sender is Sender.REPORTER else _name(people, m.author_id, "Staff")
            pdf.item(f"{_when(m.created_at, tz)} · {who}", cipher.decrypt(fields.MESSAGE_BODY, m.id, m.body_ct))
    wanted_notes = [v for part, v in (("notes", NoteVisibility.CASE_TEAM),
                                       ("safeguarding_notes", NoteVisibility.SAFEGUARDING)) if part in chosen]
    if wanted_notes:
        notes = session.scalars(select(Note).where(Note.case_id == case.id, Note.body_ct.is_not(None),
                                                   Note.visibility.in_(wanted_notes))
                                .order_by(Note.created_at, Note.id)).all()
        people = cases.people(session, {n.author_id for n in notes})
        pdf.heading(f"Internal notes ({len(notes)})")
        for n in notes:
            assert n.body_ct is not None
            only = " · for the safeguarding team only" if n.visibility is NoteVisibility.SAFEGUARDING else ""
            try:
                text = cases.note_cipher(session, ring, n).decrypt(fields.NOTE_BODY, n.id, n.body_ct)
            except NoCaseKey:  # under a safeguarding-only key the exporter was not granted
                text = "(Not in this copy: you hold no key to this note yet.)"
            pdf.item(f"{_when(n.created_at, tz)} · {_name(people, n.author_id, 'Staff')}{only}", text)
    if "attachments" in chosen:
        hidden = set() if "safeguarding_notes" in chosen else set(session.scalars(
            select(Note.id).where(Note.case_id == case.id, Note.visibility == NoteVisibility.SAFEGUARDING)))
        files = [f for f in attachments.for_staff(session, ring, user=user, case=case)
                 if f.row.note_id not in hidden]
        pdf.heading(f"Files on the case ({len(files)}), listed, not included")
        for f in files:
            pdf.para(f"{f.filename} · {f.row.content_type} · {f.row.size:,} bytes · "
                     f"from {'the reporter' if f.row.sender.value == 'reporter' else 'staff'} · "
                     f"{_when(f.row.created_at, tz)}")
    audit.record(session, actor(user), "case.export", case_id=case.id, target="pdf:" + ",".join(chosen))
    return Export(filename=f"{case.reference}.pdf", content=bytes(pdf.output()))
