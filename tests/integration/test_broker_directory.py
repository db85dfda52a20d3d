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
from node.app import (
    NodeApp,
    add_peer_from_files,
    audit_policy_text,
    export_ledger,
    own_card_paths,
    set_peer_active,
)
from node.exchange.errors import InactivePeerError
from node.federation.broker_client import FETCH_DEADLINE_S
from node.federation.errors import (
    BrokerUnreachableError,
    DirectoryRefusedError,
    FederatedPeersError,
)
from node.federation.held import load_held
from node.store.db import session_scope
from node.store.peers import PeerRepository
from tests.support.broker import Federation, federated
from tests.support.cli import accord
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


def _reachable(node: NodeApp) -> bool | None:
    assert node.federation is not None
    return node.federation.broker_reachable


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
    # The broker refuses the removed member too, on its open connection: held kept.
    before = _held_version(ccpd)
    with pytest.raises(BrokerUnreachableError, match=r"UNAUTHENTICATED.*not a member"):
        await ccpd.federation.refresh_once()  # type: ignore[union-attr]
    assert _held_version(ccpd) == before


async def test_an_admins_suspension_outlasts_refreshes_and_restore_brings_it_back(
    fed: Federation,
) -> None:
    """The directory lists Culver City, but Santa Monica's admin suspended it: refreshes
    leave it suspended; restoring it makes it active again because it is still listed."""
    smpd, ccpd = fed.nodes
    smpd_home = fed.homes[0]
    suspended = set_peer_active(smpd_home, CCPD.name, False, now=dt.datetime.now(dt.UTC))
    assert suspended.suspended and not suspended.active
    await fed.refresh_all()
    assert _peers(smpd) == {CCPD.name: False}
    with pytest.raises(InactivePeerError):
        await agree(smpd, ccpd)
    restored = set_peer_active(smpd_home, CCPD.name, True, now=dt.datetime.now(dt.UTC))
    assert restored.active and not restored.suspended
    await fed.refresh_all()
    assert _peers(smpd) == {CCPD.name: True}
    assert await agree(smpd, ccpd)


async def test_a_removed_member_stays_inactive_when_restored(fed: Federation) -> None:
    smpd, _ = fed.nodes
    smpd_home = fed.homes[0]
    set_peer_active(smpd_home, CCPD.name, False, now=dt.datetime.now(dt.UTC))
    remove_member(fed.broker.app.home, CCPD.name, now=dt.datetime.now(dt.UTC))
    await smpd.federation.refresh_once()  # type: ignore[union-attr]
    restored = set_peer_active(smpd_home, CCPD.name, True, now=dt.datetime.now(dt.UTC))
    assert not restored.suspended and not restored.active


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


async def test_rollback_protection_survives_a_restart(fed: Federation) -> None:
    smpd = fed.nodes[0]
    assert smpd.federation is not None and smpd.federation.held is not None
    # A second, newer version, accepted: version N-1 is now a rollback.
    fed.broker.app.home.publish(now=dt.datetime.now(dt.UTC))
    await smpd.federation.refresh_once()
    version = _held_version(smpd)
    older = fed.broker.app.home.snapshots.history(version - 1).signed
    await smpd.close()
    restarted = NodeApp.open(smpd.config.home, listen="127.0.0.1:0")
    fed.nodes[0] = restarted  # the fixture closes it
    restarted.publish_interval_s = 3600
    await restarted.start()
    assert restarted.federation is not None
    assert _held_version(restarted) == version
    assert _peers(restarted) == {CCPD.name: True}  # applied from the file, before any fetch
    async with fed.broker.replaced_by(older):
        with pytest.raises(DirectoryRefusedError, match="rollback"):
            await restarted.federation.refresh_once()
    assert _held_version(restarted) == version


async def test_an_expired_held_directory_refuses_every_peer_until_a_fresh_one(
    fed: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    smpd, ccpd = fed.nodes
    link = smpd.federation
    assert link is not None and link.held is not None
    await agree(ccpd, smpd, agreement_id="ccpd-smpd-2026")  # a connection is open
    real_clock = link.clock
    expires = dt.datetime.fromtimestamp(link.held.expires_ms / 1000, dt.UTC)
    link.clock = lambda: expires + dt.timedelta(seconds=1)
    with (
        caplog.at_level(logging.ERROR, logger="node.federation.link"),
        pytest.raises(DirectoryRefusedError, match="expired"),
    ):
        await link.refresh_once()  # the broker's copy is just as old: refused too
    assert any("every peer is refused" in r.getMessage() for r in caplog.records)
    assert _peers(smpd) == {CCPD.name: False}
    with pytest.raises(InactivePeerError):
        await agree(smpd, ccpd)
    with pytest.raises(Exception, match="not active"):
        await agree(ccpd, smpd, agreement_id="ccpd-smpd-2027")
    # The operator re-signs (as `accord broker serve` does before expiry) and time is
    # back: the fresh directory restores the peers.
    link.clock = real_clock
    fed.broker.app.home.publish(now=dt.datetime.now(dt.UTC))
    await link.refresh_once()
    assert _peers(smpd) == {CCPD.name: True}
    assert await agree(smpd, ccpd)


async def test_broker_down_keeps_the_held_directory_and_direct_exchanges(
    fed: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    smpd, ccpd = fed.nodes
    assert smpd.federation is not None
    smpd.federation.fetch_deadline_s = 1.0
    version = _held_version(smpd)
    await fed.broker.stop()
    with caplog.at_level(logging.WARNING, logger="node.federation.link"):
        with pytest.raises(BrokerUnreachableError):
            await smpd.federation.refresh_once()
        with pytest.raises(BrokerUnreachableError):
            await smpd.federation.refresh_once()
    warnings = [r for r in caplog.records if "keeping the held directory" in r.getMessage()]
    assert len(warnings) == 1  # once per outage, not once per refresh
    assert _reachable(smpd) is False
    assert _held_version(smpd) == version
    assert _peers(smpd) == {CCPD.name: True}
    assert await agree(smpd, ccpd)  # direct exchanges continue
    await fed.broker.restart()
    # Back within gRPC's reconnect backoff (at most 2 s): the usual deadline covers it.
    smpd.federation.fetch_deadline_s = FETCH_DEADLINE_S
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="node.federation.link"):
        await smpd.federation.refresh_once()
    assert _reachable(smpd) is True
    assert any("reachable again" in r.getMessage() for r in caplog.records)


async def test_broker_witness_cosigns_and_audit_accepts_a_policy_naming_it(
    fed: Federation, tmp_path: Path
) -> None:
    smpd, ccpd = fed.nodes
    await agree(smpd, ccpd)  # something worth logging
    smpd.heartbeat_s = 0
    checkpoint = await smpd.publish_once()
    assert checkpoint is not None
    note = smpd.publisher.cosigned_note(checkpoint).decode()
    broker_witness = fed.broker.app.witness.signer.verifier.name
    assert f"\u2014 {broker_witness} " in note
    assert f"\u2014 accord/{CCPD.name}/witness " in note
    # The broker holds what it cosigned: a size, a root, signatures (no plate, no label).
    held = fed.broker.app.witness.held(f"accord/{SMPD.name}/ledger")
    assert held is not None and held.size == checkpoint.size
    # A second round extends it with a consistency proof.
    await agree(smpd, ccpd, agreement_id="smpd-ccpd-2027")
    second = await smpd.publish_once()
    assert second is not None and second.size > checkpoint.size
    assert f"\u2014 {broker_witness} " in smpd.publisher.cosigned_note(second).decode()
    assert fed.broker.app.witness.held(f"accord/{SMPD.name}/ledger").size == second.size  # type: ignore[union-attr]
    # A publisher that forgot what the broker holds (a restarted node) is told the size
    # (FAILED_PRECONDITION, as node witnesses answer) and catches up on the next round.
    [client] = [c for c in smpd.publisher.witnesses if c.verifier.name == broker_witness]
    client.last_size = 0
    await agree(smpd, ccpd, agreement_id="smpd-ccpd-2028")
    third = await smpd.publish_once()
    assert third is not None
    assert f"\u2014 {broker_witness} " not in smpd.publisher.cosigned_note(third).decode()
    assert client.last_size == second.size
    fourth = await smpd.publish_once()
    assert fourth is not None
    assert f"\u2014 {broker_witness} " in smpd.publisher.cosigned_note(fourth).decode()

    out = tmp_path / "smpd-tiles"
    await export_ledger(smpd.config.home, out)
    policy = tmp_path / "policy.toml"
    policy.write_text(audit_policy_text(smpd.config.home, quorum=2))
    assert fed.broker.app.witness.signer.verifier.vkey() in policy.read_text()
    result = accord("audit", "verify", "--policy", str(policy), "--log", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert broker_witness in result.stdout
    # The broker alone as the quorum.
    only_broker = tmp_path / "broker-only.toml"
    log_key = smpd.publisher.signer.verifier.vkey()
    broker_vkey = fed.broker.app.witness.signer.verifier.vkey()
    only_broker.write_text(f'log = "{log_key}"\nwitnesses = ["{broker_vkey}"]\nquorum = 1\n')
    result = accord("audit", "verify", "--policy", str(only_broker), "--log", str(out))
    assert result.returncode == 0, result.stdout + result.stderr


async def test_the_broker_refuses_to_cosign_a_removed_members_log(fed: Federation) -> None:
    smpd, _ = fed.nodes
    remove_member(fed.broker.app.home, SMPD.name, now=dt.datetime.now(dt.UTC))
    smpd.heartbeat_s = 0
    checkpoint = await smpd.publish_once()
    assert checkpoint is not None
    note = smpd.publisher.cosigned_note(checkpoint).decode()
    assert fed.broker.app.witness.signer.verifier.name not in note
    assert fed.broker.app.witness.held(f"accord/{SMPD.name}/ledger") is None


async def test_a_running_broker_re_signs_before_expiry(fed: Federation) -> None:
    broker = fed.broker.app
    smpd = fed.nodes[0]
    current = broker.directory()
    validity = dt.timedelta(milliseconds=current.expires_ms - current.issued_ms)
    issued = dt.datetime.fromtimestamp(current.issued_ms / 1000, dt.UTC)
    broker.clock = lambda: issued + validity * 0.4
    assert await broker.resign_once() is None  # more than half the validity left
    later = issued + validity * 0.6
    broker.clock = lambda: later
    snapshot = await broker.resign_once()
    assert snapshot is not None
    assert snapshot.directory.version == current.version + 1
    assert snapshot.directory.members == current.members
    assert snapshot.directory.expires_ms == int((later + validity).timestamp() * 1000)
    await smpd.federation.refresh_once()  # type: ignore[union-attr]
    assert _held_version(smpd) == current.version + 1
