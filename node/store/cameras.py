"""This node's cameras: where its reads come from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from node.ids import CameraId
from node.store.db import rowcount, translate_errors
from node.store.errors import NotFoundError, ReferenceViolationError
from node.store.models import CameraRow, ReadRow


@dataclass(frozen=True, slots=True)
class Camera:
    """A fixed camera: position in WGS 84 degrees, heading in degrees from north."""

    id: CameraId
    name: str
    lat: float
    lon: float
    heading: float | None
    created: dt.datetime

    def __post_init__(self) -> None:
        if not -90 <= self.lat <= 90 or not -180 <= self.lon <= 180:
            raise ValueError(f"camera {self.id}: position {self.lat},{self.lon} out of range")
        if self.heading is not None and not 0 <= self.heading < 360:
            raise ValueError(f"camera {self.id}: heading {self.heading} not in [0, 360)")


def _camera(row: CameraRow) -> Camera:
    return Camera(CameraId(row.id), row.name, row.lat, row.lon, row.heading, row.created)


class CameraRepository:
    """Cameras of this node. ``add`` raises :class:`DuplicateError` for a known id."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, camera: Camera) -> Camera:
        row = CameraRow(
            id=camera.id,
            name=camera.name,
            lat=camera.lat,
            lon=camera.lon,
            heading=camera.heading,
            created=camera.created,
        )
        with translate_errors(self._session):
            self._session.add(row)
            self._session.flush()
        return _camera(row)

    def get(self, camera_id: CameraId) -> Camera | None:
        with translate_errors(self._session):
            row = self._session.get(CameraRow, camera_id)
        return None if row is None else _camera(row)

    def all(self) -> list[Camera]:
        with translate_errors(self._session):
            rows = self._session.scalars(select(CameraRow).order_by(CameraRow.id))
            return [_camera(r) for r in rows]

    def remove(self, camera_id: CameraId) -> None:
        """Forget a camera. Refused while reads from it are stored (retention removes those)."""
        with translate_errors(self._session):
            if self._session.scalar(select(exists().where(ReadRow.camera_id == camera_id))):
                raise ReferenceViolationError(
                    f"camera {camera_id} still has stored reads; they expire with retention"
                )
            result = self._session.execute(delete(CameraRow).where(CameraRow.id == camera_id))
        if rowcount(result) == 0:
            raise NotFoundError(f"no camera {camera_id}")
