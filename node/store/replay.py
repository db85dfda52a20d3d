"""The replay cache: a peer's signed request is honoured once.

A request carries an id and a time; the responder refuses requests outside its clock
window, and remembers the ids of those inside it until the window has passed. So an
entry can be purged once it ``expires``; ids are only ever compared per peer.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.orm import Session

from node.ids import NodeId, RequestId
from node.store.db import insert_ignoring_duplicates, rowcount, translate_errors
from node.store.models import SeenRequestRow

MAX_REQUEST_ID = 64


class ReplayCache:
    """Request ids seen per peer."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def remember(
        self, peer_id: NodeId, request_id: RequestId, *, expires: dt.datetime, now: dt.datetime
    ) -> bool:
        """Record ``request_id`` from ``peer_id``; ``False`` if it was seen before (a replay).

        Atomic: of two concurrent calls with the same id, exactly one returns ``True``.
        """
        if not 0 < len(request_id) <= MAX_REQUEST_ID:
            raise ValueError(f"request id must be 1-{MAX_REQUEST_ID} characters")
        stmt = (
            insert_ignoring_duplicates(self._session, SeenRequestRow, ("peer_id", "request_id"))
            .values(peer_id=peer_id, request_id=request_id, seen=now, expires=expires)
            .returning(SeenRequestRow.request_id)
        )
        with translate_errors(self._session):
            return self._session.execute(stmt).first() is not None

    def purge_expired(self, now: dt.datetime) -> int:
        """Forget ids whose replay window ended at or before ``now``; returns how many."""
        stmt = delete(SeenRequestRow).where(SeenRequestRow.expires <= now)
        with translate_errors(self._session):
            return rowcount(
                self._session.execute(stmt, execution_options={"synchronize_session": False})
            )
