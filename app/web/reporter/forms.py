"""The reporters' forms: validated by the API's own schemas, their complaints turned into plain English."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Form
from pydantic import ValidationError

from app.cases.schemas import ReportIn
from app.enums import About, LocationKind, Outcome, Status, Wish
from app.equality.schemas import CHARACTERISTICS, LABELS, PREFER_NOT_TO_SAY, VALUE_LABELS
from app.reports.schemas import FeedbackIn, MessageIn
from app.schemas import MAX_COMMENT, MAX_DESCRIPTION, RATING_MAX, RATING_MIN
from app.web.pages import FormErrors

WISH_LABELS: dict[str, tuple[str, str]] = {
    Wish.TALK.value: ("Talk it through with someone", "A member of the safeguarding team listens and helps you think about what to do."),
    Wish.SIGNPOSTING.value: ("Information about other support", "For example counselling, occupational health, your union or a charity."),
    Wish.COACHING.value: ("Coaching", "Help to handle the situation yourself, with someone on your side."),
    Wish.FACILITATED_CONVERSATION.value: (
        "A facilitated conversation",
        "A safe, guided conversation with the other person, led by someone neutral.",
    ),
    Wish.INVESTIGATION.value: ("A formal investigation", "A fair, independent look at what happened, which may lead to action."),
}
ABOUT_LABELS: dict[str, str] = {
    About.SELF.value: "Something that happened to me",
    About.COLLEAGUE.value: "Something that happened to a colleague",
    About.OTHER.value: "Something else, or I would rather not say",
}
STATUS_LABELS: dict[str, tuple[str, str]] = {
    Status.RECEIVED.value: ("Received", "Your concern has arrived. The safeguarding team will read it soon."),
    Status.TRIAGED.value: ("Read by the safeguarding team", "The safeguarding team has read your concern and is deciding the next steps."),
    Status.IN_PROGRESS.value: ("Being looked at", "Someone is working on your concern. You can send them a message here at any time."),
    Status.CLOSED.value: ("Closed", "Your concern has been closed. You can still read the messages here."),
}
# How a closed case ended, in the reporter's words (the team's own closing summary stays internal).
OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    Outcome.RESOLVED_INFORMALLY.value: ("Resolved informally", "Your concern was resolved without a formal process."),
    Outcome.SIGNPOSTED.value: ("Pointed to other support", "You were given details of support that fits what you told us."),
    Outcome.REFERRED.value: ("Referred", "Your concern was passed to the service best placed to deal with it."),
    Outcome.INVESTIGATION.value: ("Formal investigation", "Your concern led to a formal investigation."),
    Outcome.WITHDRAWN.value: ("Withdrawn", "The concern was withdrawn, so nothing more will be done about it."),
    Outcome.NO_FURTHER_ACTION.value: ("No further action", "The team looked into your concern and decided no further action was needed."),
}
assert set(OUTCOME_LABELS) == {o.value for o in Outcome}
RATING_QUESTIONS: dict[str, str] = {
    "listened_to": "Did you feel listened to?",
    "kept_informed": "Were you kept informed about what was happening?",
    "support_suitable": "Was the support offered right for you?",
    "would_recommend": "Would you recommend Safe Share to a colleague?",
}
RATING_SCALE: list[tuple[int, str]] = [(1, "Not at all"), (2, "Not really"), (3, "Partly"), (4, "Mostly"), (5, "Very much")]
assert [n for n, _ in RATING_SCALE] == list(range(RATING_MIN, RATING_MAX + 1))

REPORT_FIELD_ORDER = [
    "description", "about-self", "identity-anonymous", "name", "email", "phone", "identity_sharing-yes", "location", "themes", "wishes",
    *[f"equality-{key}" for key in CHARACTERISTICS], "attachments",
]
LOCATION_KIND_LABELS: dict[str, str] = {
    LocationKind.STATION.value: "Stations",
    LocationKind.DEPARTMENT.value: "Departments",
    LocationKind.TEAM.value: "Teams",
    LocationKind.WATCH.value: "Watches",
}
LOCATION_ERROR = "Choose a place from the list, or “Prefer not to say”."
CASE_FIELD_ORDER = ["body", "attachments", *[f"{q}-1" for q in RATING_QUESTIONS], "comment"]

TOO_LONG_TO_SEND = f"Your report is too long to send. Shorten it to {MAX_DESCRIPTION:,} characters or fewer."


def equality_choices() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(key, question, [(value, label), ...]) for the equality monitoring selects, in order."""
    return [
        (key, LABELS[key], [(v, VALUE_LABELS.get(v, v)) for v in (*values, PREFER_NOT_TO_SAY)])
        for key, values in CHARACTERISTICS.items()
    ]


def crlf(text: str) -> str:
    """Browsers send textarea line breaks as CRLF; count each as one character, as people see it."""
    return text.replace("\r\n", "\n")


# --- raising a concern --------------------------------------------------------------------------


def empty_report() -> dict[str, Any]:
    return {"description": "", "identity": "anonymous", "name": "", "email": "", "phone": "", "identity_sharing": "",
            "about": About.SELF.value, "themes": [], "wishes": [], "location": "", "equality": {}}


def equality_fields(
    eq_age_band: Annotated[str, Form()] = "",
    eq_disability: Annotated[str, Form()] = "",
    eq_gender_reassignment: Annotated[str, Form()] = "",
    eq_marriage_civil_partnership: Annotated[str, Form()] = "",
    eq_pregnancy_maternity: Annotated[str, Form()] = "",
    eq_ethnic_group: Annotated[str, Form()] = "",
    eq_religion_belief: Annotated[str, Form()] = "",
    eq_sex: Annotated[str, Form()] = "",
    eq_sexual_orientation: Annotated[str, Form()] = "",
) -> dict[str, str]:
    """The optional equality monitoring selects (`eq_<key>`); an empty choice is "not answered"."""
    given = {
        "age_band": eq_age_band, "disability": eq_disability, "gender_reassignment": eq_gender_reassignment,
        "marriage_civil_partnership": eq_marriage_civil_partnership, "pregnancy_maternity": eq_pregnancy_maternity,
        "ethnic_group": eq_ethnic_group, "religion_belief": eq_religion_belief, "sex": eq_sex,
        "sexual_orientation": eq_sexual_orientation,
    }
    return {key: value for key, value in given.items() if value}


@dataclass
class ReportForm:
    """The report form as typed (kept, so nothing is lost when it comes back with errors)."""

    description: str
    identity: str
    name: str
    email: str
    phone: str
    about: str
    themes: list[str]
    wishes: list[str]
    location: str = ""
    equality: dict[str, str] = field(default_factory=dict)
    identity_sharing: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def details_given(self) -> bool:
        return bool(self.name.strip() or self.email.strip() or self.phone.strip())

    def validate(self, errors: FormErrors) -> ReportIn | None:
        """The report, or None with `errors` saying what to fix.

        With "stay anonymous" chosen, the hidden name, e-mail and phone boxes are never sent: anonymity wins.
        """
        if self.identity not in ("anonymous", "named"):
            errors.add("identity-anonymous", "Choose whether to stay anonymous or give your name.")
        anonymous = self.identity != "named"
        data: dict[str, Any] = {
            "description": self.description,
            "anonymous": anonymous,
            "reporter": None if anonymous else {
                "name": self.name, "email": self.email.strip() or None, "phone": self.phone.strip() or None,
            },
            "identity_sharing": None if anonymous else (self.identity_sharing.strip() or None),
            "about": self.about or About.SELF.value,
            "themes": self.themes,
            "wishes": self.wishes,
            "location": self.location or None,
            "equality": dict(self.equality) or None,
        }
        try:
            report = ReportIn.model_validate(data)
        except ValidationError as exc:
            _report_errors(exc, errors)
            return None
        return None if errors else report


def _report_errors(exc: ValidationError, errors: FormErrors) -> None:
    """Turn ReportIn's validation errors into plain-English messages next to the right fields."""
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        kind = err.get("type", "")
        head = loc[0] if loc else None
        sub = loc[1] if len(loc) > 1 else None
        if head == "description":
            if kind == "string_too_long":
                errors.add("description", f"Your description is too long. Shorten it to {MAX_DESCRIPTION:,} characters or fewer.")
            else:
                errors.add("description", "Describe what happened. A few words are enough to start.")
        elif head == "reporter" and sub == "name":
            if kind == "string_too_long":
                errors.add("name", "Shorten your name to 200 characters or fewer.")
            else:
                errors.add("name", "Enter your name, or choose to stay anonymous.")
        elif head == "reporter" and sub == "email":
            errors.add("email", "Enter an email address in the right format, like name@example.org, or leave it empty.")
        elif head == "reporter" and sub == "phone":
            errors.add("phone", "Enter a phone number using numbers, spaces, brackets, + or -, or leave it empty.")
        elif head == "about":
            errors.add("about-self", "Choose what your concern is about.")
        elif head == "identity_sharing":
            errors.add("identity_sharing-yes", "Choose one of the answers about sharing your name, or none.")
        elif head == "themes":
            errors.add("themes", "Choose topics from the list, or none.")
        elif head == "wishes":
            errors.add("wishes", "Choose from the options listed, or none.")
        elif head == "location":
            errors.add("location", LOCATION_ERROR)
        elif head == "equality" and sub in CHARACTERISTICS:
            errors.add(f"equality-{sub}", "Choose one of the options listed, or leave it unanswered.")
        else:
            # The model-level rule tying anonymity to identity; the form checks it first, so
            # this is a fallback that still names a field.
            errors.add("identity-anonymous", "Choose whether to stay anonymous or give your name.")


# --- following up -------------------------------------------------------------------------------


def message(body: str, errors: FormErrors) -> MessageIn | None:
    try:
        return MessageIn.model_validate({"body": body})
    except ValidationError as exc:
        if any(e.get("type") == "string_too_long" for e in exc.errors()):
            errors.add("body", f"Your message is too long. Shorten it to {MAX_DESCRIPTION:,} characters or fewer.")
        else:
            errors.add("body", "Write your message before sending it.")
        return None


def feedback(given: dict[str, str], comment: str, errors: FormErrors) -> FeedbackIn | None:
    """The four answers (radio values "1".."5") and the comment, as the API's FeedbackIn."""
    ratings: dict[str, Any] = {k: int(v) if v.isdigit() else v for k, v in given.items()}
    try:
        return FeedbackIn.model_validate({"ratings": ratings, "comment": comment.strip() or None})
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err.get("loc", ()))
            if loc[:1] == ("ratings",) and len(loc) > 1 and loc[1] in RATING_QUESTIONS:
                key = str(loc[1])
                errors.add(f"{key}-1", f"Choose an answer for “{RATING_QUESTIONS[key]}”")
            else:
                errors.add("comment", f"Your comment is too long. Shorten it to {MAX_COMMENT:,} characters or fewer.")
        return None
