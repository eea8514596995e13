"""Request and response shapes of a case, for the API and the pages alike."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, EmailStr, Field, StringConstraints, model_validator

from app.auth.models import User
from app.cases.history import HistoryEntry
from app.cases.models import Exclusion, Message, Note, Referral
from app.cases.views import CaseContent, CaseRow
from app.enums import About, Channel, IdentitySharing, NoteVisibility, Outcome, ReferralKind, Risk, Status, Wish
from app.equality.schemas import EqualityIn
from app.schemas import (
    MAX_THEMES,
    MAX_WISHES,
    AttachmentIds,
    Day,
    FileRef,
    LongText,
    Name,
    Reason,
    Slug,
    StrictModel,
    Timestamp,
)

Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40, pattern=r"^[0-9+() .\-]+$")]


# --- input -------------------------------------------------------------------------------------


class ReporterIdentity(StrictModel):
    name: Name
    email: EmailStr | None = None
    phone: Phone | None = None


class ReportIn(StrictModel):
    """A concern, from the web form or the API."""

    description: LongText = Field(description="What happened, in the reporter's words (1 to 20,000 characters).")
    anonymous: bool = Field(default=True, description="Anonymous unless the reporter chooses to give their name.")
    reporter: ReporterIdentity | None = Field(
        default=None, description="Required (with a name) when not anonymous; refused when anonymous."
    )
    about: About = About.SELF
    identity_sharing: IdentitySharing | None = Field(
        default=None, description="A named reporter's answer: may their identity go with the case to a formal "
        "investigation (`yes`), never (`no`), or only once they have been asked about that one (`ask_me`)? "
        "Refused for an anonymous report; left out: not asked.",
    )
    themes: Annotated[list[str], Field(max_length=MAX_THEMES)] = Field(
        default_factory=list, description="The reporter's own theme hints (slugs)."
    )
    wishes: Annotated[list[Wish], Field(max_length=MAX_WISHES)] = Field(default_factory=list)
    location: Slug | None = Field(
        default=None,
        description="Where the concern is about: an active location's slug (`GET /api/v1/locations`), or "
        "`prefer_not_to_say`. Left out or null: not given. Anything else is 422.",
    )
    equality: EqualityIn | None = Field(
        default=None,
        description="Optional equality monitoring answers. Never stored with the case: `app.flows` hands them "
        "to `app.equality`, which keeps them with no case id, month only, published only in aggregate.",
    )

    @model_validator(mode="after")
    def _identity_matches_anonymity(self) -> ReportIn:
        if self.anonymous and self.reporter is not None:
            raise ValueError("reporter: leave out the reporter's details for an anonymous report, or set anonymous to false")
        if not self.anonymous and self.reporter is None:
            raise ValueError("reporter: a named report needs the reporter's name")
        if self.anonymous and self.identity_sharing is not None:
            raise ValueError("identity_sharing: an anonymous report has no identity to share")
        return self


class CaseCreate(ReportIn):
    """A contact received by phone, e-mail or in person, recorded by the safeguarding team."""

    channel: Literal["phone", "email", "in_person"] = Field(
        description="How the contact reached the team. Web reports come through `POST /api/v1/reports` instead."
    )
    received_at: AwareDatetime = Field(
        description="When the contact was received (RFC 3339 with a zone; not in the future). "
        "Decides whether the case counts as out of office hours."
    )
    duration_minutes: int | None = Field(
        default=None, ge=0, le=1440, description="How long the contact took, in minutes (0 to 1440); null if unknown."
    )
    risk: Risk = Field(
        default=Risk.STANDARD,
        description="`urgent` if the person may be at immediate risk: the safeguarding team's notification says so.",
    )


class CaseUpdate(StrictModel):
    """Triage. Only the fields given change; `null` is refused for `primary_theme`."""

    themes: Annotated[list[Slug], Field(max_length=MAX_THEMES)] | None = Field(
        default=None, description="The case's themes (slugs). The primary theme is always kept among them."
    )
    primary_theme: Slug | None = Field(
        default=None,
        description="An active theme. Setting it triages a received case and acknowledges it if it was not yet.",
    )
    risk: Risk | None = None
    wishes: Annotated[list[Wish], Field(max_length=MAX_WISHES)] | None = None
    location: Slug | None = Field(
        default=None,
        description="An active location's slug; `prefer_not_to_say` or null clears it (the case's current "
        "location may stay even if retired since).",
    )
    owner_id: uuid.UUID | None = Field(
        default=None,
        description="The safeguarding user who owns the case (active, holding `safeguarding`, not excluded): "
        "your own id to take it, a colleague's to hand it over, null to let it go. Records a handover note "
        "(safeguarding only) and tells a new owner other than you by e-mail. Allowed on a closed case.",
    )
    handover_note: Reason | None = Field(
        default=None, description="With `owner_id`: what the new owner should know, added to the handover note."
    )
    identity_sharing: IdentitySharing | None = Field(
        default=None, description="The named reporter's answer about sharing their identity with a formal "
        "investigation, as they have given it in the thread (409 for an anonymous report). Allowed on a closed case.",
    )

    @model_validator(mode="after")
    def _note_goes_with_owner(self) -> CaseUpdate:
        if self.handover_note is not None and "owner_id" not in self.model_fields_set:
            raise ValueError("handover_note: only with owner_id")
        return self

    @property
    def triage_fields(self) -> set[str]:
        return self.model_fields_set - {"owner_id", "handover_note", "identity_sharing"}


class HrContactIn(StrictModel):
    user_id: uuid.UUID = Field(description="A user who holds `hr`, is active and is not excluded from the case.")


class ExclusionIn(StrictModel):
    user_id: uuid.UUID
    reason: Reason = Field(description="Why (stored encrypted), e.g. 'named in the concern'.")


class RedactionIn(StrictModel):
    passage: LongText = Field(description="The words to take out, exactly as the text has them; every "
                              "occurrence becomes `[redacted]`.")


class TextIn(StrictModel):
    body: LongText
    attachment_ids: AttachmentIds = Field(
        default_factory=list,
        description="Up to 5 files you uploaded to this case (`POST /api/v1/cases/{id}/attachments`) and have not yet "
        "put on a message or note, shown with this one. A file on a note is seen by whoever sees the note, never "
        "by the reporter; a file on a message is the reporter's to download too.",
    )


class NoteIn(TextIn):
    visibility: NoteVisibility = Field(
        default=NoteVisibility.CASE_TEAM,
        description="`case_team`: the safeguarding team and the case's HR contact; `safeguarding`: the "
        "safeguarding team only, never an HR contact (only safeguarding may write one: 403).",
    )


class ReferralIn(StrictModel):
    kind: ReferralKind
    note: LongText | None = Field(default=None, description="Who it went to, what was asked (stored encrypted).")
    due_on: Day | None = Field(
        default=None,
        description="When it must be done by (not in the past). Left out: the kind's default period from today "
        "(formal investigation 28 days, police 1, local authority safeguarding 1, regulator notification 5, "
        "occupational health, counselling and third sector 14; `SAFESHARE_REFERRAL_<KIND>_DAYS`).",
    )


class ReferralUpdate(StrictModel):
    completed_on: Day | None = Field(
        description="The day it was done (not in the future, not before it was made); null opens it again."
    )


class CloseIn(StrictModel):
    outcome: Outcome
    summary: LongText = Field(description="What was done and why (stored encrypted; erased with the case).")


# --- output ------------------------------------------------------------------------------------


class Person(BaseModel):
    id: uuid.UUID
    name: str

    @classmethod
    def of(cls, user: User | None) -> Person | None:
        return cls(id=user.id, name=user.name) if user is not None else None


class Deadlines(BaseModel):
    """The EU Whistleblowing Directive's deadlines (article 9(1)(b) and (f))."""

    acknowledge_by: Timestamp = Field(description="received_at + 7 days.")
    acknowledgement_overdue: bool = Field(description="Open, not acknowledged, and acknowledge_by has passed.")
    feedback_due: Timestamp = Field(
        description="3 months after the last word to the reporter: the later of the acknowledgement and the "
        "latest staff message (or, if never acknowledged, 3 months after acknowledge_by)."
    )
    feedback_overdue: bool = Field(description="Open and feedback_due has passed.")


class CaseSummary(Deadlines):
    """One row of the case list: no decrypted content."""

    id: uuid.UUID
    reference: str
    status: Status
    channel: Channel
    primary_theme: str | None
    risk: Risk
    hr_contact: Person | None
    received_at: Timestamp
    out_of_hours: bool
    acknowledged_at: Timestamp | None
    closed_at: Timestamp | None
    needs_new_hr_contact: bool = Field(
        description="Open, and its HR contact's account was deactivated: safeguarding must assign a new one."
    )
    location: str | None = Field(description="The location's slug; null when not given or the reporter preferred not to say.")
    referral_overdue: bool = Field(description="Open, with a referral not completed by its `due_on`.")
    owner: Person | None = Field(description="The safeguarding user who owns the case; null when nobody has taken it.")
    needs_new_owner: bool = Field(
        description="Open, and its owner's account was deactivated: another safeguarding user must take it."
    )
    possible_risk: bool = Field(description="Open, with risk words (`risk_signals`) that came in since a person last "
                                "set `risk`; the queue shows these first.")

    @classmethod
    def of(cls, row: CaseRow) -> CaseSummary:
        return cls(**_summary_fields(row))


def _summary_fields(row: CaseRow) -> dict[str, object]:
    c, d = row.case, row.deadlines
    return dict(
        id=c.id, reference=c.reference, status=c.status, channel=c.channel, primary_theme=c.primary_theme,
        risk=c.risk, hr_contact=Person.of(row.hr_contact), received_at=c.received_at, out_of_hours=c.out_of_hours,
        acknowledged_at=c.acknowledged_at, closed_at=c.closed_at, acknowledge_by=d.acknowledge_by,
        acknowledgement_overdue=d.acknowledgement_overdue, feedback_due=d.feedback_due,
        feedback_overdue=d.feedback_overdue, needs_new_hr_contact=row.needs_new_hr_contact,
        location=c.location, referral_overdue=row.referral_overdue, possible_risk=row.possible_risk,
        owner=Person.of(row.owner), needs_new_owner=row.needs_new_owner,
    )


class CasePage(BaseModel):
    items: list[CaseSummary]
    total: int

    @classmethod
    def of(cls, rows: list[CaseRow], total: int) -> CasePage:
        return cls(items=[CaseSummary.of(r) for r in rows], total=total)


class CaseRead(CaseSummary):
    """The whole case. Reading it is audited (`case.read`)."""

    anonymous: bool
    reporter: dict[str, str | None] | None = Field(description="The reporter's identity; null when anonymous.")
    identity_sharing: IdentitySharing | None = Field(
        description="A named reporter's answer: may their identity go to a formal investigation? Null: not asked.")
    about: About
    description: str | None = Field(description="Null once the case has been erased after its retention date.")
    themes: list[str]
    suggested_themes: list[str] = Field(description="Computed from the description; never applied without a person.")
    risk_signals: list[str] = Field(description="The words of the description, later reporter messages and check-ins "
                                    "that raised the \"possible risk\" flag (empty when none); they never set `risk`.")
    reporter_themes: list[str] = Field(description="The themes the reporter picked themselves.")
    wishes: list[str]
    duration_minutes: int | None
    triaged_at: Timestamp | None
    outcome: Outcome | None
    summary: str | None = Field(description="The closing summary.")
    retain_until: date | None
    purged_at: Timestamp | None
    next_check_in: date | None
    content_access: bool = Field(default=True, description=(
        "False when you hold no key to this case's content: its content fields are then null, and a safeguarding "
        "user who holds the key can grant you access (`POST /api/v1/key-grants`)."))

    @classmethod
    def of(cls, row: CaseRow, content: CaseContent, *, next_check_in: date | None) -> CaseRead:  # type: ignore[override]
        return cls(**_detail_fields(row, content, next_check_in))


def _detail_fields(row: CaseRow, content: CaseContent, next_check_in: date | None) -> dict[str, object]:
    case = row.case
    return dict(
        **_summary_fields(row),
        anonymous=case.anonymous, reporter=content.reporter, identity_sharing=case.identity_sharing, about=case.about, description=content.description,
        themes=case.theme_slugs, suggested_themes=list(content.suggested_themes), reporter_themes=case.reporter_themes,
        risk_signals=list(content.risk_signals),
        wishes=case.wishes, duration_minutes=case.duration_minutes, triaged_at=case.triaged_at,
        outcome=case.outcome, summary=content.summary, retain_until=case.retain_until, purged_at=case.purged_at,
        next_check_in=next_check_in, content_access=content.access,
    )


class CaseCreated(CaseRead):
    receipt: str = Field(
        description="Give this to the person once: it lets them follow up online. Never stored in clear."
    )

    @classmethod
    def created(cls, row: CaseRow, content: CaseContent, *, receipt: str) -> CaseCreated:
        return cls(**_detail_fields(row, content, None), receipt=receipt)


class ExclusionRead(BaseModel):
    id: uuid.UUID
    user: Person
    reason: str | None
    created_by: Person | None
    created_at: Timestamp

    @classmethod
    def of(cls, row: Exclusion, reason: str | None, people: dict[uuid.UUID, User]) -> ExclusionRead:
        assert row.user_id is not None, "the exclusion's user is opened by app.cases.service"
        user = Person.of(people[row.user_id])
        assert user is not None
        return cls(
            id=row.id, user=user, reason=reason, created_at=row.created_at,
            created_by=Person.of(people.get(row.created_by_id)) if row.created_by_id else None,
        )


class NoteRead(BaseModel):
    id: uuid.UUID
    body: str
    author: Person | None
    created_at: Timestamp
    visibility: NoteVisibility
    attachments: list[FileRef] = Field(default_factory=list, description="Files on this note.")

    @classmethod
    def of(cls, note: Note, body: str, author: User | None, attachments: list[FileRef] | None = None) -> NoteRead:
        return cls(id=note.id, body=body, author=Person.of(author), created_at=note.created_at,
                   visibility=note.visibility, attachments=attachments or [])


class HistoryRead(BaseModel):
    """One thing that happened to the case, from the audit trail (never what a note or message says)."""

    at: Timestamp
    actor: str = Field(description="Who: a staff member's name, `The reporter`, or `Safe Share (automatic)`.")
    action: str = Field(description="What, in plain words.")
    detail: str | None = Field(description="More about it where the trail has it (the channel, the outcome, ...).")

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryRead:
        return cls(at=entry.at, actor=entry.actor, action=entry.action, detail=entry.detail)


class MessageRead(BaseModel):
    id: uuid.UUID
    from_: Literal["reporter", "staff"] = Field(serialization_alias="from")
    body: str
    author: Person | None = Field(description="The staff member who wrote it; null for the reporter.")
    created_at: Timestamp
    attachments: list[FileRef] = Field(default_factory=list, description="Files sent with this message.")

    @classmethod
    def of(cls, message: Message, body: str, author: User | None, attachments: list[FileRef] | None = None
           ) -> MessageRead:
        return cls(
            id=message.id, from_=message.sender.value, body=body, author=Person.of(author),
            created_at=message.created_at, attachments=attachments or [],
        )


class ReferralRead(BaseModel):
    id: uuid.UUID
    kind: ReferralKind
    note: str | None = Field(description="Null when none was given, or once the case has been erased.")
    created_at: Timestamp
    created_by: Person | None
    due_on: date
    completed_on: date | None
    overdue: bool = Field(description="Not completed and `due_on` has passed.")

    @classmethod
    def of(cls, row: Referral, note: str | None, people: dict[uuid.UUID, User], *, today: date) -> ReferralRead:
        return cls(
            id=row.id, kind=row.kind, note=note, created_at=row.created_at, due_on=row.due_on,
            completed_on=row.completed_on, overdue=row.completed_on is None and row.due_on < today,
            created_by=Person.of(people.get(row.created_by_id)) if row.created_by_id else None,
        )
