"""Web fixtures: a migrated SQLite registry in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from quarantine.settings import Settings
from quarantine.storage import db


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a migrated SQLite registry under ``tmp_path``."""
    s = Settings(data_dir=tmp_path, verify_rate_per_minute=1000, max_upload_bytes=2_000_000)
    db.upgrade(db.database_url(s))
    return s
