from __future__ import annotations

from fastapi import APIRouter

# Staff pages (sign-in, leadership dashboard).
router = APIRouter()
