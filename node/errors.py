"""Errors of the node that are not owned by one of its sub-packages.

Grouped by who is at fault: the operator's setup (:class:`SetupError`), a peer
(:class:`PeerError`), or the node itself. Each message names the file, setting or peer so
that one line on a terminal tells an admin what to fix.
"""

from __future__ import annotations

from pathlib import Path


class NodeError(Exception):
    """Base class of the node's own errors."""


class SetupError(NodeError):
    """The node's home, configuration or keys are missing, corrupt or unsafe."""


class NodeHomeExistsError(SetupError):
    """``accord node init`` was pointed at a directory that already holds a node."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} already holds an Accord node; refusing to overwrite it")
        self.path = path


class NodeHomeMissingError(SetupError):
    """The directory given to a node command is not an initialised node home."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} is not an Accord node home (run `accord node init` first)")
        self.path = path


class ConfigError(SetupError):
    """The configuration file is unreadable, malformed or has an invalid setting."""

    def __init__(self, path: Path, message: str, setting: str | None = None) -> None:
        where = f"{path}: {setting}" if setting else str(path)
        super().__init__(f"{where}: {message}")
        self.path = path
        self.setting = setting


class KeyFileError(SetupError):
    """A key file is missing, corrupt or readable by other users."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class ListenAddressError(SetupError):
    """The server could not bind the configured address (for example, the port is in use)."""

    def __init__(self, address: str, setting: str = "server.listen") -> None:
        super().__init__(
            f"cannot listen on {address} (setting {setting}): address in use or invalid"
        )
        self.address = address


class PeerError(NodeError):
    """A peer is unknown, not allowed, or sent something it must not."""


class UnknownPeerError(PeerError):
    """The client certificate does not belong to any peer this node knows."""


class PeerMismatchError(PeerError):
    """The peer's certificate and its claimed identity disagree, or the peer is not active."""


class PeerUnavailableError(PeerError):
    """A peer could not be reached or refused our TLS handshake."""


class NotThisNodeError(PeerError):
    """A call that only the node's own identity may make came from someone else."""
