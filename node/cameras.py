"""Managing this node's cameras from its home directory (``accord node cameras ...``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from node.app import open_store
from node.ids import CameraId
from node.store.cameras import Camera, CameraRepository
from node.store.db import session_scope


def add_camera(
    home: Path,
    camera_id: str,
    *,
    name: str,
    lat: float,
    lon: float,
    heading: float | None,
    now: dt.datetime,
) -> Camera:
    """Register a camera; raises ``ValueError`` for a bad position, a store error for a known id."""
    camera = Camera(CameraId(camera_id), name, lat, lon, heading, now)
    _, engine, sessions = open_store(home)
    try:
        with session_scope(sessions) as s:
            return CameraRepository(s).add(camera)
    finally:
        engine.dispose()


def list_cameras(home: Path) -> list[Camera]:
    _, engine, sessions = open_store(home)
    try:
        with session_scope(sessions) as s:
            return CameraRepository(s).all()
    finally:
        engine.dispose()


def remove_camera(home: Path, camera_id: str) -> None:
    """Forget a camera; refused while reads from it are stored."""
    _, engine, sessions = open_store(home)
    try:
        with session_scope(sessions) as s:
            CameraRepository(s).remove(CameraId(camera_id))
    finally:
        engine.dispose()
