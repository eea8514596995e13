"""A case's history for the safeguarding team: its audit entries in plain words (docs/console.md).

The trail never holds content, nor whom an action was about, so neither does the history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.auth.models import User
from app.auth.service import actor
from app.cases.models import Case
from app.labels import CHANNEL_LABELS, OUTCOME_LABELS, REFERRAL_LABELS

READS = {
    "case": "Opened the case",
    "notes": "Read the internal notes",
    "messages": "Read the messages",
    "exclusions": "Read who is excluded",
    "referrals": "Read the referrals",
    "history": "Read the case's history",
}
PLAIN: dict[str, str] = {
    "case.triage": "Triaged the case",
    "case.assign": "Assigned an HR contact",
    "case.unassign": "The HR contact stopped being the contact",
    "case.exclude": "Excluded a person from the case",
    "case.close": "Closed the case",
    "case.purge": "Erased the case after its retention date",
    "note.create": "Wrote an internal note",
    "referral.create": "Made a referral",
    "referral.complete": "Marked a referral complete",
    "referral.reopen": "Opened a referral again",
    "check_in.read": "Read the check-ins",
    "check_in.complete": "Recorded a check-in",
    "check_in.remind": "Sent a check-in reminder",
    "attachment.create": "Added a file",
    "attachment.download": "Opened a file",
    "attachment.withdraw": "Withdrew a file",
    "feedback.create": "Gave feedback",
    "reporter.case.view": "Looked at the case online",
    "reporter.session.start": "Signed in with their receipt",
    "reporter.session.end": "Signed out",
    "integrity.failure": "Stored data failed its integrity check",
}
SHARING = {"yes": "yes, with a formal investigation", "no": "no", "ask_me": "ask them first"}
OWNER = {"take": "Took the case", "handover": "Handed the case over", "release": "Let the case go (no owner)"}
REFUSED_HOW = {"open": "opening it by its address", "search": "searching for its reference"}
REFUSED_WHY = {"excluded": "excluded from the case", "not_assigned": "not the case's HR contact"}


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str
    action: str
    detail: str | None


def _label(value: str) -> str:
    return value.replace("_", " ")


def describe(action: str, target: str | None, *, by_reporter: bool) -> tuple[str, str | None]:
    """(what happened, a detail) for one audit entry; unknown actions still read as words."""
    if action == "case.read":
        return READS.get(target or "", "Read part of the case"), None if target in READS else target
    if action == "case.create":
        how = CHANNEL_LABELS[target].lower() if target in CHANNEL_LABELS else target
        return ("Sent the concern" if by_reporter else "Recorded the concern"), how
    if action == "message.create":
        return ("Wrote to the team" if by_reporter else "Wrote to the reporter"), None
    if action == "note.create":
        return PLAIN[action], "for the safeguarding team only" if target == "safeguarding" else None
    if action == "case.close":
        return PLAIN[action], OUTCOME_LABELS.get(target or "")
    if action == "referral.create":
        return PLAIN[action], REFERRAL_LABELS.get(target or "")
    if action == "case.signpost":
        n = int(target) if target and target.isdigit() else 0
        return "Sent the reporter organisations that may help", (f"{n} organisation{'s' if n != 1 else ''}"
                                                                 if n else None)
    if action == "case.export":
        kind, _, chosen = (target or "").partition(":")
        held = [p.replace("_", " ") for p in chosen.split(",") if p.replace("_", "").isalpha()]
        return "Exported the case for a formal investigation", (
            f"{kind.upper()}: {', '.join(held)}" if kind == "pdf" and held else None)
    if action == "case.redact":
        return "Redacted a passage", {"note": "of an internal note", "message": "of a message"}.get(target or "")
    if action == "case.identity_sharing":
        return "Recorded the reporter's answer about sharing their identity", SHARING.get(target or "")
    if action == "case.owner":
        return OWNER.get(target or "", "Changed the owner"), None
    if action == "case.refused":
        how, _, why = (target or "").partition(":")
        parts = [REFUSED_HOW.get(how), REFUSED_WHY.get(why)]
        return "Was refused access", "; ".join(p for p in parts if p) or None
    if action in PLAIN:
        return PLAIN[action], None  # their targets are row ids: nothing a reader can use
    noun, _, verb = action.partition(".")
    words = _label(noun).capitalize() + (f" ({_label(verb).replace('.', ', ')})" if verb else "")
    return words, None


def _who(event: AuditEvent, people: dict[uuid.UUID, User]) -> str:
    if event.actor_id is not None and event.actor_id in people:
        return people[event.actor_id].name
    if event.actor == audit.REPORTER.label:
        return "The reporter"
    if event.actor.startswith("system:"):
        return "Safe Share (automatic)"
    return "A former user" if event.actor_id is not None else event.actor


# One look at the case page reads its parts one after another: shown as one entry.
TOGETHER = timedelta(seconds=5)
PARTS = {"notes": "the internal notes", "messages": "the messages", "exclusions": "who is excluded",
         "referrals": "the referrals", "check_ins": "the check-ins"}


def _part(event: AuditEvent) -> str | None:
    """What part of the case a reading entry read ("case" for the case itself), or None for any other entry."""
    if event.action == "check_in.read":
        return "check_ins"
    if event.action == "case.read" and (event.target == "case" or event.target in PARTS):
        return event.target
    return None


def _words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _grouped(events: list[AuditEvent]) -> list[list[AuditEvent]]:
    """Entries in order, a person's readings of the case's parts within a few seconds kept together."""
    groups: list[list[AuditEvent]] = []
    for e in events:
        last = groups[-1] if groups else None
        if (last is not None and _part(e) is not None and _part(last[0]) is not None
                and (e.actor_id, e.actor) == (last[0].actor_id, last[0].actor) and e.at - last[0].at <= TOGETHER):
            last.append(e)
        else:
            groups.append([e])
    return groups


def read(session: Session, *, user: User, case: Case) -> list[HistoryEntry]:
    """Every audit entry of the case, oldest first, in plain words (this reading is audited too)."""
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)
    ).all()
    ids = {e.actor_id for e in events if e.actor_id is not None}
    people = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    audit.record(session, actor(user), "case.read", case_id=case.id, target="history")
    out = []
    for group in _grouped(list(events)):
        e = group[0]
        if len(group) == 1:
            action, detail = describe(e.action, e.target, by_reporter=e.actor == audit.REPORTER.label)
        else:
            parts = [_part(g) for g in group]
            rest = [PARTS[p] for p in dict.fromkeys(parts) if p is not None and p != "case"]
            action = "Opened the case" if "case" in parts else "Read " + _words(rest)
            detail = ("read " + _words(rest)) if "case" in parts and rest else None
        out.append(HistoryEntry(at=e.at, actor=_who(e, people), action=action, detail=detail))
    return out
