"""ASGI factory for process managers: ``uvicorn --factory quarantine.web.asgi:build``."""

import logging
import os

from fastapi import FastAPI

from quarantine.settings import Settings
from quarantine.web.app import create_app


def json_access_log() -> None:
    """One JSON line per request on standard error (logger ``quarantine.access``)."""
    logger = logging.getLogger("quarantine.access")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def build() -> FastAPI:
    """The app configured from ``QUARANTINE_*`` environment variables.

    ``QUARANTINE_ACCESS_LOG=0`` turns the JSON access log off (``quarantine serve
    --no-access-log`` sets it for its workers).
    """
    if os.environ.get("QUARANTINE_ACCESS_LOG", "1") != "0":
        json_access_log()
    return create_app(Settings.from_env())
