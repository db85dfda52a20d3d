"""The node's link to its federation: the held directory, kept fresh and applied.

At start the held directory (if any) is applied to the peer table at once; then the
broker is asked every ``refresh_s``. An offered directory is accepted only through
:func:`crypto.directory.accept_update` (operator signature, not expired, not older than
the held one, no second document under the held version); a refused one is logged with
the reason and the held one kept. When the broker is down the held directory stays in
force and direct exchanges continue; a warning is logged once per outage and recovery
is logged too. When the *held* directory expires, every peer is refused until a fresh
one arrives (fail closed: ADR 0009).

What the relay needs per peer (is it relay-only, what is its sealing key) is read from
the held directory with :meth:`FederationLink.member` and friends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc.aio
from sqlalchemy.orm import Session, sessionmaker

from crypto.certs import TlsIdentity
from crypto.directory import (
    Directory,
    DirectoryError,
    DirectoryExpiredError,
    DirectoryRollbackError,
    Member,
    SignedDirectory,
    accept_update,
)
from node.federation.broker_client import FETCH_DEADLINE_S, broker_channel, fetch_directory
from node.federation.errors import (
    BrokerUnreachableError,
    DirectoryRefusedError,
    FederationError,
    NotInDirectoryError,
)
from node.federation.held import load_held, store_held
from node.federation.settings import FederationSettings, PinnedBroker, load_pinned_broker
from node.federation.sync import SyncReport, sync_peers
from node.ledger.publisher import WitnessCall
from node.rpc.ledger_service import grpc_witness_call

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
#: Retry period while no directory is held yet (a node joining a federation).
FIRST_FETCH_RETRY_S = 1.0


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


def _when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="seconds")


class FederationLink:
    """Fetches, verifies, persists and applies the federation directory for one node."""

    def __init__(
        self,
        *,
        home: Path,
        settings: FederationSettings,
        own_name: str,
        own_tls: TlsIdentity,
        sessions: sessionmaker[Session],
        clock: Clock = _utc_now,
        interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
    ) -> None:
        self.home = home
        self.settings = settings
        self.pinned: PinnedBroker = load_pinned_broker(home, settings)
        self.clock = clock
        self._own_name = own_name
        self._own_tls = own_tls
        self._sessions = sessions
        self._interceptors = list(interceptors)
        self._channel: grpc.aio.Channel | None = None
        #: How long one fetch may wait for the broker (connecting included).
        self.fetch_deadline_s = FETCH_DEADLINE_S
        held = load_held(home, settings.operator_key)
        self._signed: SignedDirectory | None = held[0] if held else None
        self._held: Directory | None = held[1] if held else None
        self._reachable: bool | None = None
        self._applied_valid: bool | None = None
        # accept() and apply() run in worker threads; one at a time, so two fetches that
        # overlap can never store an older version over a newer one.
        self._lock = threading.Lock()

    # -- what the node (and the relay) asks --------------------------------------------

    @property
    def held(self) -> Directory | None:
        """The directory held, expired or not (``None`` before the first one)."""
        return self._held

    @property
    def broker_reachable(self) -> bool | None:
        """``None`` before the first fetch; then whether the last fetch reached the broker."""
        return self._reachable

    def valid_directory(self) -> Directory | None:
        """The held directory if it has not expired, else ``None`` (fail closed)."""
        held = self._held
        if held is None or _ms(self.clock()) >= held.expires_ms:
            return None
        return held

    def member(self, name: str) -> Member:
        """A member of the valid held directory; :class:`NotInDirectoryError` otherwise."""
        directory = self.valid_directory()
        member = None if directory is None else directory.member(name)
        if member is None:
            why = "no valid directory is held" if directory is None else "it is not listed"
            raise NotInDirectoryError(f"{name} is not a member of the federation ({why})")
        return member

    def relay_only(self, name: str) -> bool:
        """Whether peers reach ``name`` only through the broker's relay."""
        return self.member(name).relay_only

    def sealing_key(self, name: str) -> bytes:
        """``name``'s X25519 sealing public key (32 bytes), as the directory pins it."""
        return bytes.fromhex(self.member(name).sealing_key)

    def channel(self) -> grpc.aio.Channel:
        """The mutual-TLS channel to the broker, made once (on the event loop) and kept for
        the node's life: the relay's stream, the witness calls and the fetches share it."""
        if self._channel is None:
            self._channel = broker_channel(
                own_name=self._own_name,
                own_tls=self._own_tls,
                pinned=self.pinned,
                endpoint=self.settings.broker,
                interceptors=self._interceptors,
            )
        return self._channel

    def witness_call(self) -> WitnessCall:
        """The broker's WitnessService as the publisher calls witnesses (always on the
        current channel, which a failed fetch replaces)."""

        async def call(old_size: int, proof: Sequence[bytes], note: bytes) -> str:
            return await grpc_witness_call(self.channel())(old_size, proof, note)

        return call

    # -- keeping it fresh ----------------------------------------------------------------

    def apply(self) -> SyncReport:
        """Make the peer table match the valid held directory (or refuse every peer)."""
        with self._lock:
            return self._apply()

    def _apply(self) -> SyncReport:
        directory = self.valid_directory()
        valid = directory is not None
        if self._held is not None and not valid and self._applied_valid is not False:
            log.error(
                "federation directory version %d expired at %s; every peer is refused until "
                "the broker publishes a fresh one",
                self._held.version,
                _when(self._held.expires_ms),
            )
        self._applied_valid = valid
        report = sync_peers(
            self._sessions,
            directory,
            own_name=self._own_name,
            own_cert_sha256=self._own_tls.fingerprint,
            now=self.clock(),
        )
        if report.changed:
            log.info(
                "peers synced from the directory: added %s, updated %s, deactivated %s",
                report.added or "-",
                report.updated or "-",
                report.deactivated or "-",
            )
        return report

    def accept(self, offered: SignedDirectory) -> Directory:
        """Accept ``offered`` if it may replace the held directory, persist it; raises
        :class:`DirectoryRefusedError` (the held one is kept)."""
        with self._lock:
            return self._accept(offered)

    def _accept(self, offered: SignedDirectory) -> Directory:
        try:
            directory = accept_update(
                offered, self._held, self.settings.operator_key, now_ms=_ms(self.clock())
            )
        except DirectoryError as e:
            held = "none" if self._held is None else f"version {self._held.version}"
            kind = (
                "rollback"
                if isinstance(e, DirectoryRollbackError)
                else "expired"
                if isinstance(e, DirectoryExpiredError)
                else "invalid"
            )
            log.error("refused the broker's directory (%s): %s; keeping %s", kind, e, held)
            raise DirectoryRefusedError(f"directory refused ({kind}): {e}") from e
        if self._held is None or directory.version > self._held.version:
            store_held(self.home, offered)
            self._signed, self._held = offered, directory
            log.info(
                "federation directory version %d accepted (%d members, expires %s)",
                directory.version,
                len(directory.members),
                _when(directory.expires_ms),
            )
        return directory

    async def refresh_once(self) -> SyncReport:
        """Fetch, verify, persist and apply; raises :class:`FederationError` on a refusal
        or an unreachable broker (after applying what is held, so expiry still bites)."""
        known = 0 if self._held is None else self._held.version
        try:
            offered = await fetch_directory(
                self.channel(), known_version=known, deadline_s=self.fetch_deadline_s
            )
        except BrokerUnreachableError as e:
            if self._reachable is not False:
                log.warning(
                    "%s; keeping the held directory (%s) and direct exchanges continue",
                    e,
                    "none yet"
                    if self._held is None
                    else f"version {self._held.version}, expires {_when(self._held.expires_ms)}",
                )
            self._reachable = False
            await asyncio.to_thread(self.apply)
            raise
        if self._reachable is False:
            log.info("broker %s is reachable again", self.settings.broker)
        self._reachable = True
        try:
            await asyncio.to_thread(self.accept, offered)
        finally:
            report = await asyncio.to_thread(self.apply)
        return report

    def _next_delay_s(self) -> float:
        if self._held is None:
            return min(self.settings.refresh_s, FIRST_FETCH_RETRY_S)
        until_expiry = (self._held.expires_ms - _ms(self.clock())) / 1000
        if until_expiry > 0:
            return max(0.05, min(self.settings.refresh_s, until_expiry))
        return self.settings.refresh_s

    async def run(self) -> None:
        """Refresh until cancelled (the held directory was applied by :meth:`start`)."""
        while True:
            try:
                await self.refresh_once()
            except FederationError:
                pass  # logged where it happened; the held directory stays in force
            except Exception:
                log.exception("refreshing the federation directory failed")
            await asyncio.sleep(self._next_delay_s())

    async def start(self) -> None:
        """Apply the held directory before the node serves (no broker needed)."""
        await asyncio.to_thread(self.apply)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
