"""Score decoders on a synthetic photo set written by :func:`build_set`.

An image counts as *read* when one decoded text equals the expected text
exactly; every decoded text that differs from it is a *wrong* text (the set has
one code per image, so any other text is a misread).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quarantine.testing.decoders import Decoder


@dataclass(frozen=True)
class ImageScore:
    """One decoder's outcome on one image of the set."""

    file: str
    label: str
    severity: int
    px_per_module: float
    read: bool
    wrong: int
    ms: float
    error: str | None
    stages: tuple[str, ...]


def load_manifest(set_dir: Path) -> dict[str, Any]:
    """The parsed ``manifest.json`` of a set directory."""
    data: dict[str, Any] = json.loads((set_dir / "manifest.json").read_text(encoding="utf-8"))
    return data


def measure(
    set_dir: Path,
    decoder: Decoder,
    *,
    where: Callable[[dict[str, Any]], bool] | None = None,
) -> list[ImageScore]:
    """Run ``decoder`` on every image of the set (or those ``where`` accepts)."""
    scores = []
    for entry in load_manifest(set_dir)["images"]:
        if where is not None and not where(entry):
            continue
        outcome = decoder((set_dir / entry["file"]).read_bytes())
        expected = entry["text"]
        scores.append(
            ImageScore(
                file=entry["file"],
                label=entry["label"],
                severity=int(entry["severity"]),
                px_per_module=float(entry["px_per_module"]),
                read=expected in outcome.texts,
                wrong=sum(text != expected for text in outcome.texts),
                ms=outcome.ms,
                error=outcome.error,
                stages=outcome.stages,
            )
        )
    return scores


def read_count(scores: Iterable[ImageScore]) -> tuple[int, int]:
    """``(read, total)``."""
    items = list(scores)
    return sum(s.read for s in items), len(items)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100.0 * len(ordered))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    """Median; 0 for no values."""
    return statistics.median(values) if values else 0.0
