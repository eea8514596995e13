"""Receipt codes: 24 Crockford base-32 characters in six groups of four, the last a check character.

Crockford's alphabet has no I, L, O or U, so nothing is mistaken for 1 or 0 when written down
or read over the phone, and it is case-insensitive. `normalise` accepts any case, spaces and
dashes, and reads I/L as 1 and O as 0.

New receipts carry 23 random characters (115 bits, beyond the 112 above which a keyed lookup hash
alone is safe, so no argon2 hash is needed or stored) and a check character: the 24 characters,
read as elements of GF(32), weighted by the powers of a generator, sum to zero. So any one wrong
character, and any two characters swapped, is noticed before anything is looked up, and the
follow-up page can say "one character looks wrong" instead of "not found". The check is a pure
function of what was typed: it tells nobody whether a concern exists. Receipts issued before it
(24 random characters) are still looked up first, so they keep working; only a receipt that is
not found is examined (`explain`).
"""

from __future__ import annotations

import secrets
from enum import Enum

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 24
BITS = (LENGTH - 1) * 5
_TRANSLATE = str.maketrans({"O": "0", "I": "1", "L": "1"})  # letters read for the digits they look like
_STRIP = str.maketrans(dict.fromkeys(" -\t\r\n"))  # the separators people type
_CLEAN = {**_STRIP, **_TRANSLATE}
_LETTERS = frozenset(ALPHABET)

# GF(32) = GF(2)[x] / (x^5 + x^2 + 1); x (= 2) generates its 31 non-zero elements.
_EXP = [0] * 62
_LOG = [0] * 32
_v = 1
for _i in range(31):
    _EXP[_i] = _EXP[_i + 31] = _v
    _LOG[_v] = _i
    _v <<= 1
    if _v & 0b100000:
        _v ^= 0b100101


def _mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[_LOG[a] + _LOG[b]]


def _syndrome(values: list[int]) -> int:
    total = 0
    for i, v in enumerate(values):
        if v:  # v * x^i, as _mul without its calls: this runs on every submission and redemption
            total ^= _EXP[_LOG[v] + i % 31]
    return total


def _check_char(body: str) -> str:
    """The character that makes `body` + it a valid receipt (positions 0..22 plus 23)."""
    s = _syndrome([ALPHABET.index(ch) for ch in body])
    # c * x^23 = s  =>  c = s * x^(31-23)
    return ALPHABET[_mul(s, _EXP[31 - (LENGTH - 1)])]


def _random_chars(count: int) -> str:
    """`count` characters of ALPHABET, each uniform and independent: 5 random bits each (32 letters),
    from one draw of the system's generator. (`secrets.choice` per character made about two
    `getrandom` calls each, and every call gave up the GIL: 60 waits for it per submission under load.)"""
    bits = int.from_bytes(secrets.token_bytes((count * 5 + 7) // 8), "big")
    return "".join([ALPHABET[(bits >> (5 * i)) & 31] for i in range(count)])


def new_receipt() -> str:
    body = _random_chars(LENGTH - 1)
    chars = body + _check_char(body)
    return "-".join([chars[i : i + 4] for i in range(0, LENGTH, 4)])


def groups(receipt: str) -> list[str]:
    """A receipt as its groups of four, for showing it (any form `normalise` accepts)."""
    chars = normalise(receipt) or receipt.upper().translate(_STRIP)
    return [chars[i : i + 4] for i in range(0, len(chars), 4)]


def normalise(text: str) -> str | None:
    """The canonical form of a typed receipt, or None if it cannot be one."""
    cleaned = text.upper().translate(_CLEAN)
    if len(cleaned) != LENGTH or not _LETTERS.issuperset(cleaned):
        return None
    return cleaned


def checks_out(normalised: str) -> bool:
    """Whether a normalised receipt passes the check character (every new receipt does)."""
    return _syndrome([ALPHABET.index(ch) for ch in normalised]) == 0


class Mistake(Enum):
    """What a receipt that was not found most likely is, judged from the text alone."""

    REFERENCE = "reference"      # the case's reference (SS-XXXX-XXXX), not its receipt
    LENGTH = "length"            # too few or too many characters
    CHARACTERS = "characters"    # letters a receipt never has
    TYPO = "typo"                # the check character does not match: a character mistyped


def explain(text: str) -> tuple[Mistake, int] | None:
    """Why a receipt that was not found is probably mistyped, with the number of characters
    typed; None when it looks like a real receipt (the concern may have been closed and erased,
    or the receipt is an old one with a mistake). Only the follow-up page uses this: the API's
    answer stays one 401 whatever was wrong."""
    if normalise_reference(text) is not None and text.strip().upper().startswith("SS"):
        return Mistake.REFERENCE, 0
    cleaned = text.upper().translate(_CLEAN)
    if not _LETTERS.issuperset(cleaned):
        return Mistake.CHARACTERS, len(cleaned)
    if len(cleaned) != LENGTH:
        return Mistake.LENGTH, len(cleaned)
    if not checks_out(cleaned):
        return Mistake.TYPO, LENGTH
    return None


def normalise_reference(text: str) -> str | None:
    """`SS-XXXX-XXXX` from a reference as typed or read over the phone (any case, spaces, dashes,
    with or without `SS`), or None if it cannot be one."""
    cleaned = text.upper().translate(_STRIP)
    if cleaned.startswith("SS") and len(cleaned) == 10:
        cleaned = cleaned[2:]
    cleaned = cleaned.translate(_TRANSLATE)
    if len(cleaned) != 8 or any(ch not in ALPHABET for ch in cleaned):
        return None
    return f"SS-{cleaned[:4]}-{cleaned[4:]}"


def new_reference() -> str:
    """`SS-` and eight random characters: short to say, and nothing about time or order."""
    chars = _random_chars(8)
    return f"SS-{chars[:4]}-{chars[4:]}"
