"""Test-data tools for the scan pipeline.

- :mod:`quarantine.testing.synthetic_photos`: deterministic synthetic phone photos of
  certificate QR codes and the measured test set (``docs/synthetic-photos.md``);
- :mod:`quarantine.testing.decoders`: the raw decoders and the scan pipeline behind one
  interface;
- :mod:`quarantine.testing.measure`: scoring decoders on a generated set.
"""
