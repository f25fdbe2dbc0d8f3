"""Reference data shipped with the package (adapter: reads package files)."""

from __future__ import annotations

import csv
import functools
import io
from importlib import resources

from quarantine.core.regions import RegionTable


@functools.cache
def region_table() -> RegionTable:
    """The GB/T 2260 divisions of Shanghai, Jiangsu, Zhejiang and Anhui (2023)."""
    text = resources.files("quarantine.data").joinpath("yrd_divisions_2023.csv").read_text("utf-8")
    return RegionTable.from_rows(csv.DictReader(io.StringIO(text)))
