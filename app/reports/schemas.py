from __future__ import annotations

from typing import Annotated

from pydantic import EmailStr, Field, StringConstraints, model_validator

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
