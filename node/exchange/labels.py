"""What a hit reveals: the label of an index entry, by the agreement's label detail.

The responder seals, for each read, only what the agreement allows, and pads it to one
fixed size per detail level so that a label's length says nothing about the read (a
long camera name, a city with a long name)::

    HIT_ONLY           {}                                         32 bytes
    DAY_AND_CITY       {"day", "city"}                           128 bytes
    TIME_CAMERA_PLACE  + {"time", "camera", "lat", "lon"}         256 bytes
    IMAGE_REFERENCE    + {"image"}  (a reference the responder resolves)   320 bytes

Padding is trailing spaces after compact JSON with sorted keys (deterministic; labels are
encrypted, not signed, so no canonical encoder is needed); :func:`read_detail` strips
them and parses strictly. Positions are rounded to 5 decimal places (about a metre).

The indexer builds one label per read, so :func:`label_detail` writes that JSON itself:
the keys are fixed and already in sorted order, the day, time and positions are ASCII
digits that need no escaping, and only the city, camera and image go through the standard
library's C string escaper. The bytes are those of ``json.dumps(obj, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` (a test holds it to that), in a fraction of
the time of building a dict, ``strftime`` twice and the encoder.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from node.policy.agreement import LabelDetail

SIZES: Mapping[LabelDetail, int] = {
    LabelDetail.HIT_ONLY: 32,
    LabelDetail.DAY_AND_CITY: 128,
    LabelDetail.TIME_CAMERA_PLACE: 256,
    LabelDetail.IMAGE_REFERENCE: 320,
}
_MAX_TEXT = 48
#: The JSON string escaper ``json.dumps(..., ensure_ascii=False)`` uses (C).
_escape: Callable[[str], str] = json.encoder.encode_basestring


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
    size = SIZES[detail]
    if detail is LabelDetail.HIT_ONLY:
        return b"{}" + b" " * (size - 2)
    t = facts.time if facts.time.tzinfo is dt.UTC else facts.time.astimezone(dt.UTC)
    day = f"{t.year:04d}-{t.month:02d}-{t.day:02d}"
    if detail is LabelDetail.DAY_AND_CITY:
        text = f'{{"city":{_escaped(facts.city)},"day":"{day}"}}'
    else:
        where = _camera_and_city(facts.camera, facts.city)
        time = f"{day}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"
        image = (
            "" if detail is LabelDetail.TIME_CAMERA_PLACE else f'"image":{_escaped(facts.image)},'
        )
        text = f'{{{where},"day":"{day}",{image}{_place(facts.lat, facts.lon)},"time":"{time}"}}'
    body = text.encode()
    if len(body) > size:  # pragma: no cover - the fields above are bounded to fit
        raise ValueError(f"label detail of {len(body)} bytes does not fit {size}")
    return body + b" " * (size - len(body))


def _escaped(text: str) -> str:
    return _escape(_short(text))


# A node has few cameras and one city: their fragments are made once, not once per read.
@functools.lru_cache(maxsize=4096)
def _camera_and_city(camera: str, city: str) -> str:
    return f'"camera":{_escaped(camera)},"city":{_escaped(city)}'


def _place(lat: float, lon: float) -> str:  # not cached: -0.0 == 0.0 but prints "-0.00000"
    # Fixed-point strings: labels carry no floats.
    return f'"lat":"{lat:.5f}","lon":"{lon:.5f}"'


def read_detail(plaintext: bytes) -> dict[str, str]:
    """The detail a label opened to, as a mapping of strings."""
    obj = json.loads(plaintext.rstrip(b" "))
    if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
        raise ValueError("a label holds a JSON object of strings")
    return {str(k): str(v) for k, v in obj.items()}
