"""Sample documents re-targeted to a member region, issued a minute ago (China time)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

SAMPLES: Final = Path(__file__).resolve().parents[2] / "samples" / "input"
CHINA: Final = timedelta(hours=8)
#: An agency of each member that the demo trust list names.
AGENCY: Final = {"310000": "310115", "320000": "320506", "330000": "330109", "340000": "340104"}


def document(
    name: str, province: str, now: datetime | None = None, **changes: Any
) -> dict[str, Any]:
    """Sample ``name`` issued by an agency of ``province``, without a number."""
    doc: dict[str, Any] = json.loads((SAMPLES / name).read_text("utf-8"))
    doc.pop("number", None)
    doc.pop("_about", None)
    agency = AGENCY[province]
    doc["issuing_agency"] = {"region": agency}
    doc["delegating_agency"] = {"region": province}
    if "route" in doc:
        doc["route"]["from"] = agency
    doc.pop("references", None)
    at = (now or datetime.now(UTC)) - timedelta(minutes=1)
    china = at.astimezone(UTC) + CHINA
    doc["issued_at"] = china.replace(tzinfo=None).isoformat(timespec="seconds") + "+08:00"
    doc["valid_from"] = china.date().isoformat()
    doc["valid_to"] = (china.date() + timedelta(days=200)).isoformat()
    doc.update(changes)
    return doc
