"""Errors of the node's federation link, by who is at fault."""

from __future__ import annotations

from node.errors import NodeError, SetupError


class FederationError(NodeError):
    """Base class of the federation link's errors."""


class FederationSetupError(FederationError, SetupError):
    """The ``[federation]`` settings, the pinned broker certificate or the held
    directory file are missing or wrong."""


class FederatedPeersError(FederationError):
    """A peer was to be pinned by hand on a node whose peers come from the directory."""


class DirectoryRefusedError(FederationError):
    """The broker offered a directory this node refuses (wrong key, expired, older)."""


class BrokerUnreachableError(FederationError):
    """The broker could not be reached or refused our TLS handshake."""


class NotInDirectoryError(FederationError):
    """A name that the held directory does not list (or no directory is held)."""
