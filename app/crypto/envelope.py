"""Envelope encryption: AES-256-GCM data keys per case, wrapped by the active master key.

The associated data binds each ciphertext to its table, column and row: copied elsewhere, it fails.
"""

from __future__ import annotations

import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.crypto import fields
from app.crypto.fields import Field
from app.crypto.keyring import KeyDestroyed, KeyRing
from app.errors import Forbidden, IntegrityFailure

_VERSION = b"\x01"
_NONCE = 12


class DecryptionError(IntegrityFailure):
    """A ciphertext did not authenticate (wrong key, row or column, or tampering); says where."""


class Shredded(Exception):
    """The case's data key was destroyed; its text is gone for good."""


class NoCaseKey(Forbidden):
    """No key this session holds opens the case's data key: 403 `no-case-key`."""

    title, slug = "No key for this case", "no-case-key"

    def __init__(self, case_id: str) -> None:
        super().__init__("You hold no key to this case's content. A safeguarding user who holds it can grant you "
                         "access from the case page.")
        self.case_ref = case_id


def _ad(table: str, column: str, row_id: uuid.UUID | str) -> bytes:
    return f"safeshare:v1:{table}:{column}:{row_id}".encode()


def _field_ad(field: Field, row_id: uuid.UUID | str) -> bytes:
    if field not in fields.ALL:
        raise ValueError(f"{field} is not a field sealed under a case's key (app.crypto.fields)")
    return _ad(field.table, field.column, row_id)


def seal(key: bytes, plaintext: bytes, ad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, ad)


def _where(ad: bytes) -> str | None:
    return ".".join(ad.decode(errors="replace").split(":")[2:4]) or None


def open_(key: bytes, blob: bytes, ad: bytes) -> bytes:
    # `where` is worked out only on failure: a search opens tens of thousands of texts.
    if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
        raise DecryptionError("not a Safe Share ciphertext", where=_where(ad))
    try:
        return AESGCM(key).decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], ad)
    except InvalidTag:
        raise DecryptionError("ciphertext does not authenticate", where=_where(ad)) from None


def open_any(keys: list[bytes], blob: bytes, ad: bytes) -> bytes:
    """`open_` under the first of `keys` that opens it (a ring's subkeys: the active one, then retired)."""
    for key in keys[:-1]:
        try:
            return open_(key, blob, ad)
        except DecryptionError:
            continue
    return open_(keys[-1], blob, ad)


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap_data_key(ring: KeyRing, case_id: uuid.UUID, dek: bytes, *, under: tuple[str, bytes] | None = None,
                  column: str = "wrapped_key") -> tuple[str, bytes]:
    """Wrap under the active master key, or `under` (a retention day's key); `column` binds which key it is."""
    kek_id, kek = under if under is not None else ring.active_kek
    return kek_id, seal(kek, dek, _ad("case_keys", column, case_id) + b":" + kek_id.encode())


def unwrap_data_key(ring: KeyRing, case_id: uuid.UUID, kek_id: str, wrapped: bytes, *,
                    column: str = "wrapped_key") -> bytes:
    try:
        kek = ring.kek(kek_id)
    except KeyDestroyed:
        raise Shredded(str(case_id)) from None
    try:
        return open_(kek, wrapped, _ad("case_keys", column, case_id) + b":" + kek_id.encode())
    except DecryptionError as exc:
        exc.case_id = case_id
        raise


class CaseCipher:
    """Encrypts and decrypts the fields of one case with its data key."""

    def __init__(self, case_id: uuid.UUID, dek: bytes) -> None:
        self.case_id = case_id
        self._dek = dek

    def encrypt(self, field: Field, row_id: uuid.UUID | str, text: str) -> bytes:
        return seal(self._dek, text.encode("utf-8"), _field_ad(field, row_id))

    def decrypt(self, field: Field, row_id: uuid.UUID | str, blob: bytes) -> str:
        return self.decrypt_bytes(field, row_id, blob).decode("utf-8")

    def encrypt_bytes(self, field: Field, row_id: uuid.UUID | str, data: bytes) -> bytes:
        """Bytes rather than text: an attachment's own file key (app.crypto.stream)."""
        return seal(self._dek, data, _field_ad(field, row_id))

    def decrypt_bytes(self, field: Field, row_id: uuid.UUID | str, blob: bytes) -> bytes:
        try:
            return open_(self._dek, blob, _field_ad(field, row_id))
        except DecryptionError as exc:
            exc.case_id = self.case_id
            raise
