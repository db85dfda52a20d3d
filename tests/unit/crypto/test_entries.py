from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.entries import ENTRY_PREFIX, SCHEMAS, Entry, EntryError, decode_entry, q_commit

H = "ab" * 32


def sample(type_: str) -> Entry:
    fields = {
        "query.sent": dict(
            request_id="r-1",
            peer="ccpd",
            agreement_id="agr-1",
            agreement_hash=H,
            purpose="PC187",
            case_commit=H,
            actor=H,
            window_days=7,
            batch_size=3,
            q_commit=H,
        ),
        "admin.action": dict(action="node.init", actor=H, detail="created"),
        "retention.deleted": dict(
            data_class="reads", epoch=20260101, counts={"rows": 10, "keys": 1}, deleted_root=H
        ),
    }[type_]
    return Entry(type=type_, time_ms=1_700_000_000_000, node="smpd", fields=fields)


@pytest.mark.parametrize("type_", ["query.sent", "admin.action", "retention.deleted"])
def test_round_trip_is_exact(type_: str) -> None:
    entry = sample(type_)
    data = entry.encode()
    assert data.startswith(ENTRY_PREFIX)
    assert decode_entry(data) == entry
    assert decode_entry(data).encode() == data


def test_every_required_type_has_a_schema() -> None:
    for t in (
        "query.sent",
        "query.received",
        "answer.sent",
        "answer.received",
        "agreement.created",
        "agreement.amended",
        "agreement.revoked",
        "retention.deleted",
        "key.rotated",
        "admin.action",
        "peer.checkpoint",
    ):
        assert t in SCHEMAS


def test_non_canonical_bytes_are_refused() -> None:
    data = sample("admin.action").encode()
    spaced = data.replace(b'","', b'", "', 1)
    with pytest.raises(EntryError, match="canonical"):
        decode_entry(spaced)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: {**d, "type": "query.forgotten"}, "unknown entry type"),
        (lambda d: {**d, "plate": "7ABC123"}, "unknown field"),
        (lambda d: {k: v for k, v in d.items() if k != "actor"}, "missing field"),
        (lambda d: {**d, "actor": "not-hex"}, "field actor is invalid"),
        (lambda d: {**d, "time_ms": -1}, "time_ms"),
        (lambda d: {**d, "v": 2}, "v=1"),
    ],
)
def test_invalid_entries_are_refused(mutate: object, message: str) -> None:
    from crypto.canonical_json import dumps

    doc = {
        "v": 1,
        "type": "admin.action",
        "time_ms": 1,
        "node": "smpd",
        "action": "a",
        "actor": H,
        "detail": "d",
    }
    with pytest.raises(EntryError, match=message):
        decode_entry(ENTRY_PREFIX + dumps(mutate(doc)))  # type: ignore[operator]


def test_wrong_prefix_and_oversize() -> None:
    with pytest.raises(EntryError, match="not an accord"):
        decode_entry(b'{"v":1}')
    with pytest.raises(EntryError, match="larger"):
        decode_entry(ENTRY_PREFIX + b"x" * 20000)


@given(st.binary(min_size=32, max_size=32), st.binary(max_size=100))
def test_q_commit_is_deterministic_and_salted(salt: bytes, query: bytes) -> None:
    assert q_commit(salt, query) == q_commit(salt, query)
    assert q_commit(salt, query) != q_commit(os.urandom(32), query)


def test_q_commit_needs_32_byte_salt() -> None:
    with pytest.raises(EntryError):
        q_commit(b"short", b"q")


@settings(deadline=None)
@given(
    st.dictionaries(
        st.text(
            alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=8
        ),
        st.one_of(
            st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
            st.text(max_size=20),
            st.booleans(),
            st.none(),
        ),
        max_size=6,
    )
)
def test_fast_canonical_check_agrees_with_the_reference_encoder(doc: dict[str, object]) -> None:
    from crypto.canonical_json import dumps
    from crypto.entries import _fast_canonical

    try:
        reference = dumps(doc)  # type: ignore[arg-type]
    except Exception:
        return  # not encodable canonically (e.g. lone surrogates): nothing to compare
    assert _fast_canonical(reference) == doc


def test_fast_path_types_match_the_general_path_and_refuse_what_it_refuses() -> None:
    import json as _json

    from crypto.entries import _FAST, _check, _fast_canonical

    assert b'"type":"query.sent"' in _FAST
    data = sample("query.sent").encode()
    body = data[len(ENTRY_PREFIX) :]
    slow = _fast_canonical(body)
    _check(
        slow["type"],
        slow["time_ms"],
        slow["node"],
        {k: v for k, v in slow.items() if k not in ("v", "type", "time_ms", "node")},
    )
    fast = decode_entry(data)
    assert fast.fields == {
        k: v for k, v in slow.items() if k not in ("v", "type", "time_ms", "node")
    }
    for bad in (
        body.replace(b'","', b'", "', 1),  # whitespace
        body.replace(b'"batch_size":3', b'"batch_size":03'),  # leading zero
        body.replace(b'"batch_size":3', b'"batch_size":3.0'),  # float
        body.replace(b'"peer":"ccpd"', b'"peer":"CCPD"'),  # bad name
        body.replace(b'"v":1', b'"v":1,"v":1'),  # duplicate key
        body[:-1] + b',"plate":"7ABC123"}',  # extra field
    ):
        with pytest.raises(EntryError):
            decode_entry(ENTRY_PREFIX + bad)
    reordered = _json.dumps(_json.loads(body), separators=(",", ":")).encode()  # insertion order
    if reordered != body:
        with pytest.raises(EntryError):
            decode_entry(ENTRY_PREFIX + reordered)


@pytest.mark.parametrize("type_", ["query.sent", "admin.action", "retention.deleted"])
def test_check_entry_agrees_with_decode_entry(type_: str) -> None:
    from crypto.entries import check_entry

    data = sample(type_).encode()
    decoded = decode_entry(data)
    assert check_entry(data) == (decoded.type, decoded.time_ms)
    body = data[len(ENTRY_PREFIX) :]
    for bad in (
        body.replace(b'":', b'": ', 1),
        body.replace(b'"time_ms":1700000000000', b'"time_ms":01700000000000'),
        body[:-1] + b',"plate":"7ABC123"}',
        body.replace(b'"v":1', b'"v":2'),
    ):
        with pytest.raises(EntryError):
            decode_entry(ENTRY_PREFIX + bad)
        with pytest.raises(EntryError):
            check_entry(ENTRY_PREFIX + bad)
