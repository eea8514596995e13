"""Helpers for tests that read what was stored, without going through an audited service."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from app.cases.models import Case
from app.crypto import fields, keys
from app.crypto.keyring import KeyRing


def read_description(session: Session, ring: KeyRing, case: Case) -> str | None:
    if case.description_ct is None:
        return None
    return keys.case_cipher(session, ring, case.id).decrypt(fields.CASE_DESCRIPTION, case.id, case.description_ct)


def read_reporter(session: Session, ring: KeyRing, case: Case) -> dict[str, Any] | None:
    if case.reporter_ct is None:
        return None
    return json.loads(keys.case_cipher(session, ring, case.id).decrypt(fields.CASE_REPORTER, case.id, case.reporter_ct))
