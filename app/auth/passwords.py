"""argon2id password hashing with parameters from the settings; rehash on login when they change."""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.config import Settings


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        # Verified against when the e-mail is unknown, so both failures take the same time.
        self._dummy = self.hasher.hash("safeshare-dummy-password")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return self.hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)


# --- what a new password must be (NIST SP 800-63B: length and a blocklist, no composition rules) ---

# The 20,000 most common passwords as shipped by Django 5.2.19
# (django/contrib/auth/common-passwords.txt.gz, unchanged; sha256 3c1baed6...afe4), compiled by
# Royce Williams from public breach corpora and maintained by the Django project. Licence:
# BSD-3-Clause, Django Software Foundation; its text is in common-passwords.LICENSE beside this file.
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt.gz")

# Words anyone would try first against this service.
_SERVICE_WORDS = ("safeshare", "safe share", "password", "passphrase")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip().lower() for line in fh if line.strip())


def _squeezed(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def weakness(password: str, *, email: str | None = None) -> str | None:
    """Why a new password is too easy to guess, in words for its owner; None if fine (length: the schema)."""
    lowered = password.strip().lower()
    squeezed = _squeezed(password)
    common = common_passwords()
    if lowered in common or squeezed in common:
        return "This password is one of the most common passwords. Choose a less predictable one."
    if len(set(squeezed)) <= 2:
        return "This password repeats the same characters. Choose a less predictable one."
    if any(_squeezed(word) and _squeezed(word) in squeezed and len(squeezed) - len(_squeezed(word)) < 8 for word in _SERVICE_WORDS):
        return "This password is mostly a word people try first. Choose a less predictable one."
    if email:
        local = _squeezed(email.split("@", 1)[0])
        if len(local) >= 4 and local in squeezed:
            return "This password contains your e-mail address. Choose one that does not."
    return None
