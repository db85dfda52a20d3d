"""Synthetic plate reads for the demo, from a documented seed.

Each city gets ``count`` reads spread over the last ``days`` days from two cameras near
its centre; plates are random California-style plates (digit, three letters, three
digits) drawn with ``random.Random(SEED + city index)``, so every run of the demo sees
the same traffic. A few "story" plates are planted: the stolen car the demo's hotlist
looks for drives through Culver City and Los Angeles, and a car of interest to a homicide
case is seen in Culver City. The plates are made up; they stand for nobody's car.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from dataclasses import dataclass

from node.alpr.reads import Candidate
from node.ids import CameraId
from node.ingest.observed import ObservedRead
from node.store.cameras import Camera

SEED = 20261201
#: The stolen car on Santa Monica's hotlist.
STOLEN = "7QRS482"
#: A car in a Culver City sighting that a homicide case asks about.
OF_INTEREST = "6TRJ244"
_LETTERS = "".join(c for c in string.ascii_uppercase if c not in "IOQ")


@dataclass(frozen=True, slots=True)
class DemoCity:
    name: str
    lat: float
    lon: float


CENTRES = {
    "santa-monica-pd": DemoCity("Santa Monica", 34.0195, -118.4912),
    "culver-city-pd": DemoCity("Culver City", 34.0211, -118.3965),
    "los-angeles-pd": DemoCity("Los Angeles", 34.0522, -118.2437),
}

#: Story plates per city: (plate, hours ago).
STORY = {
    "culver-city-pd": [(STOLEN, 26.0), (OF_INTEREST, 3.0)],
    "los-angeles-pd": [(STOLEN, 5.0)],
}


def cameras(node: str, now: dt.datetime) -> list[Camera]:
    centre = CENTRES[node]
    return [
        Camera(
            CameraId(f"{node}-cam-{i + 1}"),
            f"{centre.name} camera {i + 1}",
            round(centre.lat + 0.004 * i, 6),
            round(centre.lon - 0.003 * i, 6),
            90.0 * i,
            now,
        )
        for i in range(2)
    ]


def random_plate(rng: random.Random) -> str:
    return (
        str(rng.randint(1, 9))
        + "".join(rng.choice(_LETTERS) for _ in range(3))
        + "".join(str(rng.randint(0, 9)) for _ in range(3))
    )


def synthetic_reads(
    node: str, index: int, *, count: int, days: int, now: dt.datetime
) -> list[ObservedRead]:
    """The demo traffic of one city (story plates included)."""
    rng = random.Random(SEED + index)  # noqa: S311 - reproducible traffic, not a secret
    cams = cameras(node, now)
    out = []
    for i in range(count):
        at = now - dt.timedelta(seconds=rng.uniform(60, days * 86400 - 60))
        out.append(_read(rng, cams, random_plate(rng), at, f"demo-{i}"))
    for j, (plate, hours) in enumerate(STORY.get(node, [])):
        out.append(_read(rng, cams, plate, now - dt.timedelta(hours=hours), f"story-{j}"))
    return out


def _read(
    rng: random.Random, cams: list[Camera], plate: str, at: dt.datetime, record: str
) -> ObservedRead:
    camera = rng.choice(cams)
    confidence = round(rng.uniform(0.80, 0.99), 3)
    return ObservedRead(
        camera_id=camera.id,
        time=at.replace(microsecond=0),
        candidates=(Candidate(plate, plate, confidence),),
        source="demo",
        external_id=record,
    )
