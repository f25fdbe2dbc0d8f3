"""Storage adapters."""

# Every table must be on ``models.Base.metadata`` whenever any storage module is
# used (migrations are checked against it): the federation tables live apart.
from quarantine.storage import federation as _federation  # noqa: F401
from quarantine.storage import inspection as _inspection  # noqa: F401  (inspection tables)
