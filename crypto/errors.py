"""Errors raised by the cryptographic core.

Everything here derives from :class:`CryptoError`. Verification failures raise; nothing in
``crypto`` returns a boolean that a caller could forget to check.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class of every error raised by ``crypto``."""


class CertificateError(CryptoError):
    """A certificate could not be parsed or does not say what it must."""


class KeyEncodingError(CryptoError):
    """A key's text encoding is malformed or of the wrong kind."""


class SignatureError(CryptoError):
    """A signature does not verify under the expected key and domain."""


class EnvelopeError(CryptoError):
    """A sealed envelope is malformed, misaddressed, forged or undecryptable."""


class LabelError(CryptoError):
    """An index label does not open: wrong key, wrong entry, or tampered."""


# --- Transparency log: Merkle proofs, checkpoints, signed notes, tiles ----------------------


class TreeRangeError(CryptoError, ValueError):
    """A leaf index or tree size is outside the tree asked about (or outside u64)."""


class InvalidProofError(CryptoError):
    """A Merkle inclusion or consistency proof is malformed or does not verify."""


class InvalidCheckpointError(CryptoError):
    """A checkpoint body is malformed or not in its one canonical form."""


class EquivocationError(CryptoError):
    """Two checkpoints of one log cannot both be honest: same size with different roots.

    When both were signed by the log, the pair is proof of a split view: keep both.
    """


class InvalidNoteError(CryptoError):
    """A signed note, or a key meant to sign or verify notes, is not acceptable."""


class NoteKeyError(InvalidNoteError, KeyEncodingError):
    """A note key (vkey or skey string, name, type or length) is malformed or inconsistent."""


class UnverifiedNoteError(InvalidNoteError):
    """A well-formed note carries no signature from any key the verifier knows."""


class NoteSignatureError(InvalidNoteError, SignatureError):
    """A signature line names a known key (name and key id) but does not verify under it."""


class InvalidTileError(CryptoError):
    """A tlog-tiles path, hash tile or entry bundle is malformed."""


class AtRestError(CryptoError):
    """Data sealed at rest does not open: wrong or destroyed key, wrong record, or tampered."""


# --- Prime-order group (ristretto255) and OPRF / VOPRF (RFC 9497) ---------------------------


class BackendUnavailableError(CryptoError):
    """A ristretto255 backend cannot run here: its library, or a symbol it needs, is missing."""


class InvalidElementError(CryptoError, ValueError):
    """Bytes are not the canonical encoding of a ristretto255 element, or a group operation
    was refused because an input or its result is the identity."""


class InvalidScalarError(CryptoError, ValueError):
    """A scalar is not 32 little-endian bytes below the group order, or is zero where a
    non-zero scalar is needed (an inverse, a blind, a key)."""


class OprfError(CryptoError):
    """Base class of the RFC 9497 OPRF / VOPRF errors."""


class OprfInputError(OprfError, ValueError):
    """Our own caller's input cannot be used: too long, mismatched lengths, a bad key or blind,
    or an input that hashes to the identity (RFC 9497 ``InvalidInputError``)."""


class DeriveKeyPairError(OprfError):
    """``DeriveKeyPair`` found no non-zero key in 256 tries (RFC 9497 ``DeriveKeyPairError``)."""


class InvalidOprfMessageError(OprfError):
    """A message from the other party is malformed: an element that is not a valid non-identity
    encoding, a batch of the wrong size, or a proof that does not deserialize
    (RFC 9497 ``DeserializeError`` / ``InputValidationError``)."""


class OprfVerifyError(OprfError):
    """A well-formed VOPRF proof does not verify under the server's public key
    (RFC 9497 ``VerifyError``): the evaluations cannot be trusted."""
