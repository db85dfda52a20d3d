"""RFC 9497 OPRF (mode 0) and VOPRF (mode 1) over ristretto255-SHA512, sans-IO.

Why: a node answers "is this plate in your reads?" without learning the plate, and the
asker learns ``F(k, plate)`` for the plates it asked about and nothing else. In the VOPRF
mode the server also proves, with one batched DLEQ proof per reply, that it used the key
behind its published public key, so it cannot answer different askers with different keys.

Everything is bytes in, bytes out: 32-byte element encodings, 32-byte little-endian
scalars, 64-byte proofs (``c || s``) and 64-byte outputs. Randomness is injectable
(``blind=``, ``r=``) so that the RFC 9497 Appendix A vectors replay exactly; leave it
``None`` in production. Every function takes an optional ``backend`` (see
``crypto.ristretto``). Data from the other party is validated and refused with
:class:`~crypto.errors.InvalidOprfMessageError`; a proof that fails raises
:class:`~crypto.errors.OprfVerifyError`. Nothing returns a bool to forget.

VOPRF round trip (the mode Accord uses, hence the default)::

    server = derive_key_pair(seed, b"agreement-42/epoch-7")        # or generate_key_pair()
    state = blind(b"7ABC123")                                       # client
    reply = blind_evaluate_batch(server.secret_key, [state.blinded_element])  # server
    [y] = finalize_batch([b"7ABC123"], [state.blind], reply.evaluated_elements,
                         [state.blinded_element], reply.proof, server.public_key)
    assert y == evaluate(server.secret_key, b"7ABC123")             # the server's own index
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, NamedTuple

from crypto.errors import (
    DeriveKeyPairError,
    InvalidElementError,
    InvalidOprfMessageError,
    InvalidScalarError,
    OprfInputError,
    OprfVerifyError,
)
from crypto.ristretto import IDENTITY, Ristretto255, check_scalar, default_backend

SUITE = "ristretto255-SHA512"
ELEMENT_SIZE = 32
SCALAR_SIZE = 32
PROOF_SIZE = 2 * SCALAR_SIZE
OUTPUT_SIZE = 64
MAX_INPUT_SIZE = 2**16 - 1  # lengths are framed with I2OSP(len, 2)
MAX_BATCH_SIZE = 2**16  # composite indices are framed with I2OSP(i, 2)
_ZERO = bytes(SCALAR_SIZE)


class Mode(IntEnum):
    """The RFC 9497 protocol variant; it is bound into every hash through the context."""

    OPRF = 0x00
    VOPRF = 0x01


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A server key: ``secret_key`` is a scalar, ``public_key`` = ``secret_key * G``."""

    secret_key: bytes = field(repr=False)
    public_key: bytes


@dataclass(frozen=True, slots=True)
class Blinded:
    """The client's state for one input between ``blind`` and finalization.

    Send ``blinded_element``; keep ``blind`` secret (it unblinds the reply).
    """

    blind: bytes = field(repr=False)
    blinded_element: bytes


class BatchEvaluation(NamedTuple):
    """A VOPRF reply: one evaluated element per blinded element, in order, and one proof."""

    evaluated_elements: tuple[bytes, ...]
    proof: bytes


# --- Suite primitives ------------------------------------------------------------------


def context_string(mode: Mode) -> bytes:
    """``"OPRFV1-" || I2OSP(mode, 1) || "-" || "ristretto255-SHA512"`` (RFC 9497 3.1)."""
    try:
        mode = Mode(mode)
    except ValueError as e:
        raise OprfInputError(f"mode {mode!r}: only OPRF (0) and VOPRF (1) exist here") from e
    return b"OPRFV1-" + bytes([mode]) + b"-" + SUITE.encode()


@functools.cache
def _dst(prefix: bytes, mode: Mode) -> bytes:
    return prefix + context_string(mode)


def _i2osp2(n: int) -> bytes:
    return n.to_bytes(2, "big")


def _framed(*parts: bytes) -> bytes:
    return b"".join(_i2osp2(len(p)) + p for p in parts)


#: SHA-512 having absorbed ``Z_pad`` (one whole 128-byte block): every
#: ``expand_message_xmd`` starts from a copy of it instead of hashing the block again.
_Z_PAD_SHA512 = hashlib.sha512(bytes(128))


def expand_message_xmd(msg: bytes, dst: bytes, length: int) -> bytes:
    """RFC 9380 5.3.1 ``expand_message_xmd`` with SHA-512 (b = 64, s = 128 bytes)."""
    ell = -(-length // 64)
    if not 1 <= length <= 65535 or ell > 255 or len(dst) > 255:
        raise OprfInputError("expand_message_xmd: length or DST out of range")
    dst_prime = dst + bytes([len(dst)])
    h = _Z_PAD_SHA512.copy()
    h.update(msg + _i2osp2(length) + b"\x00" + dst_prime)
    b0 = h.digest()
    blocks = [hashlib.sha512(b0 + b"\x01" + dst_prime).digest()]
    if ell == 1:  # every use in this suite: one block, no XOR chain
        return blocks[0][:length]
    b0_int = int.from_bytes(b0, "big")
    for i in range(2, ell + 1):
        mixed = (b0_int ^ int.from_bytes(blocks[-1], "big")).to_bytes(64, "big")
        blocks.append(hashlib.sha512(mixed + bytes([i]) + dst_prime).digest())
    return b"".join(blocks)[:length]


def hash_to_group(
    input: bytes, *, mode: Mode = Mode.VOPRF, backend: Ristretto255 | None = None
) -> bytes:
    """``hash_to_ristretto255`` with DST ``"HashToGroup-" || contextString``."""
    g = _backend(backend)
    return g.from_uniform(expand_message_xmd(input, _dst(b"HashToGroup-", mode), 64))


def hash_to_scalar(
    data: bytes,
    *,
    mode: Mode = Mode.VOPRF,
    dst: bytes | None = None,
    backend: Ristretto255 | None = None,
) -> bytes:
    """64 bytes of ``expand_message_xmd`` (default DST ``"HashToScalar-" || ctx``) mod L."""
    g = _backend(backend)
    dst = _dst(b"HashToScalar-", mode) if dst is None else dst
    return g.scalar_reduce(expand_message_xmd(data, dst, 64))


# --- Keys --------------------------------------------------------------------------------


def derive_key_pair(
    seed: bytes,
    info: bytes = b"",
    *,
    mode: Mode = Mode.VOPRF,
    backend: Ristretto255 | None = None,
) -> KeyPair:
    """RFC 9497 ``DeriveKeyPair``: a key from a secret 32-byte seed and public ``info``.

    The same (seed, info, mode) always gives the same key; the secrecy is all in ``seed``.
    """
    g = _backend(backend)
    if len(seed) != SCALAR_SIZE:
        raise OprfInputError(f"seed must be {SCALAR_SIZE} bytes, not {len(seed)}")
    _check_length(info, "info")
    derive_input = seed + _framed(info)
    dst = _dst(b"DeriveKeyPair", mode)
    for counter in range(256):
        sk = hash_to_scalar(derive_input + bytes([counter]), dst=dst, backend=g)
        if sk != _ZERO:
            return KeyPair(sk, g.scalar_mult_base(sk))
    raise DeriveKeyPairError("no non-zero key in 256 tries")


def generate_key_pair(*, backend: Ristretto255 | None = None) -> KeyPair:
    """RFC 9497 ``GenerateKeyPair``: a fresh random key (for any mode)."""
    g = _backend(backend)
    sk = g.random_scalar()
    return KeyPair(sk, g.scalar_mult_base(sk))


# --- OPRF (mode 0) and the client side shared with VOPRF ---------------------------------


def blind(
    input: bytes,
    *,
    blind: bytes | None = None,
    mode: Mode = Mode.VOPRF,
    backend: Ristretto255 | None = None,
) -> Blinded:
    """RFC 9497 ``Blind``: hide ``input`` as ``blind * HashToGroup(input)``.

    ``blind`` is drawn at random unless given (tests only); it must be a non-zero scalar.
    """
    g = _backend(backend)
    _check_length(input, "input")
    r = g.random_scalar() if blind is None else _own_scalar(blind, "blind")
    return Blinded(r, g.scalar_mult(r, _input_element(g, input, mode)))


def blind_evaluate(
    secret_key: bytes, blinded_element: bytes, *, backend: Ristretto255 | None = None
) -> bytes:
    """OPRF server (RFC 9497 3.3.1 ``BlindEvaluate``): ``secret_key * blinded_element``.

    The blinded element comes from the client and is validated (canonical, non-identity).
    """
    g = _backend(backend)
    sk = _own_scalar(secret_key, "secret key")
    _peer_elements(g, [blinded_element], "blinded element")
    return g.scalar_mult(sk, blinded_element)


def finalize(
    input: bytes,
    blind: bytes,
    evaluated_element: bytes,
    *,
    backend: Ristretto255 | None = None,
) -> bytes:
    """OPRF client (RFC 9497 ``Finalize``): unblind the server's reply and hash it.

    No proof in this mode: the output is only as right as the server was honest.
    """
    g = _backend(backend)
    _check_length(input, "input")
    r = _own_scalar(blind, "blind")
    _peer_elements(g, [evaluated_element], "evaluated element")
    return _finalize_hash(input, g.scalar_mult(g.scalar_invert(r), evaluated_element))


def evaluate(
    secret_key: bytes,
    input: bytes,
    *,
    mode: Mode = Mode.VOPRF,
    backend: Ristretto255 | None = None,
) -> bytes:
    """RFC 9497 ``Evaluate``: ``F(k, input)`` computed by the key holder, without blinding.

    This is what the server stores in its own index; a client's finalized output for
    the same input, mode and key is equal to it.
    """
    g = _backend(backend)
    _check_length(input, "input")
    sk = _own_scalar(secret_key, "secret key")
    return _finalize_hash(input, g.scalar_mult(sk, _input_element(g, input, mode)))


def evaluate_batch(
    secret_key: bytes,
    inputs: Sequence[bytes],
    *,
    mode: Mode = Mode.VOPRF,
    backend: Ristretto255 | None = None,
) -> list[bytes]:
    """:func:`evaluate` for many inputs under one key (a server indexing its own data).

    The same outputs, with the key checked once, the hashes to the group written out
    for this suite's one-block ``expand_message_xmd``, and the group work in one backend
    call (:meth:`~crypto.ristretto.Ristretto255.scalar_mult_uniform`).
    """
    g = _backend(backend)
    sk = _own_scalar(secret_key, "secret key")
    for x in inputs:
        _check_length(x, "input")
    dst = _dst(b"HashToGroup-", mode)
    dst_prime = dst + bytes([len(dst)])
    tail, b1_tail, sha512, zpad = (
        b"\x00\x40\x00" + dst_prime,
        b"\x01" + dst_prime,
        hashlib.sha512,
        _Z_PAD_SHA512,
    )
    uniforms = []
    for x in inputs:
        h = zpad.copy()
        h.update(x + tail)
        uniforms.append(sha512(h.digest() + b1_tail).digest())
    try:
        elements = g.scalar_mult_uniform(sk, uniforms)
    except InvalidElementError as e:  # the key is not zero: an input hashed to the identity
        raise OprfInputError("an input hashes to the identity element") from e
    return [
        sha512(_i2osp2(len(x)) + x + b"\x00\x20" + e + b"Finalize").digest()
        for x, e in zip(inputs, elements, strict=True)
    ]


# --- VOPRF (mode 1): batched evaluation with one DLEQ proof ------------------------------


def blind_evaluate_batch(
    secret_key: bytes,
    blinded_elements: Sequence[bytes],
    *,
    r: bytes | None = None,
    backend: Ristretto255 | None = None,
) -> BatchEvaluation:
    """VOPRF server: evaluate every blinded element and prove it with one DLEQ proof.

    The proof (``GenerateProof`` with ``ComputeCompositesFast``) shows that each
    ``D[i] = k * C[i]`` for the same ``k`` as ``pkS = k * G``. ``r`` is the proof's random
    scalar, drawn fresh unless given (tests only): reusing it across proofs leaks ``k``.
    """
    g = _backend(backend)
    sk = _own_scalar(secret_key, "secret key")
    _check_batch_size(len(blinded_elements), InvalidOprfMessageError)
    _peer_elements(g, blinded_elements, "blinded element")
    evaluated = tuple(g.scalar_mult(sk, c) for c in blinded_elements)
    pk = g.scalar_mult_base(sk)
    m, z = _composites(g, pk, blinded_elements, evaluated, secret_key=sk)
    nonce = g.random_scalar() if r is None else _own_scalar(r, "proof nonce r")
    t2 = g.scalar_mult_base(nonce)
    t3 = g.scalar_mult(nonce, m)
    c = _challenge(g, pk, m, z, t2, t3)
    s = g.scalar_sub(nonce, g.scalar_mul(c, sk))
    return BatchEvaluation(evaluated, c + s)


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A client's blinded batch, checked once and ready to finalize several replies (one
    per server key: a VOPRF batch asked for several epochs). ``unblinders`` are the
    inverses of the blinds: secret."""

    inputs: tuple[bytes, ...]
    blinded_elements: tuple[bytes, ...]
    unblinders: tuple[bytes, ...] = field(repr=False)


def prepare_batch(
    inputs: Sequence[bytes],
    blinds: Sequence[bytes],
    blinded_elements: Sequence[bytes],
    *,
    backend: Ristretto255 | None = None,
) -> PreparedBatch:
    """Check a client batch and invert its blinds, once for every reply to come."""
    g = _backend(backend)
    n = len(blinded_elements)
    if not len(inputs) == len(blinds) == n:
        raise OprfInputError(
            f"{len(inputs)} inputs, {len(blinds)} blinds and {n} blinded elements differ"
        )
    _check_batch_size(n, OprfInputError)
    for x in inputs:
        _check_length(x, "input")
    for i, e in enumerate(blinded_elements):
        if not g.is_valid(e):
            raise OprfInputError(f"blinded element {i} of {n} is not a valid element")
    unblinders = _batch_invert(g, [_own_scalar(b, "blind") for b in blinds])
    return PreparedBatch(tuple(inputs), tuple(blinded_elements), unblinders)


def _batch_invert(g: Ristretto255, scalars: Sequence[bytes]) -> tuple[bytes, ...]:
    """The inverses of non-zero scalars with one inversion (Montgomery's trick): prefix
    products, one ``scalar_invert``, then back; ``3(n - 1)`` multiplications, all the
    backend's own (constant-time in the native one), instead of ``n`` inversions."""
    prefix = [scalars[0]]
    for x in scalars[1:]:
        prefix.append(g.scalar_mul(prefix[-1], x))
    inverse = g.scalar_invert(prefix[-1])  # of the product of all: non-zero, L is prime
    out = [b""] * len(scalars)
    for i in range(len(scalars) - 1, 0, -1):
        out[i] = g.scalar_mul(inverse, prefix[i - 1])
        inverse = g.scalar_mul(inverse, scalars[i])
    out[0] = inverse
    return tuple(out)


def finalize_prepared(
    batch: PreparedBatch,
    evaluated_elements: Sequence[bytes],
    proof: bytes,
    public_key: bytes,
    *,
    backend: Ristretto255 | None = None,
) -> list[bytes]:
    """VOPRF client: verify one server reply to ``batch`` and unblind and hash it.

    Raises :class:`OprfVerifyError` unless the proof shows that every evaluated element
    was made with the key behind ``public_key``; no output is returned before that.
    """
    g = _backend(backend)
    n = len(batch.blinded_elements)
    if len(evaluated_elements) != n:
        raise InvalidOprfMessageError(
            f"{len(evaluated_elements)} evaluated elements for {n} blinded elements"
        )
    _peer_elements(g, evaluated_elements, "evaluated element")
    _peer_elements(g, [public_key], "server public key")
    c, s = _proof_scalars(proof)
    try:
        m, z = _composites(g, public_key, batch.blinded_elements, evaluated_elements)
        t2 = g.add(g.scalar_mult_base(s), g.scalar_mult(c, public_key))
        t3 = g.add(g.scalar_mult(s, m), g.scalar_mult(c, z))
    except (InvalidElementError, InvalidScalarError) as e:  # e.g. s = 0: cannot be honest
        raise OprfVerifyError("VOPRF proof does not verify") from e
    if not hmac.compare_digest(_challenge(g, public_key, m, z, t2, t3), c):
        raise OprfVerifyError("VOPRF proof does not verify")
    return [
        _finalize_hash(x, g.scalar_mult(u, d))
        for x, u, d in zip(batch.inputs, batch.unblinders, evaluated_elements, strict=True)
    ]


def finalize_batch(
    inputs: Sequence[bytes],
    blinds: Sequence[bytes],
    evaluated_elements: Sequence[bytes],
    blinded_elements: Sequence[bytes],
    proof: bytes,
    public_key: bytes,
    *,
    backend: Ristretto255 | None = None,
) -> list[bytes]:
    """VOPRF client: verify the server's batched proof, then unblind and hash each reply
    (:func:`prepare_batch` then :func:`finalize_prepared`).

    Raises :class:`OprfVerifyError` unless the proof shows that every evaluated element
    was made with the key behind ``public_key``; no output is returned before that.
    """
    batch = prepare_batch(inputs, blinds, blinded_elements, backend=backend)
    return finalize_prepared(batch, evaluated_elements, proof, public_key, backend=backend)


# --- One blinded batch under several keys: one composite for all of them ---------------
#
# A hit query asks the same blinded batch for every epoch of its window, each epoch under
# its own key. RFC 9497 proves each reply on its own, with a composite ``M`` that depends
# on that reply, so each proof costs both sides a pass of n scalar multiplications over
# the blinded elements. Here the weights come from one hash of the whole statement (all
# public keys, all blinded and all evaluated elements), so the composite ``M`` of the
# blinded elements is shared by every key and only ``Z_e`` is per key: the standard
# random-linear-combination batching of DLEQ statements (the seed over the complete
# statement, as in the Privacy Pass batched proof), argued sound in ADR 0008. It is a
# construction of Accord's, under its own domain separation, not an RFC 9497 function.

#: Domain of the seed, weights and challenges of :func:`blind_evaluate_multi`.
MULTI_KEY_DOMAIN = b"Accord-MultiKey-v1-" + context_string(Mode.VOPRF)
#: Most keys one multi-key batch may be proved under (framed with I2OSP(m, 2)).
MAX_KEYS = 2**16 - 1
_WEIGHT_DST = b"Weight-" + MULTI_KEY_DOMAIN
_CHALLENGE_DST = b"Challenge-" + MULTI_KEY_DOMAIN

#: How the multi-key functions run independent pieces of work: the built-in ``map``
#: (one thread), or e.g. ``ThreadPoolExecutor.map`` (the native group operations release
#: the GIL). The pieces never call the mapper themselves.
Mapper = Callable[[Callable[[Any], Any], Iterable[Any]], Iterable[Any]]
_CHUNKS = 8


class KeyedReply(NamedTuple):
    """One key's part of a multi-key reply: its public key, its evaluations, its proof."""

    public_key: bytes
    evaluated_elements: tuple[bytes, ...]
    proof: bytes


def blind_evaluate_multi(
    secret_keys: Sequence[bytes],
    blinded_elements: Sequence[bytes],
    *,
    rs: Sequence[bytes] | None = None,
    backend: Ristretto255 | None = None,
    mapper: Mapper = map,
) -> tuple[KeyedReply, ...]:
    """VOPRF server: evaluate one blinded batch under each of ``secret_keys``, with one
    DLEQ proof per key over a composite of the blinded elements that all keys share.

    Costs ``m * n`` evaluations, ``n`` scalar multiplications and additions for the
    shared composite, and a constant per key (``2 * m * n`` with an RFC 9497 proof for
    each key). ``rs`` are the proofs' nonces, fresh unless given (tests only).
    """
    g = _backend(backend)
    sks = [_own_scalar(k, "secret key") for k in secret_keys]
    _check_key_count(len(sks), OprfInputError)
    _check_batch_size(len(blinded_elements), InvalidOprfMessageError)
    _peer_elements(g, blinded_elements, "blinded element")
    if rs is not None and len(rs) != len(sks):
        raise OprfInputError(f"{len(rs)} proof nonces for {len(sks)} keys")
    cs = tuple(blinded_elements)
    spans = _spans(len(cs))

    def evaluate_span(job: tuple[int, int, int]) -> list[bytes]:
        k, a, b = job
        return [g.scalar_mult(sks[k], c) for c in cs[a:b]]

    jobs = [(k, a, b) for k in range(len(sks)) for a, b in spans]
    parts = iter(list(mapper(evaluate_span, jobs)))
    evaluated = [tuple(d for _ in spans for d in next(parts)) for _ in sks]
    pks = [g.scalar_mult_base(k) for k in sks]
    weights = _multi_weights(pks, cs, evaluated, g)
    (m,) = _combinations(g, weights, [cs], mapper)
    replies = []
    for i, (sk, pk, ds) in enumerate(zip(sks, pks, evaluated, strict=True)):
        nonce = g.random_scalar() if rs is None else _own_scalar(rs[i], "proof nonce r")
        z = g.scalar_mult(sk, m)
        t2, t3 = g.scalar_mult_base(nonce), g.scalar_mult(nonce, m)
        c = _multi_challenge(g, pk, m, z, t2, t3)
        replies.append(KeyedReply(pk, ds, c + g.scalar_sub(nonce, g.scalar_mul(c, sk))))
    return tuple(replies)


def finalize_multi(
    batch: PreparedBatch,
    replies: Sequence[KeyedReply],
    *,
    backend: Ristretto255 | None = None,
    mapper: Mapper = map,
) -> list[list[bytes]]:
    """VOPRF client: verify a :func:`blind_evaluate_multi` reply to ``batch`` and unblind
    it: the outputs per key, in the order of ``replies`` and of ``batch.inputs``.

    Raises :class:`InvalidOprfMessageError` for a malformed reply and
    :class:`OprfVerifyError` unless every key's proof verifies; nothing is unblinded
    before all of them have.
    """
    g = _backend(backend)
    n = len(batch.blinded_elements)
    _check_key_count(len(replies), InvalidOprfMessageError)
    for k, reply in enumerate(replies):
        ds = reply.evaluated_elements
        if len(ds) != n:
            raise InvalidOprfMessageError(
                f"reply {k}: {len(ds)} evaluated elements for {n} blinded elements"
            )
        if not all(isinstance(d, bytes) and len(d) == ELEMENT_SIZE for d in ds):
            raise InvalidOprfMessageError(f"reply {k}: an evaluated element is not 32 bytes")
    pks = [r.public_key for r in replies]
    _peer_elements(g, pks, "server public key")
    proofs = [_proof_scalars(r.proof) for r in replies]
    dss = [r.evaluated_elements for r in replies]
    weights = _multi_weights(pks, batch.blinded_elements, dss, g)
    try:  # also validates every evaluated element (our own blinded ones were checked)
        m, *zs = _combinations(g, weights, [batch.blinded_elements, *dss], mapper)
    except InvalidElementError:
        raise InvalidOprfMessageError(_first_invalid(g, dss)) from None
    for k, ((c, s), pk, z) in enumerate(zip(proofs, pks, zs, strict=True)):
        try:
            t2 = g.add(g.scalar_mult_base(s), g.scalar_mult(c, pk))
            t3 = g.add(g.scalar_mult(s, m), g.scalar_mult(c, z))
        except (InvalidElementError, InvalidScalarError) as e:  # e.g. s = 0: not honest
            raise OprfVerifyError(f"VOPRF proof {k} does not verify") from e
        if not hmac.compare_digest(_multi_challenge(g, pk, m, z, t2, t3), c):
            raise OprfVerifyError(f"VOPRF proof {k} does not verify")

    spans = _spans(n)

    def unblind_span(job: tuple[int, int, int]) -> list[bytes]:
        k, a, b = job
        return [
            _finalize_hash(x, g.scalar_mult(u, d))
            for x, u, d in zip(batch.inputs[a:b], batch.unblinders[a:b], dss[k][a:b], strict=True)
        ]

    parts = iter(list(mapper(unblind_span, [(k, a, b) for k in range(len(dss)) for a, b in spans])))
    return [[y for _ in spans for y in next(parts)] for _ in dss]


def _multi_weights(
    pks: Sequence[bytes],
    cs: Sequence[bytes],
    dss: Sequence[Sequence[bytes]],
    g: Ristretto255,
) -> list[bytes]:
    """The composite weights: one seed over the whole statement, then one scalar per
    position. Every element is 32 bytes and the counts lead, so the framing is exact."""
    h = hashlib.sha512(_framed(MULTI_KEY_DOMAIN) + _i2osp2(len(pks)) + _i2osp2(len(cs) - 1))
    h.update(b"".join(pks))
    h.update(b"".join(cs))
    for ds in dss:
        h.update(b"".join(ds))
    seed = _framed(h.digest())
    return [
        g.scalar_reduce(expand_message_xmd(seed + _i2osp2(i), _WEIGHT_DST, 64))
        for i in range(len(cs))
    ]


def _spans(n: int) -> list[tuple[int, int]]:
    """``[a, b)`` ranges cutting ``n`` positions into about :data:`_CHUNKS` pieces: work
    items small enough that a few threads finish together."""
    step = max(1, -(-n // _CHUNKS))
    return [(a, min(n, a + step)) for a in range(0, n, step)]


def _combinations(
    g: Ristretto255,
    weights: Sequence[bytes],
    rows: Sequence[Sequence[bytes]],
    mapper: Mapper,
) -> list[bytes]:
    """``sum(w_i * P_i)`` for each row of points, every row cut into spans that
    ``mapper`` may run side by side; an invalid point raises InvalidElementError."""
    spans = _spans(len(weights))

    def part(job: tuple[int, int, int]) -> bytes:
        r, a, b = job
        terms = (g.scalar_mult(w, p) for w, p in zip(weights[a:b], rows[r][a:b], strict=True))
        return functools.reduce(g.add, terms)

    parts: Iterator[bytes] = iter(
        list(mapper(part, [(r, a, b) for r in range(len(rows)) for a, b in spans]))
    )
    return [functools.reduce(g.add, (next(parts) for _ in spans)) for _ in rows]


def _first_invalid(g: Ristretto255, dss: Sequence[Sequence[bytes]]) -> str:
    for k, ds in enumerate(dss):
        for i, d in enumerate(ds):
            if not g.is_valid(d):
                return (
                    f"evaluated element {i} of {len(ds)} in reply {k} is not the canonical "
                    "encoding of a non-identity ristretto255 element"
                )
    return "an evaluated element is not valid"  # pragma: no cover - a zero weight


def _multi_challenge(g: Ristretto255, b: bytes, m: bytes, z: bytes, t2: bytes, t3: bytes) -> bytes:
    return g.scalar_reduce(expand_message_xmd(_framed(b, m, z, t2, t3), _CHALLENGE_DST, 64))


def _check_key_count(n: int, error: type[Exception]) -> None:
    if not 1 <= n <= MAX_KEYS:
        raise error(f"1 to {MAX_KEYS} keys, not {n}")


# --- Internals ---------------------------------------------------------------------------


def _backend(backend: Ristretto255 | None) -> Ristretto255:
    return default_backend() if backend is None else backend


def _check_length(data: bytes, what: str) -> None:
    if not isinstance(data, bytes):
        raise OprfInputError(f"{what} must be bytes")
    if len(data) > MAX_INPUT_SIZE:
        raise OprfInputError(f"{what} is {len(data)} bytes; at most {MAX_INPUT_SIZE}")


def _check_batch_size(n: int, error: type[Exception]) -> None:
    if not 1 <= n <= MAX_BATCH_SIZE:
        raise error(f"a batch has 1 to {MAX_BATCH_SIZE} elements, not {n}")


def _own_scalar(s: bytes, what: str) -> bytes:
    try:
        check_scalar(s)
    except InvalidScalarError as e:
        raise OprfInputError(f"{what}: {e}") from e
    if s == _ZERO:
        raise OprfInputError(f"{what} must not be zero")
    return s


def _peer_elements(g: Ristretto255, elements: Sequence[bytes], what: str) -> None:
    for i, e in enumerate(elements):
        if not g.is_valid(e):
            where = f" {i} of {len(elements)}" if len(elements) > 1 else ""
            raise InvalidOprfMessageError(
                f"{what}{where} is not the canonical encoding of a non-identity "
                "ristretto255 element"
            )


def _proof_scalars(proof: bytes) -> tuple[bytes, bytes]:
    if not isinstance(proof, bytes) or len(proof) != PROOF_SIZE:
        raise InvalidOprfMessageError(f"a proof is {PROOF_SIZE} bytes (c || s)")
    c, s = proof[:SCALAR_SIZE], proof[SCALAR_SIZE:]
    try:
        check_scalar(c)
        check_scalar(s)
    except InvalidScalarError as e:
        raise InvalidOprfMessageError(f"proof scalar: {e}") from e
    return c, s


def _input_element(g: Ristretto255, input: bytes, mode: Mode) -> bytes:
    element = hash_to_group(input, mode=mode, backend=g)
    # The one-way map always yields a canonical encoding: only the identity is left to
    # refuse (RFC 9497 InvalidInputError), and that is a comparison, not a decoding.
    if element == IDENTITY:
        raise OprfInputError("input hashes to the identity element")
    return element


def _finalize_hash(input: bytes, element: bytes) -> bytes:
    return hashlib.sha512(_framed(input, element) + b"Finalize").digest()


def _composites(
    g: Ristretto255,
    pk: bytes,
    cs: Sequence[bytes],
    ds: Sequence[bytes],
    *,
    secret_key: bytes | None = None,
) -> tuple[bytes, bytes]:
    """``ComputeComposites`` (client), or ``ComputeCompositesFast`` given ``secret_key``.

    Sums start from the first term rather than the identity (batches are never empty).
    """
    seed = hashlib.sha512(_framed(pk, _dst(b"Seed-", Mode.VOPRF))).digest()
    weights = [
        hash_to_scalar(
            _framed(seed) + _i2osp2(i) + _framed(c, d) + b"Composite", mode=Mode.VOPRF, backend=g
        )
        for i, (c, d) in enumerate(zip(cs, ds, strict=True))
    ]
    m = functools.reduce(g.add, (g.scalar_mult(w, c) for w, c in zip(weights, cs, strict=True)))
    if secret_key is not None:
        return m, g.scalar_mult(secret_key, m)
    z = functools.reduce(g.add, (g.scalar_mult(w, d) for w, d in zip(weights, ds, strict=True)))
    return m, z


def _challenge(g: Ristretto255, b: bytes, m: bytes, z: bytes, t2: bytes, t3: bytes) -> bytes:
    return hash_to_scalar(_framed(b, m, z, t2, t3) + b"Challenge", mode=Mode.VOPRF, backend=g)


__all__ = [
    "MAX_BATCH_SIZE",
    "MAX_INPUT_SIZE",
    "MAX_KEYS",
    "OUTPUT_SIZE",
    "PROOF_SIZE",
    "SUITE",
    "BatchEvaluation",
    "Blinded",
    "KeyPair",
    "KeyedReply",
    "Mapper",
    "Mode",
    "PreparedBatch",
    "blind",
    "blind_evaluate",
    "blind_evaluate_batch",
    "blind_evaluate_multi",
    "context_string",
    "derive_key_pair",
    "evaluate",
    "evaluate_batch",
    "expand_message_xmd",
    "finalize",
    "finalize_batch",
    "finalize_multi",
    "finalize_prepared",
    "generate_key_pair",
    "hash_to_group",
    "hash_to_scalar",
    "prepare_batch",
]
