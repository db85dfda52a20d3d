"""Canonical JSON: JCS-compatible output and a strict decoder."""

from __future__ import annotations

import json
from collections import OrderedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.canonical_json import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    CanonicalJsonError,
    JsonValue,
    dumps,
    loads,
)
from crypto.errors import CryptoError


def test_sorted_keys_no_whitespace_utf8() -> None:
    assert dumps({"b": 1, "a": [True, False, None], "c": "é"}) == (
        b'{"a":[true,false,null],"b":1,"c":"\xc3\xa9"}'
    )


def test_nested_objects_sorted_at_every_level() -> None:
    value: JsonValue = {"z": {"y": 1, "x": {"b": 2, "a": 1}}, "a": []}
    assert dumps(value) == b'{"a":[],"z":{"x":{"a":1,"b":2},"y":1}}'


def test_member_order_follows_utf16_code_units() -> None:
    # The key-ordering example of RFC 8785 section 3.2.3: U+1F600 is written as the
    # surrogate pair D83D DE00 and so sorts before U+FB33, unlike code-point order.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    order = list(json.loads(dumps(value)))
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_string_escapes_match_ecmascript() -> None:
    text = '"\\\b\t\n\f\r\x00\x1f\x7f/\u2028é😀'
    assert dumps(text) == (
        b'"\\"\\\\\\b\\t\\n\\f\\r\\u0000\\u001f\x7f/' + "\u2028é😀".encode() + b'"'
    )


def test_integers_and_their_limits() -> None:
    assert dumps([0, -1, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == (
        b"[0,-1,9007199254740991,-9007199254740991]"
    )
    with pytest.raises(CanonicalJsonError):
        dumps(MAX_SAFE_INTEGER + 1)
    with pytest.raises(CanonicalJsonError):
        dumps(-MAX_SAFE_INTEGER - 1)


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        float("nan"),
        b"bytes",
        {1: "int key"},
        {"a": {1, 2}},
        "\ud800",
        object(),
    ],
    ids=["float", "nan", "bytes", "int-key", "set", "lone-surrogate", "object"],
)
def test_dumps_refuses(value: object) -> None:
    with pytest.raises(CanonicalJsonError):
        dumps(value)  # type: ignore[arg-type]


def test_tuples_and_mappings_are_accepted() -> None:
    assert dumps(OrderedDict([("b", (1, 2)), ("a", ())])) == b'{"a":[],"b":[1,2]}'


def test_depth_is_bounded() -> None:
    deep: object = 1
    for _ in range(MAX_DEPTH):
        deep = [deep]
    assert loads(dumps(deep)) == deep  # type: ignore[arg-type]
    with pytest.raises(CanonicalJsonError):
        dumps([deep])  # type: ignore[list-item]
    with pytest.raises(CanonicalJsonError):
        loads(b"[" * 100_000 + b"]" * 100_000)


def test_error_is_a_crypto_error() -> None:
    assert issubclass(CanonicalJsonError, CryptoError)


@pytest.mark.parametrize(
    "data",
    [
        b'{"b":1,"a":2}',  # member order
        b'{"a": 1}',  # whitespace
        b' {"a":1}',
        b'{"a":1}\n',
        b'"\\u0041"',  # needless escape
        b'"\\/"',
        b'"\\u001F"',  # upper-case hex
        b"-0",
        b"1.0",
        b"1e3",
        b"NaN",
        b"Infinity",
        b"01",
        b"9007199254740992",
        b'{"a":1,"a":1}',  # duplicate key
        b'"\\ud800"',  # lone surrogate
        b"\xff",  # not UTF-8
        b"\xef\xbb\xbf{}",  # BOM
        b"",
        b"[1,]",
    ],
)
def test_loads_refuses_anything_not_canonical(data: bytes) -> None:
    with pytest.raises(CanonicalJsonError):
        loads(data)


def test_loads_wants_bytes() -> None:
    with pytest.raises(TypeError):
        loads('{"a":1}')  # type: ignore[arg-type]


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.text(alphabet=st.characters(exclude_categories=["Cs"]))
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(
            st.text(alphabet=st.characters(exclude_categories=["Cs"])), inner, max_size=5
        )
    ),
    max_leaves=30,
)


@given(_values)
def test_round_trip_is_identity(value: object) -> None:
    data = dumps(value)  # type: ignore[arg-type]
    assert loads(data) == value
    assert dumps(loads(data)) == data


# Below U+D800 code-point order and UTF-16 order agree, so the standard library's encoder
# (sorted keys, no whitespace, no ASCII escaping) is an independent check of our output.
_bmp_text = st.text(alphabet=st.characters(max_codepoint=0xD7FF))
_bmp_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | _bmp_text,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_bmp_text, inner, max_size=5),
    max_leaves=30,
)


@given(_bmp_values)
def test_agrees_with_the_standard_library(value: object) -> None:
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert dumps(value) == expected.encode()  # type: ignore[arg-type]
