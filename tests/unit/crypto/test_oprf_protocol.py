"""The OPRF / VOPRF protocol end to end, and every refusal a peer can trigger."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from crypto import oprf
from crypto.errors import (
    BackendUnavailableError,
    InvalidOprfMessageError,
    OprfError,
    OprfInputError,
    OprfVerifyError,
)
from crypto.oprf import Mode
from crypto.ristretto import (
    GENERATOR,
    IDENTITY,
    L,
    NativeRistretto255,
    PortableRistretto255,
    Ristretto255,
)


def _native() -> Ristretto255 | None:
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
PLATES = [b"7ABC123", b"8XYZ999", b"4LMN000"]
SEED = bytes(range(32))


class Exchange:
    """One client batch and the server's honest reply, to tamper with."""

    def __init__(self, g: Ristretto255) -> None:
        self.g = g
        self.key = oprf.derive_key_pair(SEED, b"agreement-1/epoch-1", backend=g)
        self.states = [oprf.blind(x, backend=g) for x in PLATES]
        self.blinded = [s.blinded_element for s in self.states]
        self.blinds = [s.blind for s in self.states]
        self.evaluated, self.proof = oprf.blind_evaluate_batch(
            self.key.secret_key, self.blinded, backend=g
        )

    def finalize(
        self,
        *,
        inputs: Sequence[bytes] = PLATES,
        blinds: Sequence[bytes] | None = None,
        evaluated_elements: Sequence[bytes] | None = None,
        blinded_elements: Sequence[bytes] | None = None,
        proof: bytes | None = None,
        public_key: bytes | None = None,
    ) -> list[bytes]:
        """The client's finalize_batch on the honest exchange, with some parts replaced."""
        return oprf.finalize_batch(
            inputs,
            self.blinds if blinds is None else blinds,
            self.evaluated if evaluated_elements is None else evaluated_elements,
            self.blinded if blinded_elements is None else blinded_elements,
            self.proof if proof is None else proof,
            self.key.public_key if public_key is None else public_key,
            backend=self.g,
        )


@pytest.fixture(params=BACKENDS)
def exchange(request: pytest.FixtureRequest) -> Exchange:
    return Exchange(request.param)


def test_voprf_round_trip_matches_server_evaluate(exchange: Exchange) -> None:
    outputs = exchange.finalize()
    sk = exchange.key.secret_key
    assert outputs == [oprf.evaluate(sk, x, backend=exchange.g) for x in PLATES]
    assert len(set(outputs)) == len(PLATES)
    assert all(len(y) == oprf.OUTPUT_SIZE for y in outputs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_oprf_round_trip_matches_server_evaluate(backend: Ristretto255) -> None:
    key = oprf.generate_key_pair(backend=backend)
    state = oprf.blind(b"7ABC123", mode=Mode.OPRF, backend=backend)
    evaluated = oprf.blind_evaluate(key.secret_key, state.blinded_element, backend=backend)
    y = oprf.finalize(b"7ABC123", state.blind, evaluated, backend=backend)
    assert y == oprf.evaluate(key.secret_key, b"7ABC123", mode=Mode.OPRF, backend=backend)
    # the mode is bound in: the same key and plate give another PRF in VOPRF mode
    assert y != oprf.evaluate(key.secret_key, b"7ABC123", mode=Mode.VOPRF, backend=backend)


def test_tampered_evaluated_element_fails_verification(exchange: Exchange) -> None:
    g = exchange.g
    shifted = [g.add(exchange.evaluated[0], GENERATOR), *exchange.evaluated[1:]]
    with pytest.raises(OprfVerifyError):
        exchange.finalize(evaluated_elements=shifted)
    swapped = [exchange.evaluated[1], exchange.evaluated[0], exchange.evaluated[2]]
    with pytest.raises(OprfVerifyError):
        exchange.finalize(evaluated_elements=swapped)


def test_tampered_proof_fails_verification(exchange: Exchange) -> None:
    p = exchange.proof
    for i in (0, 40):  # a bit of c, a bit of s: both stay canonical scalars
        bad = p[:i] + bytes([p[i] ^ 1]) + p[i + 1 :]
        with pytest.raises(OprfVerifyError):
            exchange.finalize(proof=bad)
    with pytest.raises(OprfVerifyError):  # s = 0
        exchange.finalize(proof=p[:32] + bytes(32))


def test_malformed_proof_is_a_message_error(exchange: Exchange) -> None:
    p = exchange.proof
    with pytest.raises(InvalidOprfMessageError, match="64 bytes"):
        exchange.finalize(proof=p[:63])
    with pytest.raises(InvalidOprfMessageError, match="proof scalar"):
        exchange.finalize(proof=L.to_bytes(32, "little") + p[32:])


def test_wrong_public_key_fails_verification(exchange: Exchange) -> None:
    other = oprf.derive_key_pair(bytes(32), b"agreement-1/epoch-1", backend=exchange.g)
    with pytest.raises(OprfVerifyError):
        exchange.finalize(public_key=other.public_key)
    with pytest.raises(InvalidOprfMessageError, match="server public key"):
        exchange.finalize(public_key=IDENTITY)


def test_a_reply_under_another_key_fails_verification(exchange: Exchange) -> None:
    other = oprf.derive_key_pair(bytes(32), b"x", backend=exchange.g)
    evaluated, proof = oprf.blind_evaluate_batch(
        other.secret_key, exchange.blinded, backend=exchange.g
    )
    with pytest.raises(OprfVerifyError):
        exchange.finalize(evaluated_elements=evaluated, proof=proof)


def test_mismatched_batch_sizes_are_refused(exchange: Exchange) -> None:
    with pytest.raises(InvalidOprfMessageError, match="2 evaluated elements for 3"):
        exchange.finalize(evaluated_elements=exchange.evaluated[:2])
    with pytest.raises(OprfInputError, match="2 inputs, 3 blinds"):
        exchange.finalize(inputs=PLATES[:2])
    with pytest.raises(OprfInputError):
        exchange.finalize(inputs=[], blinds=[], blinded_elements=[], evaluated_elements=[])
    with pytest.raises(InvalidOprfMessageError, match="1 to 65536 elements, not 0"):
        oprf.blind_evaluate_batch(exchange.key.secret_key, [], backend=exchange.g)


def test_invalid_evaluated_element_is_refused(exchange: Exchange) -> None:
    bad = [exchange.evaluated[0], IDENTITY, exchange.evaluated[2]]
    with pytest.raises(InvalidOprfMessageError, match="evaluated element 1 of 3"):
        exchange.finalize(evaluated_elements=bad)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(IDENTITY, id="identity"),
        pytest.param(b"\xed" + b"\xff" * 30 + b"\x7f", id="non-canonical"),
        pytest.param(GENERATOR[:31] + bytes([GENERATOR[31] | 0x80]), id="top-bit"),
        pytest.param(bytes.fromhex("01" + "00" * 31), id="negative"),
        pytest.param(GENERATOR[:31], id="short"),
    ],
)
def test_server_refuses_invalid_blinded_elements(backend: Ristretto255, bad: bytes) -> None:
    key = oprf.generate_key_pair(backend=backend)
    with pytest.raises(InvalidOprfMessageError, match="blinded element is not"):
        oprf.blind_evaluate(key.secret_key, bad, backend=backend)
    good = oprf.blind(b"x", backend=backend).blinded_element
    with pytest.raises(InvalidOprfMessageError, match="blinded element 1 of 2"):
        oprf.blind_evaluate_batch(key.secret_key, [good, bad], backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_own_inputs_are_checked(backend: Ristretto255) -> None:
    with pytest.raises(OprfInputError, match="at most 65535"):
        oprf.blind(bytes(65536), backend=backend)
    with pytest.raises(OprfInputError, match="blind must not be zero"):
        oprf.blind(b"x", blind=bytes(32), backend=backend)
    with pytest.raises(OprfInputError, match="seed must be 32 bytes"):
        oprf.derive_key_pair(bytes(16), backend=backend)
    with pytest.raises(OprfInputError, match="secret key"):
        oprf.evaluate(L.to_bytes(32, "little"), b"x", backend=backend)
    assert oprf.blind(bytes(65535), backend=backend).blinded_element  # the limit itself
    with pytest.raises(OprfInputError, match="only OPRF"):
        oprf.blind(b"x", mode=2, backend=backend)  # type: ignore[arg-type]  # POPRF


def test_fresh_randomness_by_default(exchange: Exchange) -> None:
    again = oprf.blind_evaluate_batch(exchange.key.secret_key, exchange.blinded, backend=exchange.g)
    assert again.evaluated_elements == exchange.evaluated
    assert again.proof != exchange.proof  # a new r each time: reusing it would leak the key
    assert oprf.blind(PLATES[0], backend=exchange.g) != exchange.states[0]


def test_secrets_stay_out_of_repr(exchange: Exchange) -> None:
    assert exchange.key.secret_key.hex() not in repr(exchange.key)
    assert exchange.states[0].blind.hex() not in repr(exchange.states[0])


def test_errors_share_one_base() -> None:
    for cls in (InvalidOprfMessageError, OprfInputError, OprfVerifyError):
        assert issubclass(cls, OprfError)


@_NO_NATIVE
def test_backends_interoperate() -> None:
    """A portable client and a native server (and back) compute the same function."""
    assert _NATIVE is not None
    key = oprf.derive_key_pair(SEED, backend=_NATIVE)
    for client, server in ((PORTABLE, _NATIVE), (_NATIVE, PORTABLE)):
        states = [oprf.blind(x, backend=client) for x in PLATES]
        blinded = [s.blinded_element for s in states]
        reply = oprf.blind_evaluate_batch(key.secret_key, blinded, backend=server)
        outputs = oprf.finalize_batch(
            PLATES,
            [s.blind for s in states],
            reply.evaluated_elements,
            blinded,
            reply.proof,
            key.public_key,
            backend=client,
        )
        assert outputs == [oprf.evaluate(key.secret_key, x, backend=server) for x in PLATES]


@pytest.mark.parametrize("backend", BACKENDS)
def test_evaluate_batch_is_evaluate(backend: Ristretto255) -> None:
    key = oprf.derive_key_pair(SEED, b"batch", backend=backend)
    inputs = [*PLATES, b"", b"x" * 300]
    expected = [oprf.evaluate(key.secret_key, x, backend=backend) for x in inputs]
    assert oprf.evaluate_batch(key.secret_key, inputs, backend=backend) == expected
    assert oprf.evaluate_batch(key.secret_key, [], backend=backend) == []
    with pytest.raises(OprfInputError, match="secret key"):
        oprf.evaluate_batch(bytes(32), inputs, backend=backend)
    with pytest.raises(OprfInputError, match="input"):
        oprf.evaluate_batch(key.secret_key, [b"x" * 70_000], backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [1, 2, 7])
def test_prepared_unblinders_are_the_inverses_of_the_blinds(backend: Ristretto255, n: int) -> None:
    states = [oprf.blind(b"%d" % i, backend=backend) for i in range(n)]
    batch = oprf.prepare_batch(
        [b"%d" % i for i in range(n)],
        [s.blind for s in states],
        [s.blinded_element for s in states],
        backend=backend,
    )
    assert batch.unblinders == tuple(backend.scalar_invert(s.blind) for s in states)
