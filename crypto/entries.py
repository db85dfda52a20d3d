"""Ledger entries: their types, fields and canonical bytes (pure; shared by node and audit).

An entry is ``b"accord/ledger-entry/v1\\n"`` followed by the canonical JSON
(:mod:`crypto.canonical_json`, a JCS subset) of an object whose ``type`` names one of the
schemas below. Decoding is strict: unknown types, unknown or missing fields, wrong field
types and any non-canonical byte are refused, so one entry has exactly one encoding and an
auditor can re-encode every entry to check it.

Entries carry commitments, never plates: a query is represented by
``q_commit = SHA-256("accord/q-commit/v1" || salt32 || canonical query)`` where the salt is
chosen by the requester and sent with the query, so both sides log the same value and an
auditor pairs them without learning anything about the plates asked.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from crypto.canonical_json import CanonicalJsonError, dumps
from crypto.errors import CryptoError

ENTRY_PREFIX: Final = b"accord/ledger-entry/v1\n"
Q_COMMIT_TAG: Final = b"accord/q-commit/v1"
#: Entries are small records; anything larger is a bug or an attack.
MAX_ENTRY_BYTES: Final = 16 * 1024

_HEX32 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_TOKEN = re.compile(r"^[A-Za-z0-9._:/-]{1,64}$")


class EntryError(CryptoError):
    """Bytes that are not a valid, canonical ledger entry."""


def _hex32(v: Any) -> bool:
    return isinstance(v, str) and bool(_HEX32.match(v))


def _name(v: Any) -> bool:
    return isinstance(v, str) and bool(_NAME.match(v))


def _ident(v: Any) -> bool:
    return isinstance(v, str) and bool(_ID.match(v))


def _token(v: Any) -> bool:
    return isinstance(v, str) and bool(_TOKEN.match(v))


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**53


def _tokens(v: Any) -> bool:
    return isinstance(v, list) and len(v) <= 64 and all(_token(x) for x in v)


def _text(v: Any) -> bool:
    return isinstance(v, str) and len(v) <= 256 and v.isprintable()


def _counts(v: Any) -> bool:
    return (
        isinstance(v, dict) and len(v) <= 32 and all(_token(k) and _count(x) for k, x in v.items())
    )


_QUERY = {
    "request_id": _ident,
    "peer": _name,
    "agreement_id": _ident,
    "agreement_hash": _hex32,
    "purpose": _token,
    "case_commit": _hex32,
    "actor": _hex32,
    "window_days": _count,
    "batch_size": _count,
    "q_commit": _hex32,
}

#: Field schemas per entry type. Every field listed is required; no others are allowed.
SCHEMAS: Final[Mapping[str, Mapping[str, Any]]] = {
    "query.sent": _QUERY,
    "query.received": {**_QUERY, "decision": _token, "rule_ids": _tokens},
    "answer.sent": {
        "request_id": _ident,
        "peer": _name,
        "q_commit": _hex32,
        "evaluated": _count,
        "epochs": _count,
    },
    "answer.received": {
        "request_id": _ident,
        "peer": _name,
        "q_commit": _hex32,
        "hits": _count,
        "receipt_index": _count,
    },
    "agreement.created": {
        "agreement_id": _ident,
        "version": _count,
        "agreement_hash": _hex32,
        "peer": _name,
        "role": _token,
    },
    "agreement.amended": {
        "agreement_id": _ident,
        "version": _count,
        "agreement_hash": _hex32,
        "peer": _name,
        "role": _token,
    },
    "agreement.revoked": {
        "agreement_id": _ident,
        "version": _count,
        "agreement_hash": _hex32,
        "peer": _name,
        "reason": _token,
    },
    "retention.deleted": {
        "data_class": _token,
        "epoch": _count,
        "counts": _counts,
        "deleted_root": _hex32,
    },
    "key.rotated": {"key": _token, "scope": _ident, "public_key_sha256": _hex32},
    "admin.action": {"action": _token, "actor": _hex32, "detail": _text},
    "peer.checkpoint": {"origin": _text, "size": _count, "root": _hex32},
}


_FAST_VALUE = {
    _hex32: r'"[0-9a-f]{64}"',
    _name: r'"[a-z0-9][a-z0-9.-]{0,62}"',
    _ident: r'"[A-Za-z0-9._:-]{1,128}"',
    _token: r'"[A-Za-z0-9._:/-]{1,64}"',
    # At most 15 digits: always below 2**53, and no leading zeros.
    _count: r"(?:0|[1-9][0-9]{0,14})",
    _tokens: r'\[(?:"[A-Za-z0-9._:/-]{1,64}"(?:,"[A-Za-z0-9._:/-]{1,64}"){0,63})?\]',
}


def _fast_pattern(type_: str, schema: Mapping[str, Any]) -> re.Pattern[bytes] | None:
    """One regular expression that matches exactly the canonical bytes of valid entries of
    ``type_`` whose fields all have simple shapes (no free text): a fast path that proves
    schema and canonical form in a single pass. Other types take the general path."""
    if any(v not in _FAST_VALUE for v in schema.values()):
        return None
    shapes = {
        **{k: _FAST_VALUE[v] for k, v in schema.items()},
        "v": "1",
        "type": re.escape(f'"{type_}"'),
        "time_ms": _FAST_VALUE[_count],
        "node": _FAST_VALUE[_name],
    }
    parts = [f'"{re.escape(k)}":{shapes[k]}' for k in sorted(shapes)]
    return re.compile(("\\{" + ",".join(parts) + "\\}").encode())


@dataclass(frozen=True, slots=True)
class Entry:
    """A decoded ledger entry: its type, the time it was made and its fields."""

    type: str
    time_ms: int
    node: str
    fields: Mapping[str, Any]

    def encode(self) -> bytes:
        """Canonical bytes of this entry; raises :class:`EntryError` if it is invalid."""
        _check(self.type, self.time_ms, self.node, self.fields)
        doc = {"v": 1, "type": self.type, "time_ms": self.time_ms, "node": self.node, **self.fields}
        try:
            data = ENTRY_PREFIX + dumps(doc)
        except CanonicalJsonError as e:
            raise EntryError(f"{self.type}: {e}") from e
        if len(data) > MAX_ENTRY_BYTES:
            raise EntryError(f"{self.type}: entry larger than {MAX_ENTRY_BYTES} bytes")
        return data


def _check(type_: str, time_ms: Any, node: Any, fields: Mapping[str, Any]) -> None:
    schema = SCHEMAS.get(type_)
    if schema is None:
        raise EntryError(f"unknown entry type {type_!r}")
    if not _count(time_ms):
        raise EntryError(f"{type_}: time_ms must be a non-negative integer")
    if not _name(node):
        raise EntryError(f"{type_}: node must be a node name")
    if fields.keys() != schema.keys():
        missing = sorted(set(schema) - set(fields))
        extra = sorted(set(fields) - set(schema))
        if missing:
            raise EntryError(f"{type_}: missing field(s) {', '.join(missing)}")
        raise EntryError(f"{type_}: unknown field(s) {', '.join(extra)}")
    for key, valid in schema.items():
        if not valid(fields[key]):
            raise EntryError(f"{type_}: field {key} is invalid")


def _fast_canonical(body: bytes) -> Any:
    """Decode ``body`` and prove it canonical by re-encoding, using the C json module.

    For the values entries may hold (ASCII keys, strings, integers, lists, objects) the
    standard library's sorted, compact, non-ASCII-preserving output *is* the JCS form, so
    "re-encodes to the same bytes" is exactly "is canonical"; duplicate keys, whitespace,
    escapes and number forms that JCS would write differently all fail the comparison.
    Key order is compared by code point, which equals JCS's UTF-16 order for the ASCII
    keys every entry schema requires (checked right after, with integer-only numbers).
    The strict reader in :mod:`crypto.canonical_json` remains the reference.
    """
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise EntryError(f"entry is not canonical JSON: {e}") from e
    again = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        canonical = again.encode("utf-8") == body
    except UnicodeEncodeError as e:
        raise EntryError("entry is not canonical JSON: lone surrogate") from e
    if not canonical:
        raise EntryError("entry is not canonical JSON (JCS form)")
    return doc


_FAST: Final[dict[bytes, re.Pattern[bytes]]] = {
    f'"type":"{t}"'.encode(): p
    for t, schema in SCHEMAS.items()
    if (p := _fast_pattern(t, schema)) is not None
}
_TYPE_FIELD = re.compile(rb'"type":"[a-z.]{1,32}"')


def _fast_body(data: bytes) -> tuple[bytes, bytes | None]:
    """The entry's JSON body, and its type field if the fixed-shape pattern of that type
    proves schema and canonical form at once (``None``: take the general path)."""
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryError(f"entry larger than {MAX_ENTRY_BYTES} bytes")
    if not data.startswith(ENTRY_PREFIX):
        raise EntryError("not an accord/ledger-entry/v1 entry")
    body = data[len(ENTRY_PREFIX) :]
    found = _TYPE_FIELD.search(body)
    fast = _FAST.get(found.group(0)) if found else None
    if found is not None and fast is not None and fast.fullmatch(body):
        return body, found.group(0)
    return body, None


def decode_entry(data: bytes) -> Entry:
    """Parse and validate canonical entry bytes; raises :class:`EntryError`."""
    body, fast_type = _fast_body(data)
    if fast_type is not None:
        doc = json.loads(body)
        t = doc.pop("type")
        time_ms = doc.pop("time_ms")
        node = doc.pop("node")
        del doc["v"]
        return Entry(type=t, time_ms=time_ms, node=node, fields=doc)
    doc = _fast_canonical(body)
    if not isinstance(doc, dict) or doc.get("v") != 1:
        raise EntryError("entry must be an object with v=1")
    type_ = doc.get("type")
    if not isinstance(type_, str):
        raise EntryError("entry has no type")
    fields = {k: v for k, v in doc.items() if k not in ("v", "type", "time_ms", "node")}
    _check(type_, doc.get("time_ms"), doc.get("node"), fields)
    return Entry(type=type_, time_ms=doc["time_ms"], node=doc["node"], fields=fields)


_TIME_MS = re.compile(rb'"time_ms":(0|[1-9][0-9]{0,14})')


def check_entry(data: bytes) -> tuple[str, int]:
    """Validate canonical entry bytes as :func:`decode_entry` does; return only the type
    and time (what an auditor replaying a whole log needs), without building the fields.

    For fixed-shape types the one regular expression proves schema and canonical form,
    and no string value can hold a quote, so the type and time are read off the bytes.
    Raises :class:`EntryError`.
    """
    body, fast_type = _fast_body(data)
    if fast_type is not None:
        time = _TIME_MS.search(body)
        assert time is not None  # the pattern requires it
        return fast_type[8:-1].decode("ascii"), int(time.group(1))
    entry = decode_entry(data)
    return entry.type, entry.time_ms


def q_commit(salt: bytes, canonical_query: bytes) -> str:
    """The commitment both sides log for a query, lower-case hex."""
    if len(salt) != 32:
        raise EntryError("the query commitment salt must be 32 bytes")
    return hashlib.sha256(Q_COMMIT_TAG + salt + canonical_query).hexdigest()
