"""quarantine — signed, scannable plant-quarantine certificates (植物检疫证书).

Public names are imported lazily so that ``import quarantine`` stays cheap.
"""

__version__ = "0.1.0"
