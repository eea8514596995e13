"""Request and response shapes of the reporter API (contract section 3)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.attachments import schemas as files
from app.cases.intake import NewCase
from app.cases.models import Message
from app.enums import Outcome, Sender, SentAs
from app.reports.service import ReporterView
from app.schemas import FREE_TEXT, AttachmentIds, Comment, FileRef, LongText, Rating, StrictModel, Timestamp


class ReportOut(BaseModel):
    """What the reporter gets back once: keep the receipt, it is the only way back to the case."""

    reference: str = Field(description="The case reference, e.g. `SS-7K2M-Q9XD`; safe to quote to staff.")
    receipt: str = Field(description="Shown this once. Needed to follow up; accepted in any letter case, with or without spaces and dashes.")
    status: str
    created_at: Timestamp = Field(description="When the concern was received (RFC 3339, UTC).")

    @classmethod
    def of(cls, case: NewCase) -> ReportOut:
        return cls(reference=case.reference, receipt=case.receipt, status=case.status.value, created_at=case.received_at)


class ReceiptIn(StrictModel):
    # Deliberately unconstrained (the app's 64 KiB body limit bounds it): any string that is not a
    # live receipt gets the same 401, so the shape of a wrong answer says nothing.
    # FREE_TEXT: spaces, tabs and line breaks around or inside a pasted receipt are ignored.
    receipt: Annotated[str, FREE_TEXT] = Field(description="The receipt given when the concern was raised.")


class ReporterSessionOut(BaseModel):
    token: str = Field(description="A reporter bearer token (`ssr_…`); it works only on `/api/v1/reporter/*`.")
    expires_at: Timestamp


class MessageIn(StrictModel):
    body: LongText = Field(description="1 to 20,000 characters.")
    attachment_ids: AttachmentIds = Field(
        default_factory=list,
        description="Up to 5 files you uploaded (`POST /api/v1/reporter/attachments`) to send with this message.",
    )


SENT_BY_LABELS = {"reporter": "You", SentAs.HR_CONTACT.value: "Your HR contact",
                  SentAs.SAFEGUARDING.value: "The safeguarding team"}


class MessageOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    id: str
    from_: str = Field(alias="from", description="`reporter` or `staff`.")
    sent_by: Literal["reporter", "hr_contact", "safeguarding"] = Field(
        description="Who wrote it: the reporter, the HR contact assigned to the case, or the safeguarding team."
    )
    sent_by_label: str = Field(description="The same in words for the reporter: `You`, `Your HR contact` or `The safeguarding team`.")
    body: str
    created_at: Timestamp
    attachments: list[FileRef] = Field(
        default_factory=list,
        description="Files sent with this message: download with `GET /api/v1/reporter/attachments/{id}`.",
    )

    @classmethod
    def of(cls, message: Message, body: str, attachments: list[FileRef] | None = None) -> MessageOut:
        sent_by = "reporter" if message.sender is Sender.REPORTER else (message.sent_as or SentAs.SAFEGUARDING).value
        return cls.model_validate({
            "id": str(message.id), "from": message.sender.value, "sent_by": sent_by,
            "sent_by_label": SENT_BY_LABELS[sent_by], "body": body, "created_at": message.created_at,
            "attachments": attachments or [],
        })


class ReporterCaseOut(BaseModel):
    reference: str
    status: str
    created_at: Timestamp
    description: str | None = Field(description="What the reporter wrote when raising the concern (null once erased).")
    messages: list[MessageOut]
    next_check_in: date | None = Field(description="The date (YYYY-MM-DD) of the next planned check-in, if any.")
    feedback_requested: bool = Field(description="True once the case is closed and until feedback is given.")
    outcome: Outcome | None = Field(description="How the case ended, once it is closed; null while it is open.")
    closed_at: Timestamp | None = Field(description="When the case was closed, or null.")
    attachments: list[FileRef] = Field(
        default_factory=list,
        description="Files you sent that are not on a message (those sent with the concern itself); files on "
        "messages are listed with each message.",
    )
    hr_contact_changed_on: date | None = Field(
        default=None, description="The day your HR point of contact last changed (never who they are), or null.")

    @classmethod
    def of(cls, view: ReporterView) -> ReporterCaseOut:
        on_messages = files.by_message(view.attachments)
        return cls(
            reference=view.reference, status=view.status.value, created_at=view.received_at,
            description=view.description,
            messages=[MessageOut.of(m, body, on_messages.get(m.id)) for m, body in view.messages],
            attachments=[files.ref(a) for a in view.attachments if a.row.message_id is None],
            next_check_in=view.next_check_in, feedback_requested=view.feedback_requested,
            outcome=view.outcome, closed_at=view.closed_at if view.outcome is not None else None,
            hr_contact_changed_on=view.contact_changed_on,
        )


class Ratings(StrictModel):
    listened_to: Rating
    kept_informed: Rating
    support_suitable: Rating
    would_recommend: Rating


class FeedbackIn(StrictModel):
    ratings: Ratings = Field(description="Each from 1 (not at all) to 5 (completely).")
    comment: Comment | None = Field(default=None, description="Optional, up to 5,000 characters.")


class FeedbackOut(BaseModel):
    ratings: Ratings
    comment: str | None
    created_at: Timestamp
