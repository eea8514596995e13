from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, IdMixin, TimestampMixin
from app.enums import (
    About,
    Channel,
    IdentitySharing,
    NoteVisibility,
    Outcome,
    ReferralKind,
    Risk,
    Sender,
    SentAs,
    Status,
    db_enum,
)


class Case(IdMixin, TimestampMixin, Base):
    """A concern. Text and identity are ciphertext under the case's own data key (`*_ct`)."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_month_theme", "received_month", "primary_theme"),)

    reference: Mapped[str] = mapped_column(String(16), unique=True)
    channel: Mapped[Channel] = mapped_column(db_enum(Channel, "channel"))
    status: Mapped[Status] = mapped_column(db_enum(Status, "status"), default=Status.RECEIVED, index=True)
    anonymous: Mapped[bool] = mapped_column(default=True)
    about: Mapped[About] = mapped_column(db_enum(About, "about"), default=About.SELF)
    description_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    reporter_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    # A named reporter's consent to their identity going with the case to a formal investigation
    # (the PDF hand-off); null for an anonymous report. Not content: it says no more than `anonymous`.
    identity_sharing: Mapped[IdentitySharing | None] = mapped_column(db_enum(IdentitySharing, "identity_sharing"))
    # HMAC of the normalised receipt, keyed from the key ring: one indexed lookup, never a scan.
    receipt_lookup: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    reporter_themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The suggester's themes (a JSON list), sealed under the case's key: for an untriaged report
    # they say what it is about. Read with the content (app.cases.service.read_content).
    suggested_themes_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    primary_theme: Mapped[str | None] = mapped_column(ForeignKey("themes.slug"))
    # Where the concern is about (NULL: not given or "prefer not to say"). Survives purge, like the theme.
    location: Mapped[str | None] = mapped_column(ForeignKey("locations.slug"))
    risk: Mapped[Risk] = mapped_column(db_enum(Risk, "risk"), default=Risk.STANDARD)
    # The words that raised the "possible risk" flag (app.cases.risk), from the description, the
    # reporter's later messages and check-ins: a JSON list, ciphertext under the case's key like
    # the text they come from. They never set `risk`. `risk_flagged_at`: when risk words last came
    # in, cleared when a safeguarding user sets the risk at triage (a person has looked).
    risk_signals_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    risk_flagged_at: Mapped[datetime | None]
    wishes: Mapped[list[str]] = mapped_column(JSON, default=list)
    hr_contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The safeguarding user who answers for the case (null: nobody has taken it yet).
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    received_at: Mapped[datetime]
    # Kept after purge for statistics: the month only, never the day.
    received_month: Mapped[str] = mapped_column(String(7))
    out_of_hours: Mapped[bool] = mapped_column(default=False)
    duration_minutes: Mapped[int | None]
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None]
    triaged_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    outcome: Mapped[Outcome | None] = mapped_column(db_enum(Outcome, "outcome"))
    closing_summary_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    retain_until: Mapped[date | None]
    purged_at: Mapped[datetime | None]

    themes: Mapped[list[CaseTheme]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="CaseTheme.theme_slug"
    )

    @property
    def theme_slugs(self) -> list[str]:
        return [t.theme_slug for t in self.themes]


class CaseTheme(Base):
    __tablename__ = "case_themes"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    theme_slug: Mapped[str] = mapped_column(ForeignKey("themes.slug"), primary_key=True)


class Message(IdMixin, TimestampMixin, Base):
    """The two-way thread between the reporter and staff."""

    __tablename__ = "messages"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    sender: Mapped[Sender] = mapped_column(db_enum(Sender, "sender"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # For a staff message: written as the case's HR contact or for the safeguarding team (null
    # for the reporter's). Recorded when written, so a later change of contact or role keeps it true.
    sent_as: Mapped[SentAs | None] = mapped_column(db_enum(SentAs, "sent_as"))
    body_ct: Mapped[bytes | None] = mapped_column(LargeBinary)


class Note(IdMixin, TimestampMixin, Base):
    """Internal notes; never shown to the reporter."""

    __tablename__ = "notes"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    body_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    # `safeguarding`: never shown to an HR contact, through any page, route or e-mail.
    visibility: Mapped[NoteVisibility] = mapped_column(
        db_enum(NoteVisibility, "note_visibility"), default=NoteVisibility.CASE_TEAM,
        server_default=NoteVisibility.CASE_TEAM.value,
    )
    # Issue 27: the body is sealed under the case's safeguarding-only key (`case_keys.sg_*`), which
    # the HR contact never holds, rather than the case key. Only a `safeguarding` note; one written
    # before that key existed stays under the case key until `seal-cases` or the case's next such note.
    under_sg_key: Mapped[bool] = mapped_column(default=False, server_default=false())


class Exclusion(IdMixin, TimestampMixin, Base):
    """A user who must never see, be assigned or be told of this case.

    The database alone does not say who: `user_lookup` is a keyed blind index of the user's id
    (HMAC under a key derived from the key ring, app.crypto.blind), so SQL can
    still leave out the cases a user is excluded from; `user_ct` is the user's id sealed under the
    case's data key, opened for display only (`user_id`, set by app.cases.service.list_exclusions)."""

    __tablename__ = "exclusions"
    __table_args__ = (UniqueConstraint("case_id", "user_lookup"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_lookup: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    user_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    reason_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    @property
    def user_id(self) -> uuid.UUID | None:
        """The excluded user, once opened with the case's key (None: not opened, or the case's key is gone)."""
        opened: uuid.UUID | None = self.__dict__.get("_opened_user_id")
        return opened

    def opened_as(self, user_id: uuid.UUID | None) -> Exclusion:
        self.__dict__["_opened_user_id"] = user_id
        return self


class Referral(IdMixin, TimestampMixin, Base):
    """A hand-off out of the service (formal investigation, police, ...) with the date it is due by."""

    __tablename__ = "referrals"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReferralKind] = mapped_column(db_enum(ReferralKind, "referral_kind"))
    note_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    due_on: Mapped[date]
    completed_on: Mapped[date | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class Feedback(TimestampMixin, Base):
    """The reporter's closing survey. Ratings survive purge for statistics; the comment does not."""

    __tablename__ = "feedback"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    listened_to: Mapped[int]
    kept_informed: Mapped[int]
    support_suitable: Mapped[int]
    would_recommend: Mapped[int]
    comment_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
