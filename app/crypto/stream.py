"""Files encrypted in chunks: the STREAM construction over AES-256-GCM (as in age and Tink).

Each file has its own key, sealed under the case's key: rotation never touches files, and
withdrawing one destroys its key. Nonces and associated data bind each chunk's position, end and
file, so chunks cannot be moved, reordered, truncated or swapped; one chunk is in memory at most.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.errors import IntegrityFailure

CHUNK = 256 * 1024
TAG = 16
SEALED_CHUNK = CHUNK + TAG
_MAX_CHUNKS = 1 << 40


def new_file_key() -> bytes:
    return os.urandom(32)


def stream_ad(table: str, column: str, row_id: object) -> bytes:
    return f"safeshare:v1:stream:{table}:{column}:{row_id}".encode()


def _nonce(index: int, last: bool) -> bytes:
    if index >= _MAX_CHUNKS:
        raise ValueError("file too long")
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def sealed_size(plain_size: int) -> int:
    """How many bytes `plain_size` bytes take once sealed (one tag per chunk, at least one chunk)."""
    chunks = max(1, -(-plain_size // CHUNK))
    return plain_size + chunks * TAG


def chunk_count(plain_size: int) -> int:
    return max(1, -(-plain_size // CHUNK))


class SealingWriter(io.RawIOBase):
    """A write-only file that seals what is written to it, chunk by chunk, into `sink`."""

    def __init__(self, key: bytes, ad: bytes, sink: Callable[[bytes], object]) -> None:
        super().__init__()
        self._aead = AESGCM(key)
        self._ad = ad
        self._sink = sink
        self._buffer = bytearray()
        self.size = 0
        self.chunks = 0
        self.finished = False

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.finished:
            raise ValueError("write to a finished stream")
        view = memoryview(data).cast("B")
        self._buffer += view
        self.size += len(view)
        # Keep the last full chunk back: only close() knows which chunk is the last.
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(view)

    def _seal(self, plain: bytes, *, last: bool) -> None:
        self._sink(self._aead.encrypt(_nonce(self.chunks, last), plain, self._ad))
        self.chunks += 1

    def finish(self) -> None:
        if not self.finished:
            self._seal(bytes(self._buffer), last=True)
            self._buffer = bytearray()
            self.finished = True

    def close(self) -> None:
        if not self.closed:
            self.finish()
        super().close()


class StreamDecryptionError(IntegrityFailure):
    """A chunk did not authenticate: a wrong key, a chunk moved, dropped or altered."""


def open_chunk(key: bytes, ad: bytes, index: int, sealed: bytes, *, last: bool) -> bytes:
    where = ".".join(ad.decode(errors="replace").split(":")[3:5]) or None
    try:
        return AESGCM(key).decrypt(_nonce(index, last), sealed, ad)
    except InvalidTag:
        raise StreamDecryptionError("chunk does not authenticate", where=where) from None


def open_chunks(key: bytes, ad: bytes, sealed: Iterator[bytes], count: int) -> Iterator[bytes]:
    """The plaintext of `count` sealed chunks, one at a time; fails if any is missing or extra."""
    index = 0
    for blob in sealed:
        if index >= count:
            raise StreamDecryptionError("more chunks than recorded", where=None)
        yield open_chunk(key, ad, index, blob, last=index == count - 1)
        index += 1
    if index != count:
        raise StreamDecryptionError("chunks missing", where=None)
