"""Enumerations shared by models, schemas and pages; stored by value."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import Enum as SAEnum


class Role(str, enum.Enum):
    ADMIN = "admin"
    SAFEGUARDING = "safeguarding"
    HR = "hr"
    LEADERSHIP = "leadership"


class Channel(str, enum.Enum):
    WEB = "web"
    PHONE = "phone"
    EMAIL = "email"
    IN_PERSON = "in_person"


class Status(str, enum.Enum):
    RECEIVED = "received"
    TRIAGED = "triaged"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class About(str, enum.Enum):
    SELF = "self"
    COLLEAGUE = "colleague"
    OTHER = "other"


class LocationKind(str, enum.Enum):
    STATION = "station"
    DEPARTMENT = "department"
    TEAM = "team"
    WATCH = "watch"


class ReferralKind(str, enum.Enum):
    FORMAL_INVESTIGATION = "formal_investigation"
    POLICE = "police"
    LOCAL_AUTHORITY_SAFEGUARDING = "local_authority_safeguarding"
    OCCUPATIONAL_HEALTH = "occupational_health"
    REGULATOR_NOTIFICATION = "regulator_notification"
    # Signposting (the service's own paper: "counselling, third sector signposting").
    COUNSELLING = "counselling"
    THIRD_SECTOR = "third_sector"


class Risk(str, enum.Enum):
    STANDARD = "standard"
    URGENT = "urgent"


class Wish(str, enum.Enum):
    TALK = "talk"
    SIGNPOSTING = "signposting"
    COACHING = "coaching"
    FACILITATED_CONVERSATION = "facilitated_conversation"
    INVESTIGATION = "investigation"


class Outcome(str, enum.Enum):
    RESOLVED_INFORMALLY = "resolved_informally"
    SIGNPOSTED = "signposted"
    REFERRED = "referred"
    INVESTIGATION = "investigation"
    WITHDRAWN = "withdrawn"
    NO_FURTHER_ACTION = "no_further_action"


class Sender(str, enum.Enum):
    REPORTER = "reporter"
    STAFF = "staff"


class IdentitySharing(str, enum.Enum):
    """A named reporter's answer: may their identity go with the case to a formal investigation?"""

    YES = "yes"
    NO = "no"
    ASK_ME = "ask_me"


class NoteVisibility(str, enum.Enum):
    """Who reads an internal note: everyone on the case, or the safeguarding team only (never an HR contact)."""

    CASE_TEAM = "case_team"
    SAFEGUARDING = "safeguarding"


class SentAs(str, enum.Enum):
    """The capacity a staff message was written in, as the reporter is told it."""

    HR_CONTACT = "hr_contact"
    SAFEGUARDING = "safeguarding"


def db_enum(cls: type[enum.Enum], name: str) -> Any:
    """A VARCHAR column holding the enum's value (no native PostgreSQL type to migrate)."""
    return SAEnum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )
