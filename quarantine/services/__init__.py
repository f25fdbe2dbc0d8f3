"""Use cases over the core and the adapters (issue, verify, …)."""
