"""What a hit reveals: the label of an index entry, by the agreement's label detail.

The responder seals, for each read, only what the agreement allows, and pads it to one
fixed size per detail level so that a label's length says nothing about the read (a
long camera name, a city with a long name)::

    HIT_ONLY           {}                                         32 bytes
    DAY_AND_CITY       {"day", "city"}                           128 bytes
    TIME_CAMERA_PLACE  + {"time", "camera", "lat", "lon"}         256 bytes
    IMAGE_REFERENCE    + {"image"}  (a reference the responder resolves)   320 bytes

Padding is trailing spaces after compact JSON with sorted keys (deterministic; labels are
encrypted, not signed, so the C encoder of the standard library is enough and is much
faster than our canonical encoder); :func:`read_detail` strips them and parses strictly.
Positions are rounded to 5 decimal places (about a metre).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass

from crypto.canonical_json import JsonValue
from node.policy.agreement import LabelDetail

SIZES: Mapping[LabelDetail, int] = {
    LabelDetail.HIT_ONLY: 32,
    LabelDetail.DAY_AND_CITY: 128,
    LabelDetail.TIME_CAMERA_PLACE: 256,
    LabelDetail.IMAGE_REFERENCE: 320,
}
_MAX_TEXT = 48


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadFacts:
    """Everything a label could tell about a read; the detail level picks from it."""

    time: dt.datetime
    city: str
    camera: str
    lat: float
    lon: float
    image: str


def _short(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "~"


def label_detail(facts: ReadFacts, detail: LabelDetail) -> bytes:
    """The padded plaintext of a label at ``detail``."""
    obj: dict[str, JsonValue] = {}
    if detail is not LabelDetail.HIT_ONLY:
        obj["day"] = facts.time.astimezone(dt.UTC).strftime("%Y-%m-%d")
        obj["city"] = _short(facts.city)
    if detail in (LabelDetail.TIME_CAMERA_PLACE, LabelDetail.IMAGE_REFERENCE):
        obj["time"] = facts.time.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        obj["camera"] = _short(facts.camera)
        # Fixed-point strings: canonical JSON has no floats.
        obj["lat"] = f"{facts.lat:.5f}"
        obj["lon"] = f"{facts.lon:.5f}"
    if detail is LabelDetail.IMAGE_REFERENCE:
        obj["image"] = _short(facts.image)
    body = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    size = SIZES[detail]
    if len(body) > size:  # pragma: no cover - the fields above are bounded to fit
        raise ValueError(f"label detail of {len(body)} bytes does not fit {size}")
    return body + b" " * (size - len(body))


def read_detail(plaintext: bytes) -> dict[str, str]:
    """The detail a label opened to, as a mapping of strings."""
    obj = json.loads(plaintext.rstrip(b" "))
    if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
        raise ValueError("a label holds a JSON object of strings")
    return {str(k): str(v) for k, v in obj.items()}
