"""Per-call context carried in ``contextvars``: the request id and the calling peer.

Set by the interceptor before a handler runs, read by logging and by handlers, so no
function needs to pass them along by hand.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

#: The request id of the call being served, ``"-"`` outside any call.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


@dataclass(frozen=True, slots=True)
class CallingPeer:
    """Who is on the other end of a call, as established from its TLS certificate."""

    node_name: str
    cert_sha256: str
    is_self: bool


calling_peer_var: contextvars.ContextVar[CallingPeer | None] = contextvars.ContextVar(
    "calling_peer", default=None
)

REQUEST_ID_HEADER = "accord-request-id"
NODE_NAME_HEADER = "accord-node-name"
