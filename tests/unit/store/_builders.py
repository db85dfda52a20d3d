"""Small builders of valid domain objects for the store tests."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy.orm import Session

from node.config import AgencyKind, Jurisdiction
from node.ids import CameraId, Epoch, NodeId
from node.store.cameras import Camera, CameraRepository
from node.store.epochs import DataClass, DataEpoch, DataEpochRepository
from node.store.peers import Peer, PeerRepository
from node.store.reads import NewRead, SealedCrop
from tests.unit.store.conftest import NOW

EPOCH = Epoch(20161)  # 2025-03-14 as days since 1970-01-01


def tag(label: str) -> bytes:
    """A stand-in for a keyed 32-byte tag (the store only sees opaque bytes)."""
    return hashlib.sha256(b"test-tag:" + label.encode()).digest()


def camera(camera_id: str = "cam-pier-01", **overrides: object) -> Camera:
    fields: dict[str, object] = {
        "id": CameraId(camera_id),
        "name": "Pier entrance",
        "lat": 34.0094,
        "lon": -118.4973,
        "heading": 270.0,
        "created": NOW,
    }
    fields.update(overrides)
    return Camera(**fields)  # type: ignore[arg-type]


def add_camera(session: Session, camera_id: str = "cam-pier-01") -> Camera:
    return CameraRepository(session).add(camera(camera_id))


def epoch(
    session: Session, data_class: DataClass = DataClass.READS, number: Epoch = EPOCH
) -> DataEpoch:
    start = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=number)
    return DataEpochRepository(session).ensure(
        data_class,
        number,
        starts_at=start,
        ends_at=start + dt.timedelta(days=1),
        key=bytes([number % 256]) * 32,
        now=NOW,
    )


def new_read(
    dedup_key: str,
    *,
    camera_id: str = "cam-pier-01",
    time: dt.datetime = NOW,
    number: Epoch = EPOCH,
    plate: str = "7ABC123",
    crop: SealedCrop | None = None,
) -> NewRead:
    return NewRead(
        camera_id=CameraId(camera_id),
        time=time,
        epoch=number,
        plate_ciphertext=b"sealed:" + tag(plate),
        plate_lookup=tag(plate),
        confidence=0.93,
        source="video",
        dedup_key=dedup_key,
        candidates_ciphertext=b"sealed-candidates",
        crop=crop,
    )


def peer(node_id: str = "oakland-pd", seed: int = 1, **overrides: object) -> Peer:
    def key(n: int) -> bytes:
        return hashlib.sha256(f"{node_id}/{seed}/{n}".encode()).digest()

    fields: dict[str, object] = {
        "node_id": NodeId(node_id),
        "name": "Oakland Police Department",
        "ori": "CA0010900",
        "jurisdiction": Jurisdiction.parse("US-CA"),
        "kind": AgencyKind.MUNICIPAL,
        "endpoint": "oakland.example:7443",
        "cert_sha256": key(0).hex(),
        "cert_pem": b"-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n",
        "signing_key": key(1),
        "log_key": key(2),
        "witness_key": key(3),
        "sealing_key": key(4),
        "active": True,
        "added": NOW,
        "updated": NOW,
    }
    fields.update(overrides)
    return Peer(**fields)  # type: ignore[arg-type]


def add_peer(session: Session, node_id: str = "oakland-pd", seed: int = 1) -> Peer:
    return PeerRepository(session).add(peer(node_id, seed))
