"""Receipt codes: 120 random bits as 24 Crockford base-32 characters in six groups of four.

Crockford's alphabet has no I, L, O or U, so nothing is mistaken for 1 or 0 when written down
or read over the phone, and it is case-insensitive. `normalise` accepts any case, spaces and
dashes, and reads I/L as 1 and O as 0. 120 bits is beyond the 112 above which a keyed lookup
hash alone is safe, so no argon2 hash is needed (or stored) for receipts.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 24
BITS = LENGTH * 5
_TRANSLATE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_receipt() -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(chars[i : i + 4] for i in range(0, LENGTH, 4))


def normalise(text: str) -> str | None:
    """The canonical form of a typed receipt, or None if it cannot be one."""
    cleaned = "".join(ch for ch in text.upper() if ch not in " -\t\r\n").translate(_TRANSLATE)
    if len(cleaned) != LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def normalise_reference(text: str) -> str | None:
    """`SS-XXXX-XXXX` from a reference as typed or read over the phone (any case, spaces, dashes,
    with or without `SS`), or None if it cannot be one."""
    cleaned = "".join(ch for ch in text.upper() if ch not in " -\t\r\n")
    if cleaned.startswith("SS") and len(cleaned) == 10:
        cleaned = cleaned[2:]
    cleaned = cleaned.translate(_TRANSLATE)
    if len(cleaned) != 8 or any(ch not in ALPHABET for ch in cleaned):
        return None
    return f"SS-{cleaned[:4]}-{cleaned[4:]}"


def new_reference() -> str:
    """`SS-` and eight random characters: short to say, and nothing about time or order."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"SS-{chars[:4]}-{chars[4:]}"
