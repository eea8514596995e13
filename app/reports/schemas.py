from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    EmailStr,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

from app.auth.schemas import StrictModel
from app.enums import About, Wish

Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40, pattern=r"^[0-9+() .\-]+$")]


class ReporterIdentity(StrictModel):
    name: ShortText
    email: EmailStr | None = None
    phone: Phone | None = None


class ReportIn(StrictModel):
    """A concern, from the web form or the API."""

    description: Description = Field(description="What happened, in the reporter's words (1 to 20,000 characters).")
    anonymous: bool = Field(default=True, description="Anonymous unless the reporter chooses to give their name.")
    reporter: ReporterIdentity | None = Field(default=None, description="Required (with a name) when not anonymous; refused when anonymous.")
    about: About = About.SELF
    themes: Annotated[list[str], Field(max_length=20)] = Field(default_factory=list, description="The reporter's own theme hints (slugs).")
    wishes: Annotated[list[Wish], Field(max_length=5)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _identity_matches_anonymity(self) -> "ReportIn":
        if self.anonymous and self.reporter is not None:
            raise ValueError("reporter: leave out the reporter's details for an anonymous report, or set anonymous to false")
        if not self.anonymous and self.reporter is None:
            raise ValueError("reporter: a named report needs the reporter's name")
        return self


class ReportOut(BaseModel):
    """What the reporter gets back once: keep the receipt, it is the only way back to the case."""

    reference: str = Field(description="The case reference, e.g. `SS-7K2M-Q9XD`; safe to quote to staff.")
    receipt: str = Field(description="Shown this once. Needed to follow up; accepted in any letter case, with or without spaces and dashes.")
    status: str
    created_at: str = Field(description="When the concern was received (RFC 3339, UTC).")


class ReceiptIn(StrictModel):
    # Deliberately unconstrained (the app's 64 KiB body limit bounds it): any string that is not a
    # live receipt gets the same 401, so the shape of a wrong answer says nothing.
    receipt: str = Field(description="The receipt given when the concern was raised.")


class ReporterSessionOut(BaseModel):
    token: str = Field(description="A reporter bearer token (`ssr_…`); it works only on `/api/v1/reporter/*`.")
    expires_at: str


MessageBody = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]


class MessageIn(StrictModel):
    body: MessageBody = Field(description="1 to 20,000 characters.")


class MessageOut(BaseModel):
    id: str
    from_: str = Field(alias="from", description="`reporter` or `staff`.")
    body: str
    created_at: str


class ReporterCaseOut(BaseModel):
    reference: str
    status: str
    created_at: str
    messages: list[MessageOut]
    next_check_in: str | None = Field(description="The date (YYYY-MM-DD) of the next planned check-in, if any.")
    feedback_requested: bool = Field(description="True once the case is closed and until feedback is given.")


Rating = Annotated[StrictInt, Field(ge=1, le=5)]


class Ratings(StrictModel):
    listened_to: Rating
    kept_informed: Rating
    support_suitable: Rating
    would_recommend: Rating


class FeedbackIn(StrictModel):
    ratings: Ratings = Field(description="Each from 1 (not at all) to 5 (completely).")
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] | None = Field(
        default=None, description="Optional, up to 5,000 characters."
    )


class FeedbackOut(BaseModel):
    ratings: Ratings
    comment: str | None
    created_at: str
