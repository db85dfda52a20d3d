"""The ristretto255 prime-order group (RFC 9496), behind one small interface, two backends.

The OPRF (``crypto.oprf``) needs a prime-order group: Curve25519 has cofactor 8, and a
protocol run on raw Edwards points can be fooled by low-order points. ristretto255 is the
quotient group with a canonical 32-byte encoding, so every element has exactly one
encoding and decoding *is* validation. Everything here speaks in encodings (32 bytes) and
scalars (32 bytes, little-endian, below the group order ``L``); nothing else leaks out.

Two interchangeable backends implement :class:`Ristretto255`:

* :class:`NativeRistretto255` binds the system libsodium (``crypto_core_ristretto255_*``,
  ``crypto_scalarmult_ristretto255*``) with ctypes: fast and constant-time.
* :class:`PortableRistretto255` needs only pip-installed PyNaCl. Scalar multiplication is
  done by libsodium on an Edwards representative; encoding, decoding, addition and the
  one-way map are RFC 9496 / RFC 8032 written in Python integers, which is **not**
  constant-time. It is the fallback where no system libsodium exists, and the independent
  check of the native one.

Use::

    group = default_backend()                   # native if libsodium is there, else portable
    h = group.from_uniform(hashlib.sha512(b"x").digest())
    k = group.random_scalar()
    assert group.scalar_mult(group.scalar_invert(k), group.scalar_mult(k, h)) == h

Every decoding rejects non-canonical encodings and invalid points (they come from peers),
and ``scalar_mult`` refuses the identity, as input and as result: a caller never holds it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from collections.abc import Callable, Sequence
from typing import Protocol, cast

import nacl.bindings as sodium
import nacl.exceptions

from crypto.errors import BackendUnavailableError, InvalidElementError, InvalidScalarError

ELEMENT_SIZE = 32
SCALAR_SIZE = 32
UNIFORM_SIZE = 64
#: The order of the group (and of the Curve25519 prime-order subgroup).
L = 2**252 + 27742317777372353535851937790883648493
IDENTITY = bytes(ELEMENT_SIZE)
GENERATOR = bytes.fromhex("e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76")


class Ristretto255(Protocol):
    """What the OPRF needs from ristretto255. Elements are canonical 32-byte encodings.

    ``scalar_mult`` and ``scalar_mult_base`` MUST raise :class:`InvalidElementError` for
    an invalid or identity input element and for an identity result; ``add`` and ``sub``
    accept the identity (all-zero encoding) and may return it. Scalars MUST be below ``L``
    (:class:`InvalidScalarError` otherwise).
    """

    name: str

    def from_uniform(self, b64: bytes) -> bytes:
        """The RFC 9496 one-way map of 64 uniform bytes (libsodium ``from_hash``)."""
        ...

    def scalar_mult(self, scalar: bytes, element: bytes) -> bytes: ...
    def scalar_mult_uniform(self, scalar: bytes, uniforms: Sequence[bytes]) -> list[bytes]:
        """``scalar * from_uniform(u)`` for each ``u``: a server's own batch of inputs.

        The map's output needs no decoding check (the map made it), so this is one call
        per step and no validation; :class:`InvalidElementError` if an input maps to the
        identity (or the scalar is zero).
        """
        ...

    def scalar_mult_base(self, scalar: bytes) -> bytes: ...
    def add(self, a: bytes, b: bytes) -> bytes: ...
    def sub(self, a: bytes, b: bytes) -> bytes: ...
    def is_valid(self, element: bytes) -> bool:
        """True only for the canonical encoding of a valid element other than the identity."""
        ...

    def scalar_reduce(self, b64: bytes) -> bytes:
        """64 little-endian bytes, reduced mod ``L``."""
        ...

    def scalar_invert(self, s: bytes) -> bytes: ...
    def scalar_mul(self, a: bytes, b: bytes) -> bytes: ...
    def scalar_add(self, a: bytes, b: bytes) -> bytes: ...
    def scalar_sub(self, a: bytes, b: bytes) -> bytes: ...
    def random_scalar(self) -> bytes:
        """A uniformly random scalar in ``[1, L-1]``."""
        ...


def check_scalar(s: bytes) -> bytes:
    """Return ``s`` if it is a canonical scalar (32 bytes, little-endian, below ``L``)."""
    if not isinstance(s, bytes) or len(s) != SCALAR_SIZE:
        raise InvalidScalarError(f"a scalar is {SCALAR_SIZE} bytes")
    if int.from_bytes(s, "little") >= L:
        raise InvalidScalarError("scalar is not reduced below the group order")
    return s


def _check_len(b: bytes, n: int, what: str) -> None:
    if not isinstance(b, bytes) or len(b) != n:
        raise InvalidElementError(f"{what} must be {n} bytes")


def _check_top_bit(element: bytes) -> None:
    # libsodium 1.0.18 (Debian 12's libsodium23) masks the top bit while decoding, so it
    # accepts a second encoding of half the elements; RFC 9496 4.3.1 says reject it.
    if element[31] & 0x80:
        raise InvalidElementError("not the canonical encoding of a ristretto255 element")


# --- Native: the system libsodium through ctypes ------------------------------------------

_Fn = Callable[..., int]
_VoidFn = Callable[..., None]
_SONAMES = ("libsodium.so.23", "libsodium.so.26", "libsodium.so", "libsodium.dylib")


class NativeRistretto255:
    """ristretto255 from the system libsodium (>= 1.0.18), called through ctypes.

    Raises :class:`BackendUnavailableError` when the library or a symbol is missing, so
    that :func:`default_backend` can fall back to :class:`PortableRistretto255`::

        group = NativeRistretto255()            # or NativeRistretto255("/opt/lib/libsodium.so")
    """

    name = "native-libsodium"

    def __init__(self, library: str | None = None) -> None:
        candidates = [library] if library else [ctypes.util.find_library("sodium"), *_SONAMES]
        lib: ctypes.CDLL | None = None
        for cand in candidates:
            if not cand:
                continue
            try:
                lib = ctypes.CDLL(cand)
                break
            except OSError:
                continue
        if lib is None:
            raise BackendUnavailableError(
                "libsodium not found (tried: " + ", ".join(c for c in candidates if c) + ")"
            )
        self.library = str(lib._name)
        if self._fn(lib, "sodium_init", 0)() < 0:
            raise BackendUnavailableError("sodium_init() failed")
        self._from_hash = self._fn(lib, "crypto_core_ristretto255_from_hash", 2)
        self._is_valid = self._fn(lib, "crypto_core_ristretto255_is_valid_point", 1)
        self._add = self._fn(lib, "crypto_core_ristretto255_add", 3)
        self._sub = self._fn(lib, "crypto_core_ristretto255_sub", 3)
        self._smult = self._fn(lib, "crypto_scalarmult_ristretto255", 3)
        self._smult_base = self._fn(lib, "crypto_scalarmult_ristretto255_base", 2)
        self._invert = self._fn(lib, "crypto_core_ristretto255_scalar_invert", 2)
        self._reduce = self._void(lib, "crypto_core_ristretto255_scalar_reduce", 2)
        self._mul = self._void(lib, "crypto_core_ristretto255_scalar_mul", 3)
        self._sadd = self._void(lib, "crypto_core_ristretto255_scalar_add", 3)
        self._ssub = self._void(lib, "crypto_core_ristretto255_scalar_sub", 3)
        self._random = self._void(lib, "crypto_core_ristretto255_scalar_random", 1)

    @staticmethod
    def _symbol(lib: ctypes.CDLL, name: str, nargs: int) -> ctypes._NamedFuncPointer:
        try:
            fn = lib[name]
        except AttributeError as e:
            raise BackendUnavailableError(f"{lib._name} has no {name} (need >= 1.0.18)") from e
        fn.argtypes = [ctypes.c_char_p] * nargs
        return fn

    @classmethod
    def _fn(cls, lib: ctypes.CDLL, name: str, nargs: int) -> _Fn:
        fn = cls._symbol(lib, name, nargs)
        fn.restype = ctypes.c_int
        return cast(_Fn, fn)

    @classmethod
    def _void(cls, lib: ctypes.CDLL, name: str, nargs: int) -> _VoidFn:
        fn = cls._symbol(lib, name, nargs)
        fn.restype = None
        return cast(_VoidFn, fn)

    def from_uniform(self, b64: bytes) -> bytes:
        _check_len(b64, UNIFORM_SIZE, "uniform input")
        out = ctypes.create_string_buffer(ELEMENT_SIZE)
        self._from_hash(out, b64)
        return out.raw

    def is_valid(self, element: bytes) -> bool:
        return (
            isinstance(element, bytes)
            and len(element) == ELEMENT_SIZE
            and not element[31] & 0x80
            and element != IDENTITY
            and self._is_valid(element) == 1
        )

    def _binary(self, fn: _Fn, a: bytes, b: bytes) -> bytes:
        for e in (a, b):
            _check_len(e, ELEMENT_SIZE, "an element")
            _check_top_bit(e)
        out = ctypes.create_string_buffer(ELEMENT_SIZE)
        if fn(out, a, b) != 0:
            raise InvalidElementError("not the canonical encoding of a ristretto255 element")
        return out.raw

    def add(self, a: bytes, b: bytes) -> bytes:
        return self._binary(self._add, a, b)

    def sub(self, a: bytes, b: bytes) -> bytes:
        return self._binary(self._sub, a, b)

    def scalar_mult(self, scalar: bytes, element: bytes) -> bytes:
        # libsodium decodes (and so validates) the element itself and fails on an identity
        # result, which for a non-zero scalar means an identity input: checking it here
        # too would decode every element twice. Only the top bit is ours to check.
        check_scalar(scalar)
        _check_len(element, ELEMENT_SIZE, "an element")
        _check_top_bit(element)
        out = ctypes.create_string_buffer(ELEMENT_SIZE)
        if self._smult(out, scalar, element) != 0:
            if element == IDENTITY or self._is_valid(element) != 1:
                raise InvalidElementError("not a valid non-identity ristretto255 element")
            raise InvalidElementError("scalar multiplication gives the identity")
        return out.raw

    def scalar_mult_uniform(self, scalar: bytes, uniforms: Sequence[bytes]) -> list[bytes]:
        check_scalar(scalar)
        for u in uniforms:
            _check_len(u, UNIFORM_SIZE, "uniform input")
        # Two buffers for the whole batch (this call's own: the backend is shared by
        # threads), bound methods looked up once: the loop is two library calls a step.
        point, out = ctypes.create_string_buffer(ELEMENT_SIZE), ctypes.create_string_buffer(32)
        from_hash, smult = self._from_hash, self._smult
        results: list[bytes] = []
        append = results.append
        for u in uniforms:
            from_hash(point, u)
            if smult(out, scalar, point) != 0:
                raise InvalidElementError("scalar multiplication gives the identity")
            append(out.raw)
        return results

    def scalar_mult_base(self, scalar: bytes) -> bytes:
        check_scalar(scalar)
        out = ctypes.create_string_buffer(ELEMENT_SIZE)
        if self._smult_base(out, scalar) != 0:
            raise InvalidElementError("scalar multiplication gives the identity")
        return out.raw

    def scalar_reduce(self, b64: bytes) -> bytes:
        if not isinstance(b64, bytes) or len(b64) != UNIFORM_SIZE:
            raise InvalidScalarError(f"scalar_reduce takes {UNIFORM_SIZE} bytes")
        out = ctypes.create_string_buffer(SCALAR_SIZE)
        self._reduce(out, b64)
        return out.raw

    def scalar_invert(self, s: bytes) -> bytes:
        check_scalar(s)
        out = ctypes.create_string_buffer(SCALAR_SIZE)
        if self._invert(out, s) != 0:
            raise InvalidScalarError("zero has no inverse")
        return out.raw

    def _scalar_op(self, fn: _VoidFn, a: bytes, b: bytes) -> bytes:
        check_scalar(a)
        check_scalar(b)
        out = ctypes.create_string_buffer(SCALAR_SIZE)
        fn(out, a, b)
        return out.raw

    def scalar_mul(self, a: bytes, b: bytes) -> bytes:
        return self._scalar_op(self._mul, a, b)

    def scalar_add(self, a: bytes, b: bytes) -> bytes:
        return self._scalar_op(self._sadd, a, b)

    def scalar_sub(self, a: bytes, b: bytes) -> bytes:
        return self._scalar_op(self._ssub, a, b)

    def random_scalar(self) -> bytes:
        out = ctypes.create_string_buffer(SCALAR_SIZE)
        while True:
            self._random(out)
            if out.raw != bytes(SCALAR_SIZE):
                return out.raw


# --- Portable: RFC 9496 in Python integers + PyNaCl's edwards25519 ------------------------

_P = 2**255 - 19
_D = 37095705934669439343138083508754565189542113879843219016388785533085940283555
_SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752
_SQRT_AD_MINUS_ONE = 25063068953384623474111414158702152701244531502492656460079210482610430750235
_INVSQRT_A_MINUS_D = 54469307008909316920995813868745141605393597292927456921205312896311721017578
_ONE_MINUS_D_SQ = 1159843021668779879193775521855586647937357759715417654439879720876111806838
_D_MINUS_ONE_SQ = 40440834346308536858101042469323190826248399146238708352240133220865137265952
_INV8 = pow(8, -1, L)

_Point = tuple[int, int, int, int]  # extended coordinates (X : Y : Z : T), x = X/Z, xy = T/Z


def _abs(x: int) -> int:
    """CT_ABS of RFC 9496 (not constant-time here): the non-negative (even) one of +-x."""
    return _P - x if x & 1 else x


def sqrt_ratio_m1(u: int, v: int) -> tuple[bool, int]:
    """RFC 9496 SQRT_RATIO_M1: (True, +sqrt(u/v)) or (False, +sqrt(SQRT_M1*u/v))."""
    v3 = v * v % _P * v % _P
    v7 = v3 * v3 % _P * v % _P
    r = u * v3 % _P * pow(u * v7 % _P, (_P - 5) // 8, _P) % _P
    check = v * r % _P * r % _P
    u = u % _P
    correct = check == u
    flipped = check == -u % _P
    flipped_i = check == -u * _SQRT_M1 % _P
    if flipped or flipped_i:
        r = r * _SQRT_M1 % _P
    return correct or flipped, _abs(r)


def _decode(b: bytes) -> _Point:
    """RFC 9496 Decode (4.3.1): rejects non-canonical, negative and invalid encodings."""
    _check_len(b, ELEMENT_SIZE, "an element")
    s = int.from_bytes(b, "little")
    if s >= _P or s & 1:
        raise InvalidElementError("not the canonical encoding of a ristretto255 element")
    ss = s * s % _P
    u1 = (1 - ss) % _P
    u2 = (1 + ss) % _P
    u2_sqr = u2 * u2 % _P
    v = (-(_D * u1 % _P * u1) - u2_sqr) % _P
    was_square, invsqrt = sqrt_ratio_m1(1, v * u2_sqr % _P)
    den_x = invsqrt * u2 % _P
    den_y = invsqrt * den_x % _P * v % _P
    x = _abs(2 * s * den_x % _P)
    y = u1 * den_y % _P
    t = x * y % _P
    if not was_square or t & 1 or y == 0:
        raise InvalidElementError("not the canonical encoding of a ristretto255 element")
    return x, y, 1, t


def _encode(p: _Point) -> bytes:
    """RFC 9496 Encode (4.3.2): the one encoding of any representative of the element."""
    x0, y0, z0, t0 = p
    u1 = (z0 + y0) * (z0 - y0) % _P
    u2 = x0 * y0 % _P
    _, invsqrt = sqrt_ratio_m1(1, u1 * u2 % _P * u2 % _P)
    den1 = invsqrt * u1 % _P
    den2 = invsqrt * u2 % _P
    z_inv = den1 * den2 % _P * t0 % _P
    if t0 * z_inv % _P & 1:  # rotate
        x, y, den_inv = y0 * _SQRT_M1 % _P, x0 * _SQRT_M1 % _P, den1 * _INVSQRT_A_MINUS_D % _P
    else:
        x, y, den_inv = x0, y0, den2
    if x * z_inv % _P & 1:
        y = -y % _P
    return _abs(den_inv * (z0 - y) % _P).to_bytes(ELEMENT_SIZE, "little")


def _map(b32: bytes) -> _Point:
    """RFC 9496 MAP (4.3.4), the Elligator step of the one-way map."""
    t = int.from_bytes(b32, "little") % 2**255 % _P
    r = _SQRT_M1 * t % _P * t % _P
    u = (r + 1) * _ONE_MINUS_D_SQ % _P
    v = (-1 - r * _D) * (r + _D) % _P
    was_square, s = sqrt_ratio_m1(u, v)
    c = -1 if was_square else r
    if not was_square:
        s = -_abs(s * t % _P) % _P
    n = (c * (r - 1) % _P * _D_MINUS_ONE_SQ - v) % _P
    w0 = 2 * s * v % _P
    w1 = n * _SQRT_AD_MINUS_ONE % _P
    w2 = (1 - s * s) % _P
    w3 = (1 + s * s) % _P
    return w0 * w3 % _P, w2 * w1 % _P, w1 * w3 % _P, w0 * w2 % _P


def _edwards_add(p: _Point, q: _Point) -> _Point:
    """Extended-coordinate addition on -x^2 + y^2 = 1 + d x^2 y^2 (RFC 8032 5.1.4)."""
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = 2 * _D * t1 % _P * t2 % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def _to_edwards(p: _Point) -> bytes:
    """The edwards25519 (RFC 8032) encoding of a decoded (affine, z = 1) representative."""
    x, y, _, _ = p
    return (y | (x & 1) << 255).to_bytes(32, "little")


def _from_edwards(b: bytes) -> _Point:
    """Decompress an edwards25519 encoding that libsodium produced."""
    v = int.from_bytes(b, "little")
    y, sign = v & (2**255 - 1), v >> 255
    ok, x = sqrt_ratio_m1((y * y - 1) % _P, (_D * y % _P * y + 1) % _P)
    if y >= _P or not ok or (x == 0 and sign):
        raise InvalidElementError("libsodium returned an invalid edwards25519 point")
    if sign:
        x = _P - x
    return x, y, 1, x * y % _P


class PortableRistretto255:
    """ristretto255 with nothing but PyNaCl: RFC 9496 in Python, scalar mults in libsodium.

    libsodium's ``crypto_scalarmult_ed25519_noclamp`` refuses any point outside the
    prime-order subgroup, but the Edwards representative that Decode returns may carry a
    4-torsion component (it is only defined up to E[4]). ``scalar_mult`` therefore computes
    ``(k / 8) * (8 * P)``: three doublings (``crypto_core_ed25519_add``, which accepts any
    curve point) kill the torsion, and ``8 * P`` has the same prime-order part times 8.
    Variable-time Python field arithmetic: prefer :class:`NativeRistretto255` for secrets.
    """

    name = "portable-pynacl"

    def __init__(self) -> None:
        if not (sodium.has_crypto_core_ed25519 and sodium.has_crypto_scalarmult_ed25519):
            raise BackendUnavailableError("PyNaCl was built without the edwards25519 core")

    def from_uniform(self, b64: bytes) -> bytes:
        _check_len(b64, UNIFORM_SIZE, "uniform input")
        return _encode(_edwards_add(_map(b64[:32]), _map(b64[32:])))

    def is_valid(self, element: bytes) -> bool:
        if not isinstance(element, bytes) or len(element) != ELEMENT_SIZE or element == IDENTITY:
            return False
        try:
            _decode(element)
        except InvalidElementError:
            return False
        return True

    # add and sub stay in Python: libsodium's sum would come back compressed, and
    # decompressing it costs a square root, more than the whole addition here.
    def add(self, a: bytes, b: bytes) -> bytes:
        return _encode(_edwards_add(_decode(a), _decode(b)))

    def sub(self, a: bytes, b: bytes) -> bytes:
        x, y, z, t = _decode(b)
        return _encode(_edwards_add(_decode(a), (-x % _P, y, z, -t % _P)))

    def scalar_mult(self, scalar: bytes, element: bytes) -> bytes:
        k = int.from_bytes(check_scalar(scalar), "little")
        if element == IDENTITY:
            raise InvalidElementError("not a valid non-identity ristretto255 element")
        p = _to_edwards(_decode(element))
        for _ in range(3):
            p = sodium.crypto_core_ed25519_add(p, p)
        k8 = (k * _INV8 % L).to_bytes(SCALAR_SIZE, "little")
        try:
            q = sodium.crypto_scalarmult_ed25519_noclamp(k8, p)
        except nacl.exceptions.RuntimeError as e:  # zero scalar: the identity
            raise InvalidElementError("scalar multiplication gives the identity") from e
        return _encode(_from_edwards(q))

    def scalar_mult_uniform(self, scalar: bytes, uniforms: Sequence[bytes]) -> list[bytes]:
        return [self.scalar_mult(scalar, self.from_uniform(u)) for u in uniforms]

    def scalar_mult_base(self, scalar: bytes) -> bytes:
        check_scalar(scalar)
        try:
            q = sodium.crypto_scalarmult_ed25519_base_noclamp(scalar)
        except nacl.exceptions.RuntimeError as e:
            raise InvalidElementError("scalar multiplication gives the identity") from e
        return _encode(_from_edwards(q))

    def scalar_reduce(self, b64: bytes) -> bytes:
        if not isinstance(b64, bytes) or len(b64) != UNIFORM_SIZE:
            raise InvalidScalarError(f"scalar_reduce takes {UNIFORM_SIZE} bytes")
        return bytes(sodium.crypto_core_ed25519_scalar_reduce(b64))

    def scalar_invert(self, s: bytes) -> bytes:
        if check_scalar(s) == bytes(SCALAR_SIZE):
            raise InvalidScalarError("zero has no inverse")
        return bytes(sodium.crypto_core_ed25519_scalar_invert(s))

    def scalar_mul(self, a: bytes, b: bytes) -> bytes:
        return bytes(sodium.crypto_core_ed25519_scalar_mul(check_scalar(a), check_scalar(b)))

    def scalar_add(self, a: bytes, b: bytes) -> bytes:
        return bytes(sodium.crypto_core_ed25519_scalar_add(check_scalar(a), check_scalar(b)))

    def scalar_sub(self, a: bytes, b: bytes) -> bytes:
        return bytes(sodium.crypto_core_ed25519_scalar_sub(check_scalar(a), check_scalar(b)))

    def random_scalar(self) -> bytes:
        while True:
            s = self.scalar_reduce(os.urandom(UNIFORM_SIZE))
            if s != bytes(SCALAR_SIZE):
                return s


@functools.cache
def default_backend() -> Ristretto255:
    """The native backend when the system libsodium has ristretto255, else the portable one."""
    try:
        return NativeRistretto255()
    except BackendUnavailableError:
        return PortableRistretto255()
