"""Pure core: certificate model, payload codec, signatures, trust and rules.

Nothing in this package performs I/O or imports web, database or imaging
libraries; callers pass bytes, settings and ``now`` in.
"""
