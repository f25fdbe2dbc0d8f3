"""Federation between member regions: signed feeds, pulling, recognition questions.

``config`` reads the peers and the agreement table, ``publish`` appends to this
node's feed in the transaction of each change, ``sync`` pulls and verifies
peers' feeds, ``service`` answers inspectors' questions (DESIGN §4,
docs/federation.md).
"""
