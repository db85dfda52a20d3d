"""Writing typed, validated entries to the node's ledger.

Domain code records what happened through :class:`Recorder`; it never builds entry bytes
by hand, so every entry is schema-checked (:mod:`crypto.entries`) before it is sequenced,
and people appear only as keyed pseudonyms.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from crypto.entries import Entry
from node.ledger.log import LedgerLog

_ACTOR_DOMAIN = b"accord/actor/v1\n"


def actor_pseudonym(actor_key: bytes, officer_id: str) -> str:
    """A stable pseudonym for an officer: HMAC-SHA256 under the node's actor key.

    Auditors can count and compare a user's activity across entries without learning who
    the user is; the node can re-identify (it holds the key) when oversight requires it.
    Rotating the key starts new pseudonyms and is itself logged (``key.rotated``).
    """
    return hmac.new(
        actor_key, _ACTOR_DOMAIN + officer_id.encode("utf-8"), hashlib.sha256
    ).hexdigest()


class Recorder:
    """Appends entries of one node to its ledger."""

    def __init__(
        self,
        log: LedgerLog,
        *,
        node_name: str,
        actor_key: bytes,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._log = log
        self._node = node_name
        self._actor_key = actor_key
        self._clock = clock

    def actor(self, officer_id: str) -> str:
        return actor_pseudonym(self._actor_key, officer_id)

    async def record(self, entry_type: str, **fields: Any) -> int:
        """Validate and append one entry; returns its index once durable."""
        now_ms = int(self._clock().timestamp() * 1000)
        entry = Entry(type=entry_type, time_ms=now_ms, node=self._node, fields=fields)
        return await self._log.append(entry.encode())
