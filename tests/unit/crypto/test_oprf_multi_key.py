"""One blinded batch under several keys with one shared composite (ADR 0008).

Every key's outputs must equal what the key holder computes itself, a reply must be
refused if any element of any key's part is wrong, and the construction must not accept
RFC 9497 proofs (nor they it): its own domain separates them.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses

import pytest

from crypto import oprf
from crypto.errors import (
    BackendUnavailableError,
    InvalidOprfMessageError,
    OprfInputError,
    OprfVerifyError,
)
from crypto.oprf import KeyedReply, PreparedBatch
from crypto.ristretto import (
    GENERATOR,
    IDENTITY,
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
BACKENDS = [
    pytest.param(
        _NATIVE,
        id="native",
        marks=pytest.mark.skipif(_NATIVE is None, reason="no system libsodium"),
    ),
    pytest.param(PortableRistretto255(), id="portable"),
]
PLATES = [b"7ABC123", b"8XYZ999", b"4LMN000", b"5QRS111", b"6TUV222"]


@dataclasses.dataclass
class MultiExchange:
    g: Ristretto255
    keys: list[oprf.KeyPair]
    batch: PreparedBatch
    replies: tuple[KeyedReply, ...]

    def finalize(self, replies: tuple[KeyedReply, ...] | list[KeyedReply]) -> list[list[bytes]]:
        return oprf.finalize_multi(self.batch, replies, backend=self.g)


@pytest.fixture(params=BACKENDS)
def ex(request: pytest.FixtureRequest) -> MultiExchange:
    g: Ristretto255 = request.param
    keys = [
        oprf.derive_key_pair(bytes(range(32)), f"epoch-{e}".encode(), backend=g) for e in range(3)
    ]
    states = [oprf.blind(x, backend=g) for x in PLATES]
    blinded = [s.blinded_element for s in states]
    batch = oprf.prepare_batch(PLATES, [s.blind for s in states], blinded, backend=g)
    replies = oprf.blind_evaluate_multi([k.secret_key for k in keys], blinded, backend=g)
    return MultiExchange(g, keys, batch, replies)


def test_every_key_gives_what_its_holder_computes(ex: MultiExchange) -> None:
    outputs = ex.finalize(ex.replies)
    for key, reply, out in zip(ex.keys, ex.replies, outputs, strict=True):
        assert reply.public_key == key.public_key
        assert out == [oprf.evaluate(key.secret_key, x, backend=ex.g) for x in PLATES]


def test_a_thread_pool_gives_the_same_replies_and_outputs(ex: MultiExchange) -> None:
    nonces = [ex.g.random_scalar() for _ in ex.keys]
    sks = [k.secret_key for k in ex.keys]
    blinded = ex.batch.blinded_elements
    alone = oprf.blind_evaluate_multi(sks, blinded, rs=nonces, backend=ex.g)
    with cf.ThreadPoolExecutor(4) as pool:
        pooled = oprf.blind_evaluate_multi(sks, blinded, rs=nonces, backend=ex.g, mapper=pool.map)
        outputs = oprf.finalize_multi(ex.batch, pooled, backend=ex.g, mapper=pool.map)
    assert pooled == alone
    assert outputs == ex.finalize(alone)


def test_one_wrong_element_of_one_key_is_caught(ex: MultiExchange) -> None:
    """The cheat the batching must catch: one evaluation made with another key. The seed
    covers the whole statement, so every key's weights, and so every proof, fail."""
    stranger = oprf.generate_key_pair(backend=ex.g).secret_key
    for k in range(len(ex.replies)):
        for i in (0, len(PLATES) - 1):
            ds = list(ex.replies[k].evaluated_elements)
            ds[i] = ex.g.scalar_mult(stranger, ex.batch.blinded_elements[i])
            replies = list(ex.replies)
            replies[k] = replies[k]._replace(evaluated_elements=tuple(ds))
            with pytest.raises(OprfVerifyError, match="proof 0 does not verify"):
                ex.finalize(replies)


def test_proofs_and_keys_cannot_be_swapped_or_dropped(ex: MultiExchange) -> None:
    a, b, c = ex.replies
    with pytest.raises(OprfVerifyError):
        ex.finalize([a._replace(proof=b.proof), b, c])
    with pytest.raises(OprfVerifyError):
        ex.finalize([b, a, c])  # the order of the keys is part of the statement
    with pytest.raises(OprfVerifyError):
        ex.finalize([a, b])  # so is their number: every weight changes
    with pytest.raises(OprfVerifyError):
        ex.finalize([a._replace(public_key=GENERATOR), b, c])


def test_rfc9497_proofs_and_multi_key_proofs_do_not_stand_in_for_each_other(
    ex: MultiExchange,
) -> None:
    (key,) = ex.keys[:1]
    blinded = list(ex.batch.blinded_elements)
    rfc = oprf.blind_evaluate_batch(key.secret_key, blinded, backend=ex.g)
    (multi,) = oprf.blind_evaluate_multi([key.secret_key], blinded, backend=ex.g)
    assert rfc.evaluated_elements == multi.evaluated_elements
    with pytest.raises(OprfVerifyError):
        ex.finalize([multi._replace(proof=rfc.proof)])
    with pytest.raises(OprfVerifyError):
        oprf.finalize_prepared(
            ex.batch, multi.evaluated_elements, multi.proof, key.public_key, backend=ex.g
        )


@pytest.mark.parametrize("bad", [IDENTITY, b"\xff" * 32, b"\x01" * 31])
def test_malformed_replies_are_message_errors(ex: MultiExchange, bad: bytes) -> None:
    a, b, c = ex.replies
    ds = (a.evaluated_elements[0], bad, *a.evaluated_elements[2:])
    match = "element 1 of 5 in reply 1" if len(bad) == 32 else "not 32 bytes"
    with pytest.raises(InvalidOprfMessageError, match=match):
        ex.finalize([a, b._replace(evaluated_elements=ds), c])
    with pytest.raises(InvalidOprfMessageError, match="4 evaluated elements for 5"):
        ex.finalize([a, b._replace(evaluated_elements=b.evaluated_elements[:4]), c])
    with pytest.raises(InvalidOprfMessageError, match="public key"):
        ex.finalize([a, b._replace(public_key=bad), c])
    with pytest.raises(InvalidOprfMessageError):
        ex.finalize([a, b._replace(proof=b.proof[:63]), c])
    with pytest.raises(InvalidOprfMessageError, match="keys"):
        ex.finalize([])


def test_the_server_refuses_what_the_client_could_send(ex: MultiExchange) -> None:
    sks = [k.secret_key for k in ex.keys]
    with pytest.raises(InvalidOprfMessageError, match="blinded element 1 of 2"):
        oprf.blind_evaluate_multi(sks, [GENERATOR, IDENTITY], backend=ex.g)
    with pytest.raises(InvalidOprfMessageError, match="1 to"):
        oprf.blind_evaluate_multi(sks, [], backend=ex.g)
    with pytest.raises(OprfInputError, match="keys"):
        oprf.blind_evaluate_multi([], [GENERATOR], backend=ex.g)


def test_backends_agree_byte_for_byte() -> None:
    if _NATIVE is None:
        pytest.skip("no system libsodium")
    portable = PortableRistretto255()
    sks = [oprf.derive_key_pair(bytes(32), bytes([e])).secret_key for e in range(2)]
    blinded = [oprf.blind(x, blind=_NATIVE.random_scalar()).blinded_element for x in PLATES]
    nonces = [_NATIVE.random_scalar() for _ in sks]
    native = oprf.blind_evaluate_multi(sks, blinded, rs=nonces, backend=_NATIVE)
    assert native == oprf.blind_evaluate_multi(sks, blinded, rs=nonces, backend=portable)
