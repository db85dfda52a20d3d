"""Both ristretto255 backends: RFC 9496 Appendix A vectors, refusals, and agreement.

The portable backend is the independent check of the native one (and vice versa):
hypothesis drives both through the same random operations and compares the bytes.
"""

from __future__ import annotations

import ctypes.util
import json
import os
from pathlib import Path
from typing import Any

import nacl.bindings
import nacl.exceptions
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import BackendUnavailableError, InvalidElementError, InvalidScalarError
from crypto.ristretto import (
    GENERATOR,
    IDENTITY,
    L,
    NativeRistretto255,
    PortableRistretto255,
    Ristretto255,
    _decode,
    _to_edwards,
    default_backend,
)

VECTORS: dict[str, Any] = json.loads(
    (
        Path(__file__).parents[2] / "vectors" / "ristretto255" / "rfc9496-ristretto255.json"
    ).read_text()
)
MULTIPLES = [bytes.fromhex(h) for h in VECTORS["multiples"]]
INVALID = [
    pytest.param(bytes.fromhex(v["encoding"]), id=f"{v['reason']}-{v['encoding'][:8]}")
    for v in VECTORS["invalid"]
]


def _native() -> NativeRistretto255 | None:
    try:
        return NativeRistretto255()
    except BackendUnavailableError:
        return None


_NATIVE = _native()
_NO_NATIVE = pytest.mark.skipif(_NATIVE is None, reason="no system libsodium with ristretto255")
PORTABLE = PortableRistretto255()
BACKENDS = [
    pytest.param(_NATIVE, id="native", marks=_NO_NATIVE),
    pytest.param(PORTABLE, id="portable"),
]


def _s(n: int) -> bytes:
    return (n % L).to_bytes(32, "little")


def _with_top_bit(e: bytes) -> bytes:
    return e[:31] + bytes([e[31] | 0x80])


@pytest.mark.parametrize("backend", BACKENDS)
def test_generator_multiples_by_addition(backend: Ristretto255) -> None:
    acc = IDENTITY
    for expected in MULTIPLES:
        assert acc == expected
        acc = backend.add(acc, GENERATOR)
    assert MULTIPLES[1] == GENERATOR


@pytest.mark.parametrize("backend", BACKENDS)
def test_generator_multiples_by_scalar_mult(backend: Ristretto255) -> None:
    for i, expected in enumerate(MULTIPLES[1:], start=1):
        assert backend.scalar_mult_base(_s(i)) == expected
        assert backend.scalar_mult(_s(i), GENERATOR) == expected
        assert backend.sub(expected, GENERATOR) == MULTIPLES[i - 1]
        assert backend.is_valid(expected)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("encoding", INVALID)
def test_rfc9496_invalid_encodings_are_rejected(backend: Ristretto255, encoding: bytes) -> None:
    assert not backend.is_valid(encoding)
    with pytest.raises(InvalidElementError):
        backend.scalar_mult(_s(7), encoding)
    with pytest.raises(InvalidElementError):
        backend.add(encoding, GENERATOR)
    with pytest.raises(InvalidElementError):
        backend.sub(GENERATOR, encoding)


@pytest.mark.parametrize("backend", BACKENDS)
def test_top_bit_set_is_not_a_second_encoding(backend: Ristretto255) -> None:
    # libsodium 1.0.18 masks this bit when decoding; RFC 9496 says the value is >= p.
    for e in MULTIPLES[1:]:
        bad = _with_top_bit(e)
        assert not backend.is_valid(bad)
        with pytest.raises(InvalidElementError):
            backend.scalar_mult(_s(3), bad)
        with pytest.raises(InvalidElementError):
            backend.add(bad, GENERATOR)


@pytest.mark.parametrize("backend", BACKENDS)
def test_from_uniform_vectors(backend: Ristretto255) -> None:
    for v in VECTORS["from_uniform"]:
        assert backend.from_uniform(bytes.fromhex(v["input"])).hex() == v["output"]
    with pytest.raises(InvalidElementError):
        backend.from_uniform(bytes(63))


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_identity_is_refused_by_scalar_mult(backend: Ristretto255) -> None:
    assert not backend.is_valid(IDENTITY)
    with pytest.raises(InvalidElementError):
        backend.scalar_mult(_s(5), IDENTITY)
    with pytest.raises(InvalidElementError, match="identity"):
        backend.scalar_mult(_s(0), GENERATOR)
    with pytest.raises(InvalidElementError, match="identity"):
        backend.scalar_mult_base(_s(0))
    # add and sub take and give the identity: sums are built from it
    assert backend.add(IDENTITY, GENERATOR) == GENERATOR
    assert backend.sub(GENERATOR, GENERATOR) == IDENTITY


@pytest.mark.parametrize("backend", BACKENDS)
def test_scalars_must_be_canonical(backend: Ristretto255) -> None:
    for bad in (L.to_bytes(32, "little"), b"\xff" * 32, bytes(31)):
        with pytest.raises(InvalidScalarError):
            backend.scalar_mult(bad, GENERATOR)
        with pytest.raises(InvalidScalarError):
            backend.scalar_mult_base(bad)
        with pytest.raises(InvalidScalarError):
            backend.scalar_mul(bad, _s(1))
    with pytest.raises(InvalidScalarError, match="zero"):
        backend.scalar_invert(_s(0))
    with pytest.raises(InvalidScalarError):
        backend.scalar_reduce(bytes(32))
    assert backend.scalar_reduce((L + 5).to_bytes(64, "little")) == _s(5)
    assert backend.scalar_mul(backend.scalar_invert(_s(8)), _s(8)) == _s(1)
    assert backend.scalar_sub(_s(1), _s(2)) == _s(L - 1)
    assert backend.scalar_add(_s(L - 1), _s(2)) == _s(1)
    assert backend.random_scalar() != backend.random_scalar()


def test_decoded_representatives_carry_torsion_that_libsodium_refuses() -> None:
    """Why the portable backend multiplies by 8 first: even the generator decodes to a
    representative outside the prime-order subgroup, which ``_noclamp`` refuses."""
    rep = _to_edwards(_decode(GENERATOR))
    assert not nacl.bindings.crypto_core_ed25519_is_valid_point(rep)
    with pytest.raises(nacl.exceptions.RuntimeError):
        nacl.bindings.crypto_scalarmult_ed25519_noclamp(_s(2), rep)
    assert PORTABLE.scalar_mult(_s(2), GENERATOR) == MULTIPLES[2]


def test_native_reports_a_missing_library_or_symbol() -> None:
    with pytest.raises(BackendUnavailableError, match="libsodium not found"):
        NativeRistretto255("/nonexistent/libsodium.so")
    libc = ctypes.util.find_library("c")
    if libc is not None:  # a real library without the symbols
        with pytest.raises(BackendUnavailableError, match="has no sodium_init"):
            NativeRistretto255(libc)


def test_default_backend_falls_back_to_portable(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(self: NativeRistretto255, library: str | None = None) -> None:
        raise BackendUnavailableError("hidden for the test")

    monkeypatch.setattr(NativeRistretto255, "__init__", unavailable)
    assert default_backend.__wrapped__().name == "portable-pynacl"


def test_default_backend_prefers_native() -> None:
    expected = "native-libsodium" if _NATIVE is not None else "portable-pynacl"
    assert default_backend().name == expected
    assert default_backend() is default_backend()


@given(h=st.binary(min_size=64, max_size=64), k=st.binary(min_size=64, max_size=64))
@settings(max_examples=60, deadline=None)
def test_portable_scalar_mult_is_a_group_action(h: bytes, k: bytes) -> None:
    p = PORTABLE.from_uniform(h)
    s = PORTABLE.scalar_reduce(k)
    if s == _s(0) or p == IDENTITY:
        return
    q = PORTABLE.scalar_mult(s, p)
    assert PORTABLE.scalar_mult(PORTABLE.scalar_invert(s), q) == p
    assert PORTABLE.scalar_mult(PORTABLE.scalar_add(s, _s(1)), p) == PORTABLE.add(q, p)


@_NO_NATIVE
@given(
    h1=st.binary(min_size=64, max_size=64),
    h2=st.binary(min_size=64, max_size=64),
    k=st.binary(min_size=64, max_size=64),
    raw=st.binary(min_size=32, max_size=32),
)
@settings(max_examples=60, deadline=None)
def test_backends_agree(h1: bytes, h2: bytes, k: bytes, raw: bytes) -> None:
    n, p = _NATIVE, PORTABLE
    assert n is not None
    a, b = n.from_uniform(h1), n.from_uniform(h2)
    assert (a, b) == (p.from_uniform(h1), p.from_uniform(h2))
    s = n.scalar_reduce(k)
    assert s == p.scalar_reduce(k)
    assert n.add(a, b) == p.add(a, b)
    assert n.sub(a, b) == p.sub(a, b)
    assert n.is_valid(raw) == p.is_valid(raw)
    assert n.is_valid(_with_top_bit(a)) is p.is_valid(_with_top_bit(a)) is False
    assert n.scalar_mul(s, s) == p.scalar_mul(s, s)
    assert n.scalar_sub(s, _s(9)) == p.scalar_sub(s, _s(9))
    if s != _s(0):
        assert n.scalar_invert(s) == p.scalar_invert(s)
        assert n.scalar_mult_base(s) == p.scalar_mult_base(s)
        if a != IDENTITY:
            assert n.scalar_mult(s, a) == p.scalar_mult(s, a)


@_NO_NATIVE
def test_backends_agree_on_random_encodings() -> None:
    """Random 32-byte strings: about one in sixteen is a valid encoding; both must agree."""
    assert _NATIVE is not None
    for _ in range(500):
        raw = os.urandom(32)
        assert _NATIVE.is_valid(raw) == PORTABLE.is_valid(raw)


@pytest.mark.parametrize("backend", BACKENDS)
def test_scalar_mult_uniform_is_the_map_then_the_mult(backend: Ristretto255) -> None:
    uniforms = [bytes.fromhex(v["input"]) for v in VECTORS["from_uniform"]]
    expected = [backend.scalar_mult(_s(77), backend.from_uniform(u)) for u in uniforms]
    assert backend.scalar_mult_uniform(_s(77), uniforms) == expected
    with pytest.raises(InvalidElementError, match="identity"):
        backend.scalar_mult_uniform(_s(0), uniforms)
    with pytest.raises(InvalidElementError):
        backend.scalar_mult_uniform(_s(77), [bytes(63)])
    with pytest.raises(InvalidScalarError):
        backend.scalar_mult_uniform(L.to_bytes(32, "little"), uniforms)
