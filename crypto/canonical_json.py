"""Canonical JSON: one byte string per value, so that hashes and signatures are stable.

The encoding is the subset of RFC 8785 (JSON Canonicalization Scheme) that has no
floating point: every output of :func:`dumps` is also the JCS form of the same value, so
any JCS implementation reproduces our bytes. The subset is

- ``null``, ``true``, ``false``, strings, arrays, objects with string keys;
- integers only, within ``±(2**53 - 1)`` (the range JSON numbers keep exactly in every
  implementation); floats, NaN and infinities are refused;
- object members sorted by the UTF-16 code units of their keys, no duplicate keys;
- no insignificant whitespace; UTF-8 output; strings escaped as ECMAScript's
  ``JSON.stringify`` does (``\\"``, ``\\\\``, ``\\b \\t \\n \\f \\r``, other controls as
  ``\\u00xx``), every other character written as itself. Lone surrogates are refused.

:func:`loads` is strict: it accepts only bytes that :func:`dumps` would have produced, so
two different byte strings never decode to the same value. Use it on anything that will be
hashed or whose signature will be checked::

    >>> dumps({"b": [1, True], "a": "é"})
    b'{"a":"\\xc3\\xa9","b":[1,true]}'
    >>> loads(b'{"a":1}')
    {'a': 1}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from crypto.errors import CryptoError

#: A value :func:`dumps` accepts. Tuples are written as arrays; any mapping as an object.
JsonValue: TypeAlias = "bool | int | str | Sequence[JsonValue] | Mapping[str, JsonValue] | None"

#: Largest integer magnitude allowed (I-JSON, RFC 7493 section 2.2).
MAX_SAFE_INTEGER = 2**53 - 1
#: Deepest nesting of arrays and objects accepted, on both sides.
MAX_DEPTH = 64

_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


class CanonicalJsonError(CryptoError):
    """A value cannot be encoded canonically, or bytes are not canonical JSON."""


def _utf16_key(key: str) -> bytes:
    # JCS orders members by UTF-16 code units; big-endian UTF-16 bytes compare the same way.
    return key.encode("utf-16-be", "surrogatepass")


def _string(text: str, out: list[str]) -> None:
    out.append('"')
    for ch in text:
        code = ord(ch)
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            raise CanonicalJsonError("strings must not contain lone surrogates")
        else:
            out.append(ch)
    out.append('"')


def _value(value: object, out: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise CanonicalJsonError(f"nested deeper than {MAX_DEPTH} levels")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalJsonError(f"integer {value} is outside ±(2**53 - 1)")
        out.append(str(int(value)))
    elif isinstance(value, str):
        _string(value, out)
    elif isinstance(value, Mapping):
        keys = list(value.keys())
        for key in keys:
            if not isinstance(key, str):
                raise CanonicalJsonError(f"object keys must be strings, not {type(key).__name__}")
        out.append("{")
        for i, key in enumerate(sorted(keys, key=_utf16_key)):
            if i:
                out.append(",")
            _string(key, out)
            out.append(":")
            _value(value[key], out, depth + 1)
        out.append("}")
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _value(item, out, depth + 1)
        out.append("]")
    else:
        raise CanonicalJsonError(f"cannot encode {type(value).__name__} as canonical JSON")


def dumps(value: JsonValue) -> bytes:
    """The canonical UTF-8 encoding of ``value``.

    Raises :class:`CanonicalJsonError` for floats, out-of-range integers, non-string keys,
    lone surrogates, nesting deeper than :data:`MAX_DEPTH` and any other type.
    """
    out: list[str] = []
    _value(value, out, 0)
    return "".join(out).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in pairs:
        if key in result:
            raise CanonicalJsonError(f"duplicate object key {key!r}")
        result[key] = item
    return result


def _no_float(text: str) -> Any:
    raise CanonicalJsonError(f"non-integer number {text}")


def _no_constant(text: str) -> Any:
    raise CanonicalJsonError(f"{text} is not JSON")


def loads(data: bytes) -> Any:
    """Decode bytes that MUST be the canonical encoding of their value.

    Returns plain ``dict``, ``list``, ``str``, ``int``, ``bool`` and ``None`` values.
    Raises :class:`CanonicalJsonError` for invalid UTF-8 or JSON, duplicate keys, numbers
    that are not integers, and for any JSON that is valid but not in canonical form
    (whitespace, member order, escapes, ``-0``...).
    """
    if not isinstance(data, bytes | bytearray):
        raise TypeError("canonical JSON is decoded from bytes")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as e:
        raise CanonicalJsonError("not valid UTF-8") from e
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_constant,
        )
    except (ValueError, RecursionError) as e:  # JSONDecodeError is a ValueError
        raise CanonicalJsonError("not valid JSON") from e
    if dumps(value) != data:
        raise CanonicalJsonError("valid JSON, but not in canonical form")
    return value
