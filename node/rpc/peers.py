"""Who may call this node: the mapping from TLS certificates to known peers.

The servicer layer never trusts a name a client sends; it trusts the certificate the TLS
handshake verified, looked up here by its SHA-256 fingerprint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class KnownPeer:
    """A peer this node accepts calls from."""

    name: str
    cert_sha256: str
    cert_pem: bytes
    endpoint: str
    active: bool


class PeerResolver(Protocol):
    """Read access to the peers a node knows (its store, or the federation directory)."""

    def by_fingerprint(self, cert_sha256: str) -> KnownPeer | None:
        """The peer whose pinned certificate has this fingerprint, if any."""
        ...

    def trusted_certificates(self) -> Sequence[bytes]:
        """PEM certificates of every active peer, for the TLS trust bundle."""
        ...


class StaticPeers:
    """A fixed set of peers, for nodes whose peers come from their own configuration."""

    def __init__(self, peers: Sequence[KnownPeer]) -> None:
        self._by_fp = {p.cert_sha256: p for p in peers}

    def by_fingerprint(self, cert_sha256: str) -> KnownPeer | None:
        return self._by_fp.get(cert_sha256)

    def trusted_certificates(self) -> Sequence[bytes]:
        return [p.cert_pem for p in self._by_fp.values() if p.active]
