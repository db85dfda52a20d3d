"""Errors of the agreement workflow between two nodes, by who is at fault.

(The query exchange's errors live in :mod:`node.exchange.query_errors`.)

- our own admin asked for something that cannot be done: :class:`InvalidCommandError`
  (a malformed argument), :class:`NoSuchPeerError`, :class:`InactivePeerError`,
  :class:`AgreementNotFoundError`, :class:`AgreementStateError` (the agreement is not in a
  state that allows the action);
- a peer sent something it must not: :class:`WrongPartyError` (it is not the party the
  message needs), :class:`PartyMismatchError` (the document describes a party otherwise
  than its pinned card or this node's configuration), :class:`AgreementConflictError`
  (a different document under an id and version already held);
- a peer refused our call: :class:`PeerRefusedError`, :class:`PeerDeniedError` (its policy
  said no). A peer that cannot be reached is :class:`node.errors.PeerUnavailableError`.

Every class is mapped to one gRPC status in :mod:`node.rpc.status`. Messages name
agreements, versions, peers and fields, never a document's values or a key.
"""

from __future__ import annotations

from collections.abc import Sequence

from node.errors import NodeError


class AgreementWorkflowError(NodeError):
    """Base class of the agreement workflow's errors."""


class InvalidCommandError(AgreementWorkflowError):
    """An admin's command has a malformed argument (an empty admin name, a reason that is
    not a short code, an unknown status). Nothing was done."""


class NoSuchPeerError(AgreementWorkflowError):
    """The admin named a peer this node does not know."""


class InactivePeerError(AgreementWorkflowError):
    """The admin named a peer that is suspended on this node."""


class AgreementNotFoundError(AgreementWorkflowError):
    """No agreement (or no such version) with this id is held here, with this caller."""


class AgreementStateError(AgreementWorkflowError):
    """The agreement exists but its status or this node's role in it does not allow the
    action (accepting what is already active, revoking a proposal, ...)."""


class AgreementConflictError(AgreementWorkflowError):
    """A document that differs from the one held under the same agreement id and version,
    or an id that is already used with another peer."""


class WrongPartyError(AgreementWorkflowError):
    """The calling peer is not the party of the agreement that may send this message."""


class PartyMismatchError(AgreementWorkflowError):
    """The document describes a party otherwise than the facts this node pinned: the
    requester's ORI, jurisdiction, kind or signing key differ from its peer card, or the
    responder is not this node as configured. Refused before any policy runs, since policy
    decides on exactly these attributes."""


class PeerRefusedError(AgreementWorkflowError):
    """The peer refused our call, or answered something we cannot accept.

    ``message`` is the whole line (it quotes the peer's own message); ``peer_code`` is the
    name of the gRPC status the peer answered (``"INVALID_ARGUMENT"``), or ``""`` when the
    peer answered but the answer was wrong.
    """

    def __init__(self, peer: str, message: str, peer_code: str = "") -> None:
        super().__init__(message)
        self.peer = peer
        self.peer_code = peer_code


class PeerDeniedError(PeerRefusedError):
    """The peer's agreement rules or legal profile refused (it answered PERMISSION_DENIED).

    ``rule_ids`` are the peer's rules from its ``PolicyDenial`` details, passed on in ours
    (the interceptor attaches any error's ``rule_ids``); its message names them too.
    """

    def __init__(
        self, peer: str, message: str, peer_code: str = "", rule_ids: Sequence[str] = ()
    ) -> None:
        super().__init__(peer, message, peer_code)
        self.rule_ids = tuple(rule_ids)
