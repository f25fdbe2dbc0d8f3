"""Routes: statuslists (filled in by the registry API work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
