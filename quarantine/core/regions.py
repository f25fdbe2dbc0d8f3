"""GB/T 2260 administrative divisions of the four Delta provinces (pure data type).

The rows come from the package's copy of ``yrd_divisions_2023.csv``; the
adapter ``quarantine.reference`` reads the file, this module only holds rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

PROVINCES = MappingProxyType(
    {"310000": "上海市", "320000": "江苏省", "330000": "浙江省", "340000": "安徽省"}
)


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: str  # province / prefecture / county
    parent: str
    gb2260: bool
    lon: float
    lat: float


@dataclass(frozen=True)
class RegionTable:
    """Lookup of division codes."""

    divisions: Mapping[str, Division]

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]]) -> RegionTable:
        table: dict[str, Division] = {}
        for row in rows:
            code = row["code"]
            table[code] = Division(
                code=code,
                name=row["name"],
                level=row["level"],
                parent=row.get("parent_code", "") or "",
                gb2260=row.get("gb2260", "yes") == "yes",
                lon=float(row["lon"]) if row.get("lon") else math.nan,
                lat=float(row["lat"]) if row.get("lat") else math.nan,
            )
        return cls(MappingProxyType(table))

    def __contains__(self, code: object) -> bool:
        return code in self.divisions

    def get(self, code: str) -> Division | None:
        return self.divisions.get(code)

    def province_of(self, code: str) -> str:
        """The province code of any division code (by its first two digits)."""
        return code[:2] + "0000"

    def full_name(self, code: str) -> str:
        """E.g. ``浙江省杭州市萧山区`` for 330109; the code itself when unknown."""
        parts: list[str] = []
        current = self.divisions.get(code)
        while current is not None:
            if current.name != "市辖区":
                parts.append(current.name)
            current = self.divisions.get(current.parent) if current.parent else None
        return "".join(reversed(parts)) or code

    def centre(self, code: str) -> tuple[float, float] | None:
        """(lon, lat) of a division's centre, else of the nearest enclosing one."""
        current = self.divisions.get(code)
        if current is None:  # unknown code: try its prefecture, then its province
            for parent in (code[:4] + "00", code[:2] + "0000"):
                if (current := self.divisions.get(parent)) is not None:
                    break
        while current is not None:
            if not (math.isnan(current.lon) or math.isnan(current.lat)):
                return current.lon, current.lat
            current = self.divisions.get(current.parent) if current.parent else None
        return None
