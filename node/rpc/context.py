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


def calling_peer() -> CallingPeer:
    """The authenticated caller of the call being served (set by the interceptor)."""
    peer = calling_peer_var.get()
    if peer is None:  # pragma: no cover - the interceptor always sets it
        raise RuntimeError("no calling peer: not inside an intercepted call")
    return peer


def require_self() -> CallingPeer:
    """The caller, if it is this node itself (its own certificate); else raise.

    Admin and officer methods call this first: the node's own identity is held only by
    whoever can read its ``tls/node.key``, that is, its admins on its host.
    """
    from node.errors import NotThisNodeError

    peer = calling_peer()
    if not peer.is_self:
        raise NotThisNodeError(
            f"{peer.node_name} may not call this node's admin API; only the node itself may"
        )
    return peer
