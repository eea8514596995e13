"""A real SMTP server for the tests (aiosmtpd), that keeps every message and can refuse or be slow."""

from __future__ import annotations

import asyncio
import email
import socket
from email.message import Message
from typing import Any


class Inbox:
    """An aiosmtpd handler that keeps every message; can be told to refuse or to be slow."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refuse = False
        self.delay = 0.0
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse:
            return "451 Try again later"
        msg = email.message_from_bytes(envelope.content)
        self.messages.append(msg)
        return "250 Message accepted"

    def to(self) -> list[str]:
        return sorted(m["To"] for m in self.messages)

    def body(self, i: int = 0) -> str:
        return self.messages[i].get_payload(decode=True).decode()  # type: ignore[union-attr]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
