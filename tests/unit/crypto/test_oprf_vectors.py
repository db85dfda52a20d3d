"""RFC 9497 Appendix A vectors (ristretto255-SHA512, OPRF and VOPRF) on both backends.

The vectors fix every random choice (the blinds and the proof's ``r``), so each step of
the protocol is compared byte for byte: DeriveKeyPair, Blind, BlindEvaluate, the batched
DLEQ proof, Finalize, and the server's own Evaluate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crypto import oprf
from crypto.errors import BackendUnavailableError
from crypto.oprf import Mode
from crypto.ristretto import NativeRistretto255, PortableRistretto255, Ristretto255

VECTORS_FILE = Path(__file__).parents[2] / "vectors" / "rfc9497" / "ristretto255-sha512.json"
SUITES: list[dict[str, Any]] = [
    s for s in json.loads(VECTORS_FILE.read_text()) if s["mode"] in (Mode.OPRF, Mode.VOPRF)
]


def _native() -> Ristretto255 | None:
    try:
        return NativeRistretto255()
    except BackendUnavailableError:
        return None


_NATIVE = _native()
BACKENDS = [
    pytest.param(
        _NATIVE,
        id="native",
        marks=pytest.mark.skipif(_NATIVE is None, reason="no system libsodium with ristretto255"),
    ),
    pytest.param(PortableRistretto255(), id="portable"),
]
SUITE_PARAMS = [pytest.param(s, id=f"mode{s['mode']}") for s in SUITES]
CASES = [
    pytest.param(s, v, id=f"mode{s['mode']}-vector{i + 1}-batch{v['Batch']}")
    for s in SUITES
    for i, v in enumerate(s["vectors"])
]
VOPRF_CASES = [
    pytest.param(s, v, id=f"mode1-vector{i + 1}-batch{v['Batch']}")
    for s in SUITES
    if s["mode"] == Mode.VOPRF
    for i, v in enumerate(s["vectors"])
]


def _hexes(field: str) -> list[bytes]:
    return [bytes.fromhex(x) for x in field.split(",")]


def _key(suite: dict[str, Any], g: Ristretto255) -> oprf.KeyPair:
    return oprf.derive_key_pair(
        bytes.fromhex(suite["seed"]),
        bytes.fromhex(suite["keyInfo"]),
        mode=Mode(suite["mode"]),
        backend=g,
    )


def _blinded(suite: dict[str, Any], vector: dict[str, Any], g: Ristretto255) -> list[bytes]:
    return [
        oprf.blind(x, blind=r, mode=Mode(suite["mode"]), backend=g).blinded_element
        for x, r in zip(_hexes(vector["Input"]), _hexes(vector["Blind"]), strict=True)
    ]


def test_the_file_has_what_the_tests_need() -> None:
    assert [s["identifier"] for s in SUITES] == ["ristretto255-SHA512"] * 2
    assert [len(s["vectors"]) for s in SUITES] == [2, 3]
    assert any(v["Batch"] == 2 for s in SUITES for v in s["vectors"])  # a batched proof
    assert SUITES[0]["skSm"].startswith("5ebcea5e")  # RFC 9497 A.1.1, as printed


@pytest.mark.parametrize("suite", SUITE_PARAMS)
def test_context_string_gives_the_group_dst(suite: dict[str, Any]) -> None:
    dst = b"HashToGroup-" + oprf.context_string(Mode(suite["mode"]))
    assert dst.hex() == suite["groupDST"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("suite", SUITE_PARAMS)
def test_derive_key_pair(suite: dict[str, Any], backend: Ristretto255) -> None:
    key = _key(suite, backend)
    assert key.secret_key.hex() == suite["skSm"]
    if "pkSm" in suite:
        assert key.public_key.hex() == suite["pkSm"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("suite", "vector"), CASES)
def test_blind(suite: dict[str, Any], vector: dict[str, Any], backend: Ristretto255) -> None:
    assert _blinded(suite, vector, backend) == _hexes(vector["BlindedElement"])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("suite", "vector"), CASES)
def test_blind_evaluate(
    suite: dict[str, Any], vector: dict[str, Any], backend: Ristretto255
) -> None:
    sk = _key(suite, backend).secret_key
    blinded = _hexes(vector["BlindedElement"])
    if suite["mode"] == Mode.OPRF:
        evaluated = [oprf.blind_evaluate(sk, b, backend=backend) for b in blinded]
    else:
        r = bytes.fromhex(vector["Proof"]["r"])
        evaluated = list(oprf.blind_evaluate_batch(sk, blinded, r=r, backend=backend)[0])
    assert evaluated == _hexes(vector["EvaluationElement"])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("suite", "vector"), VOPRF_CASES)
def test_voprf_proof(suite: dict[str, Any], vector: dict[str, Any], backend: Ristretto255) -> None:
    reply = oprf.blind_evaluate_batch(
        _key(suite, backend).secret_key,
        _hexes(vector["BlindedElement"]),
        r=bytes.fromhex(vector["Proof"]["r"]),
        backend=backend,
    )
    assert reply.proof.hex() == vector["Proof"]["proof"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("suite", "vector"), CASES)
def test_finalize(suite: dict[str, Any], vector: dict[str, Any], backend: Ristretto255) -> None:
    inputs, blinds = _hexes(vector["Input"]), _hexes(vector["Blind"])
    evaluated = _hexes(vector["EvaluationElement"])
    if suite["mode"] == Mode.OPRF:
        outputs = [
            oprf.finalize(x, r, e, backend=backend)
            for x, r, e in zip(inputs, blinds, evaluated, strict=True)
        ]
    else:  # verifies the vector's proof against pkSm first
        outputs = oprf.finalize_batch(
            inputs,
            blinds,
            evaluated,
            _hexes(vector["BlindedElement"]),
            bytes.fromhex(vector["Proof"]["proof"]),
            bytes.fromhex(suite["pkSm"]),
            backend=backend,
        )
    assert outputs == _hexes(vector["Output"])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("suite", "vector"), CASES)
def test_server_evaluate(
    suite: dict[str, Any], vector: dict[str, Any], backend: Ristretto255
) -> None:
    sk = _key(suite, backend).secret_key
    mode = Mode(suite["mode"])
    outputs = [oprf.evaluate(sk, x, mode=mode, backend=backend) for x in _hexes(vector["Input"])]
    assert outputs == _hexes(vector["Output"])


@pytest.mark.parametrize(
    ("msg", "length", "expected"),
    [
        (b"", 0x20, "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba"),
        (b"abc", 0x20, "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc"),
        (
            b"",
            0x80,
            "41b037d1734a5f8df225dd8c7de38f851efdb45c372887be655212d07251b921"
            "b052b62eaed99b46f72f2ef4cc96bfaf254ebbbec091e1a3b9e4fb5e5b619d2e"
            "0c5414800a1d882b62bb5cd1778f098b8eb6cb399d5d9d18f5d5842cf5d13d7e"
            "b00a7cff859b605da678b318bd0e65ebff70bec88c753b159a805d2c89c55961",
        ),
    ],
)
def test_expand_message_xmd_rfc9380_k3(msg: bytes, length: int, expected: str) -> None:
    """RFC 9380 Appendix K.3 (SHA-512); the 128-byte case exercises the chained blocks
    that the OPRF's 64-byte expansions never reach."""
    dst = b"QUUX-V01-CS02-with-expander-SHA512-256"
    assert oprf.expand_message_xmd(msg, dst, length).hex() == expected
