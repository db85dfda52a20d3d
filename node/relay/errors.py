"""Errors of the relay on the node side."""

from __future__ import annotations

from node.errors import NodeError


class RelayError(NodeError):
    """Base class of the node's relay errors."""


class RelayedCallError(RelayError):
    """A relayed call (or reply) inside an opened envelope does not parse."""


class UnknownMethodError(RelayError):
    """A relayed call names a method this node does not serve."""
