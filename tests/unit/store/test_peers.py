"""Peers and the replay cache."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy.orm import Session

from node.config import AgencyKind
from node.ids import NodeId, RequestId
from node.store.errors import DuplicateError, NotFoundError
from node.store.peers import PeerRepository
from node.store.replay import ReplayCache
from tests.unit.store import _builders as b
from tests.unit.store.conftest import NOW

OAKLAND = NodeId("oakland-pd")


def test_peers_round_trip(session: Session) -> None:
    repo = PeerRepository(session)
    oakland = repo.add(b.peer())
    assert oakland == b.peer()
    assert repo.get(OAKLAND) == oakland
    assert repo.by_fingerprint(oakland.cert_sha256.upper()) == oakland
    assert repo.by_fingerprint("0" * 64) is None
    assert repo.get(NodeId("nobody")) is None


def test_node_ids_and_certificates_are_unique(session: Session) -> None:
    repo = PeerRepository(session)
    repo.add(b.peer())
    with pytest.raises(DuplicateError), session.begin_nested():
        repo.add(b.peer(seed=2))  # same node id, other certificate
    with pytest.raises(DuplicateError, match="cert_sha256"), session.begin_nested():
        repo.add(b.peer("sf-pd", seed=1, cert_sha256=b.peer().cert_sha256))


def test_replacing_and_suspending_a_peer(session: Session) -> None:
    repo = PeerRepository(session)
    added = repo.add(b.peer())
    later = NOW + dt.timedelta(days=1)
    moved = dataclasses.replace(
        b.peer(seed=2), endpoint="oakland.example:8443", kind=AgencyKind.COUNTY, updated=later
    )
    replaced = repo.replace(moved)
    assert replaced.endpoint == "oakland.example:8443"
    assert replaced.kind is AgencyKind.COUNTY
    assert replaced.added == added.added
    assert replaced.updated == later
    assert repo.by_fingerprint(added.cert_sha256) is None

    suspended = repo.set_active(OAKLAND, False, now=later)
    assert not suspended.active
    b.add_peer(session, "sf-pd", seed=3)
    assert [p.node_id for p in repo.all()] == ["oakland-pd", "sf-pd"]
    assert [p.node_id for p in repo.all(active_only=True)] == ["sf-pd"]
    with pytest.raises(NotFoundError):
        repo.set_active(NodeId("nobody"), True, now=later)


def test_peer_keys_are_checked() -> None:
    with pytest.raises(ValueError, match="signing_key"):
        b.peer(signing_key=b"short")
    with pytest.raises(ValueError, match="cert_sha256"):
        b.peer(cert_sha256="XYZ")


def test_a_request_id_is_accepted_once_per_peer(session: Session) -> None:
    b.add_peer(session)
    b.add_peer(session, "sf-pd", seed=2)
    cache = ReplayCache(session)
    expires = NOW + dt.timedelta(minutes=10)
    request = RequestId("0f6c5a3e-request")
    assert cache.remember(OAKLAND, request, expires=expires, now=NOW)
    assert not cache.remember(OAKLAND, request, expires=expires, now=NOW)
    assert cache.remember(NodeId("sf-pd"), request, expires=expires, now=NOW)
    assert cache.purge_expired(NOW) == 0
    assert cache.purge_expired(expires) == 2
    assert cache.remember(OAKLAND, request, expires=expires, now=NOW)
    with pytest.raises(ValueError, match="request id"):
        cache.remember(OAKLAND, RequestId("x" * 65), expires=expires, now=NOW)
