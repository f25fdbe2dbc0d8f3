"""Publishing to this node's signed feed, in the transaction of the change itself.

The registry's use cases call :func:`publish_to_feed` after they store a
certificate or append a status event or re-inspection; operator registrations
call it too.  When the session's factory has a :class:`FeedPublisher` attached
(a node with peers, see :func:`attach`), the change becomes the next entry of
the feed — numbered, linked to the previous entry's hash, signed with the
node's current key — and is applied to the shared records view; the entry is
committed or rolled back with the change.  Without a publisher nothing happens.
A group commit of issues publishes its certificates with one call
(:func:`publish_certificates`): one lock, one look-up of the head and one
statement per table for the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy.orm import Session, sessionmaker

from quarantine.core.feed import EntryKind, FeedEntry, SignedEntry, sign_entry
from quarantine.core.keys import Signer
from quarantine.core.status import EventType
from quarantine.core.trust import TrustList
from quarantine.storage import federation as store

if TYPE_CHECKING:
    from quarantine.storage.events import RecordedEvent

INFO_KEY: Final = "quarantine.feed_publisher"


@dataclass(frozen=True)
class FeedPublisher:
    """Signs this node's feed entries: ``signer_for(region, at)`` gives the current key."""

    region: str
    signer_for: Callable[[str, datetime], Signer]
    trust: TrustList


def attach(sessions: sessionmaker[Session], publisher: FeedPublisher) -> None:
    """Make every session of ``sessions`` publish to the feed."""
    sessions.configure(info={INFO_KEY: publisher})


def publisher_of(session: Session) -> FeedPublisher | None:
    found = session.info.get(INFO_KEY)
    return found if isinstance(found, FeedPublisher) else None


def append(
    session: Session,
    publisher: FeedPublisher,
    kind: EntryKind,
    body: Mapping[str, Any],
    now: datetime,
) -> SignedEntry:
    """Sign and store the next entry of this node's feed; apply it to the shared view."""
    return append_many(session, publisher, [(kind, body)], now)[0]


def append_many(
    session: Session,
    publisher: FeedPublisher,
    items: Sequence[tuple[EntryKind, Mapping[str, Any]]],
    now: datetime,
) -> list[SignedEntry]:
    """Sign and store the next entries of this node's feed, in order; apply them.

    One lock, one look-up of the head and one statement per table for all of them
    (a group commit of issues publishes its certificates with one call).
    """
    if not items:
        return []
    store.lock_feed(session)
    head = store.feed_head(session)
    signer = publisher.signer_for(publisher.region, now)
    signed: list[SignedEntry] = []
    seq, prev = head.seq, head.hash
    for kind, body in items:
        seq += 1
        one = sign_entry(FeedEntry(publisher.region, seq, prev, kind, now, dict(body)), signer)
        signed.append(one)
        prev = one.hash
    store.add_feed_entries(session, signed, now)
    store.apply_entries(session, signed, publisher.trust, now)
    return signed


def _event_body(number: str, event: RecordedEvent) -> tuple[EntryKind, dict[str, Any]]:
    if event.type is EventType.REINSPECTED:
        body: dict[str, Any] = {
            "number": number,
            "at": event.at.isoformat(),
            "result": str(event.detail.get("result", "")),
            "region": event.region,
            "checkpoint": event.checkpoint,
            "notes": event.reason,
        }
        if event.detail.get("arrival"):
            body["arrival"] = True
        return EntryKind.REINSPECTION, body
    return EntryKind.STATUS_EVENT, {
        "number": number,
        "type": event.type.value,
        "at": event.at.isoformat(),
        "reason": event.reason,
        "superseded_by": event.superseded_by,
    }


def publish_to_feed(
    session: Session,
    number: str,
    now: datetime,
    *,
    qr_text: str = "",
    event: RecordedEvent | None = None,
) -> SignedEntry | None:
    """Publish a certificate just stored (``qr_text``) or an event just appended (``event``).

    Only records of this node's own province are published; ``None`` when nothing was.
    """
    publisher = publisher_of(session)
    if publisher is None or number[:2] != publisher.region[:2]:
        return None
    if event is not None:
        kind, body = _event_body(number, event)
    else:
        kind, body = EntryKind.CERTIFICATE, {"qr": qr_text}
    return append(session, publisher, kind, body, now)


def publish_certificates(
    session: Session, issued: Sequence[tuple[str, str]], now: datetime
) -> list[SignedEntry]:
    """Publish certificates just stored together, ``(number, QR text)`` each, in order
    (what :func:`publish_to_feed` does for one, with one feed append for all)."""
    publisher = publisher_of(session)
    if publisher is None:
        return []
    province = publisher.region[:2]
    return append_many(
        session,
        publisher,
        [(EntryKind.CERTIFICATE, {"qr": qr}) for number, qr in issued if number[:2] == province],
        now,
    )
