"""The relay's only state: who holds a stream, and which requests wait for a reply.

Everything here lives in memory and only while a call is in flight: the broker keeps no
envelope once it is handed on, writes nothing to disk and never sees a payload in the
clear (it holds ciphertexts it has no key for). A member holds at most one stream; a
new one replaces the old, whose waiting callers are told it went away.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from broker.relay_errors import (
    DuplicateEnvelopeError,
    RecipientNotConnectedError,
    RelayBusyError,
    ReplyTimeoutError,
)
from crypto.envelope import Envelope

log = logging.getLogger(__name__)

#: Envelopes queued for one member's stream before further ones are refused.
MAX_QUEUED_PER_LINK = 256
#: Requests waiting for replies across the whole relay.
MAX_PENDING = 4096


@dataclass(eq=False)
class Link:
    """One member's open Connect stream."""

    member: str
    cert_sha256: str
    outbox: asyncio.Queue[Envelope | None] = field(default_factory=asyncio.Queue)
    #: Why the link was closed by the broker (empty while open).
    closed_reason: str = ""
    #: The gRPC status name the member's stream ends with.
    closed_status: str = "OK"
    last_seen: float = 0.0

    @property
    def open(self) -> bool:
        return not self.closed_reason

    def close(self, reason: str, *, status: str = "OK") -> None:
        if self.open:
            self.closed_reason = reason
            self.closed_status = status
            self.outbox.put_nowait(None)


@dataclass(eq=False)
class _Pending:
    caller: str
    recipient: str
    link: Link
    reply: asyncio.Future[Envelope]


class Routes:
    """Attach and detach member streams; forward a request and await its reply."""

    def __init__(self) -> None:
        self._links: dict[str, Link] = {}
        self._pending: dict[bytes, _Pending] = {}

    def attach(self, member: str, cert_sha256: str, *, now: float) -> Link:
        """A new stream for ``member``, replacing (and closing) any older one."""
        old = self._links.get(member)
        if old is not None:
            self._close(old, "replaced by a newer stream of the same member", status="ABORTED")
        link = Link(member, cert_sha256, last_seen=now)
        self._links[member] = link
        return link

    def detach(self, link: Link) -> None:
        """Forget ``link`` once its stream ended (a newer stream is left alone)."""
        link.close(link.closed_reason or "stream ended")
        if self._links.get(link.member) is link:
            del self._links[link.member]
        self._fail_waiting_on(link)

    def close_member(self, member: str, reason: str, *, status: str = "OK") -> None:
        link = self._links.get(member)
        if link is not None:
            self._close(link, reason, status=status)

    def _close(self, link: Link, reason: str, *, status: str = "OK") -> None:
        link.close(reason, status=status)
        if self._links.get(link.member) is link:
            del self._links[link.member]
        self._fail_waiting_on(link)

    def _fail_waiting_on(self, link: Link) -> None:
        for p in self._pending.values():
            if p.link is link and not p.reply.done():
                p.reply.set_exception(
                    RecipientNotConnectedError(
                        f"{link.member} left the relay before replying ({link.closed_reason})"
                    )
                )

    def connected(self) -> dict[str, str]:
        """Member name -> certificate fingerprint of every open stream."""
        return {name: link.cert_sha256 for name, link in self._links.items()}

    def link_of(self, member: str) -> Link | None:
        return self._links.get(member)

    async def forward(self, caller: str, envelope: Envelope, *, timeout_s: float) -> Envelope:
        """Push ``envelope`` down its recipient's stream and wait for the reply to it."""
        link = self._links.get(envelope.recipient)
        if link is None or not link.open:
            raise RecipientNotConnectedError(f"{envelope.recipient} is not connected to the relay")
        if envelope.envelope_id in self._pending:
            raise DuplicateEnvelopeError("an envelope with this id is already in flight")
        if len(self._pending) >= MAX_PENDING or link.outbox.qsize() >= MAX_QUEUED_PER_LINK:
            raise RelayBusyError(f"the relay is busy; {envelope.recipient} has a backlog")
        pending = _Pending(
            caller, envelope.recipient, link, asyncio.get_running_loop().create_future()
        )
        self._pending[envelope.envelope_id] = pending
        try:
            link.outbox.put_nowait(envelope)
            try:
                return await asyncio.wait_for(asyncio.shield(pending.reply), timeout_s)
            except TimeoutError as e:
                raise ReplyTimeoutError(
                    f"{envelope.recipient} did not reply through the relay within {timeout_s:g} s"
                ) from e
        finally:
            del self._pending[envelope.envelope_id]
            if not pending.reply.done():
                pending.reply.cancel()

    def deliver_reply(self, link: Link, reply: Envelope) -> bool:
        """Hand a reply that arrived on ``link`` to the caller waiting for it.

        Only a reply from the member the request went to, addressed to the member that
        asked, resolves it; anything else is dropped (and counted in the log).
        """
        pending = self._pending.get(reply.in_reply_to)
        if (
            pending is None
            or pending.link is not link
            or reply.sender != link.member
            or reply.recipient != pending.caller
            or pending.reply.done()
        ):
            log.info("relay dropped an unmatched reply on the stream of %s", link.member)
            return False
        pending.reply.set_result(reply)
        return True

    def state_summary(self) -> dict[str, object]:
        """What the relay holds right now (names and counts only), for operators and tests."""
        return {
            "links": {name: link.outbox.qsize() for name, link in self._links.items()},
            "pending": [(p.caller, p.recipient) for p in self._pending.values()],
        }
