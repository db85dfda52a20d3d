"""The responder's VOPRF keys, one per (agreement, epoch), committed in its ledger.

A key is made the first time an epoch is needed (a read to index, a query to answer)
and its public key's SHA-256 is appended to the ledger as ``key.rotated`` with scope
``<agreement>:<epoch>`` *before* the key is stored: no key is ever used that the ledger
does not commit. Requesters pin the public key of each epoch on first use, and a proof
under any other key is refused. Retention (and revocation) destroys the secret; a
destroyed epoch is never re-keyed, so its index entries can no longer be matched.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session, sessionmaker

from crypto.oprf import generate_key_pair
from node.ids import AgreementId, Epoch
from node.ledger.recorder import Recorder
from node.store.agreements import OprfEpochKey, OprfKeyRepository
from node.store.db import session_scope


def key_scope(agreement_id: AgreementId, epoch: Epoch) -> str:
    return f"{agreement_id}:{epoch}"


class EpochKeys:
    """Gets, or makes and commits, the keys of an agreement's epochs."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        recorder: Recorder,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._sessions = sessions
        self._recorder = recorder
        self._clock = clock
        self._lock = asyncio.Lock()

    async def ensure(
        self, agreement_id: AgreementId, epochs: Iterable[Epoch]
    ) -> dict[Epoch, OprfEpochKey]:
        """The keys of ``epochs``, making (and committing) those that do not exist yet.

        Destroyed keys come back as they are (``secret`` is ``None``): the caller treats
        their epochs as expired.
        """
        wanted = sorted(set(epochs))
        async with self._lock:  # one maker per node: never two keys for one epoch
            found = await asyncio.to_thread(self._load, agreement_id, wanted)
            for epoch in wanted:
                if epoch in found:
                    continue
                pair = generate_key_pair()
                await self._recorder.record(
                    "key.rotated",
                    key="voprf-ristretto255-sha512",
                    scope=key_scope(agreement_id, epoch),
                    public_key_sha256=hashlib.sha256(pair.public_key).hexdigest(),
                )
                found[epoch] = await asyncio.to_thread(
                    self._store, agreement_id, epoch, pair.secret_key, pair.public_key
                )
        return found

    def _load(self, agreement_id: AgreementId, epochs: list[Epoch]) -> dict[Epoch, OprfEpochKey]:
        with session_scope(self._sessions) as s:
            repo = OprfKeyRepository(s)
            keys = (repo.get(agreement_id, e) for e in epochs)
            return {k.epoch: k for k in keys if k is not None}

    def _store(
        self, agreement_id: AgreementId, epoch: Epoch, secret: bytes, public: bytes
    ) -> OprfEpochKey:
        with session_scope(self._sessions) as s:
            return OprfKeyRepository(s).add(
                agreement_id, epoch, secret=secret, public_key=public, now=self._clock()
            )
