"""The federation broker's directory and witness, with real servers, TLS, files and SQLite.

A broker and two (or three) nodes on 127.0.0.1: the nodes join, fetch and verify the
signed directory, their peer tables follow it, and an exchange-level call between them
works. Then the faults: a removed member refused within one refresh; a directory signed
by the wrong key, an expired one and an older one refused with the held one kept (across
a restart too); the held directory expiring (fail closed); the broker down (direct
exchanges continue, recovery when it returns). Finally the broker witness cosigns a
node's checkpoint and ``accord audit verify`` accepts a policy naming the broker.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from broker.members import remove_member
from crypto.directory import sign_directory
from node.app import NodeApp, add_peer_from_files, own_card_paths
from node.exchange.errors import InactivePeerError
from node.federation.errors import (
    BrokerUnreachableError,
    DirectoryRefusedError,
    FederatedPeersError,
)
from node.federation.held import load_held
from node.store.db import session_scope
from node.store.peers import PeerRepository
from tests.support.broker import Federation, federated
from tests.support.federation import NodeSpec, agree

SMPD = NodeSpec("santa-monica-pd", "CA0194200")
CCPD = NodeSpec("culver-city-pd", "CA0194300")
LAPD = NodeSpec("los-angeles-pd", "CA0194400")


def _peers(node: NodeApp) -> dict[str, bool]:
    with session_scope(node.sessions) as s:
        return {p.name: p.active for p in PeerRepository(s).all()}


def _held_version(node: NodeApp) -> int:
    assert node.federation is not None and node.federation.held is not None
    return node.federation.held.version


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federation]:
    async with federated(tmp_path, [SMPD, CCPD]) as f:
        yield f


async def test_nodes_take_their_peers_from_the_directory_and_exchange(fed: Federation) -> None:
    smpd, ccpd = fed.nodes
    assert _peers(smpd) == {CCPD.name: True}
    assert _peers(ccpd) == {SMPD.name: True}
    with session_scope(smpd.sessions) as s:
        peer = PeerRepository(s).get(CCPD.name)  # type: ignore[arg-type]
    assert peer is not None
    assert peer.endpoint == f"127.0.0.1:{fed.ports[1]}"
    assert peer.cert_pem == ccpd.keys.tls.cert_pem
    assert peer.sealing_key == bytes(ccpd.keys.sealing.public_key)
    # An exchange-level call between them, pinned only by the directory.
    agreement = await agree(smpd, ccpd)
    assert agreement
    # Persisted: the held file verifies under the pinned operator key.
    assert smpd.federation is not None
    held = load_held(smpd.config.home, smpd.federation.settings.operator_key)
    assert held is not None and held[1].version == fed.broker.app.directory().version
    # What the relay asks of the held directory.
    assert smpd.federation.relay_only(CCPD.name) is False
    assert smpd.federation.sealing_key(CCPD.name) == bytes(ccpd.keys.sealing.public_key)


async def test_peers_add_is_refused_on_a_federated_node(fed: Federation) -> None:
    cert, card = own_card_paths(fed.homes[1])
    with pytest.raises(FederatedPeersError, match="directory"):
        add_peer_from_files(
            fed.homes[0],
            cert_path=cert,
            keys_path=card,
            endpoint="127.0.0.1:1",
            now=dt.datetime.now(dt.UTC),
        )


async def test_a_removed_member_is_refused_within_one_refresh(fed: Federation) -> None:
    smpd, ccpd = fed.nodes
    # Culver City has a connection open to Santa Monica when it is removed.
    await agree(ccpd, smpd, agreement_id="ccpd-smpd-2026")
    remove_member(fed.broker.app.home, CCPD.name, now=dt.datetime.now(dt.UTC))
    await smpd.federation.refresh_once()  # type: ignore[union-attr]
    assert _peers(smpd) == {CCPD.name: False}
    # Santa Monica no longer calls it ...
    with pytest.raises(InactivePeerError):
        await agree(smpd, ccpd)
    # ... and refuses its next call on the open connection, though Culver City still
    # holds the old directory (and so still calls).
    with pytest.raises(Exception, match="not active") as refused:
        await agree(ccpd, smpd, agreement_id="ccpd-smpd-2027")
    assert "PERMISSION_DENIED" in repr(refused.value) or "not active" in str(refused.value)
    # The broker refuses the removed member too: its next fetch fails, held kept.
    before = _held_version(ccpd)
    with pytest.raises(BrokerUnreachableError):
        await ccpd.federation.refresh_once()  # type: ignore[union-attr]
    assert _held_version(ccpd) == before


async def test_wrong_key_expired_and_older_directories_are_refused(
    fed: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    smpd, _ = fed.nodes
    assert smpd.federation is not None
    held = smpd.federation.held
    assert held is not None
    operator = fed.broker.app.home.keys.operator
    now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    newer = dataclasses.replace(held, version=held.version + 5, issued_ms=now_ms)
    cases = {
        "invalid": sign_directory(newer, SigningKey.generate()),
        "expired": sign_directory(dataclasses.replace(newer, issued_ms=1, expires_ms=2), operator),
        "rollback": fed.broker.app.home.snapshots.history(held.version - 1).signed,
    }
    for kind, offered in cases.items():
        async with fed.broker.replaced_by(offered):
            caplog.clear()
            with (
                caplog.at_level(logging.ERROR, logger="node.federation.link"),
                pytest.raises(DirectoryRefusedError, match=kind),
            ):
                await smpd.federation.refresh_once()
        assert any(f"keeping version {held.version}" in r.getMessage() for r in caplog.records), (
            kind
        )
        assert _held_version(smpd) == held.version
        assert _peers(smpd) == {CCPD.name: True}
    # The real broker is back and its directory is accepted again.
    await smpd.federation.refresh_once()
    assert _held_version(smpd) == held.version
