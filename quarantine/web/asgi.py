"""ASGI factory for process managers: ``uvicorn --factory quarantine.web.asgi:build``."""

from fastapi import FastAPI

from quarantine.settings import Settings
from quarantine.web.app import create_app


def build() -> FastAPI:
    """The app configured from ``QUARANTINE_*`` environment variables."""
    return create_app(Settings.from_env())
