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
