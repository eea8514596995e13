"""Every field sealed under a case's key, named once. Its table and column are bound into each
ciphertext (the associated data, with the row's id), so a ciphertext copied into another field or
row does not open; `CaseCipher` refuses a field not listed here."""

from __future__ import annotations

from typing import NamedTuple


class Field(NamedTuple):
    table: str
    column: str


CASE_DESCRIPTION = Field("cases", "description")
CASE_REPORTER = Field("cases", "reporter")  # a named reporter's name and contact details (JSON)
CASE_RISK_SIGNALS = Field("cases", "risk_signals")  # the words the possible-risk check matched (JSON)
CASE_SUGGESTED_THEMES = Field("cases", "suggested_themes")  # the suggester's themes at intake (JSON)
CASE_CLOSING_SUMMARY = Field("cases", "closing_summary")
NOTE_BODY = Field("notes", "body")
MESSAGE_BODY = Field("messages", "body")
REFERRAL_NOTE = Field("referrals", "note")
EXCLUSION_USER = Field("exclusions", "user_id")  # who is excluded (the row's blind index finds them)
EXCLUSION_REASON = Field("exclusions", "reason")
FEEDBACK_COMMENT = Field("feedback", "comment")
CHECK_IN_SUMMARY = Field("check_ins", "summary")
ATTACHMENT_FILENAME = Field("attachments", "filename")
ATTACHMENT_FILE_KEY = Field("attachments", "file_key")  # the file's own key (app.crypto.stream)

ALL = frozenset(v for v in dict(globals()).values() if isinstance(v, Field))
