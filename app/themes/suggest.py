"""Suggested themes for a new case, computed on the server with no external service.

Placeholder: returns no suggestion until the word-list suggester lands (issue 4).
"""

from __future__ import annotations


def suggest_themes(text: str) -> list[str]:
    return []
