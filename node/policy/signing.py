"""Signatures on agreements, revocations, and the status they imply.

Each party's admin signs the agreement's canonical bytes under the domain
``accord/agreement/v1`` (:mod:`crypto.sign`) with the key the document itself names for
that party, so a signature cannot be moved to another document or made by another key.
Either party may revoke by signing a :class:`Revocation` that names the agreement's hash.

A :class:`SignedAgreement` checks every signature it holds when it is built: an object of
this type never carries a signature that does not verify. Its status is then a pure
function of the clock::

    signed = SignedAgreement(agreement, (sig_requester, sig_responder))
    signed.status(now)  # AgreementStatus.ACTIVE within the validity period
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
from dataclasses import dataclass

from nacl.signing import SigningKey

from crypto import sign as ed25519
from crypto.canonical_json import JsonValue, dumps
from crypto.errors import SignatureError
from node.ids import NodeId
from node.policy._fields import Fields, check_time, format_time, prefixed, require_aware
from node.policy.agreement import AGREEMENT_FORMAT, Agreement, Role
from node.policy.errors import AgreementSignatureError, InvalidAgreementError

REVOCATION_FORMAT = "accord/agreement-revocation/v1"
_E = InvalidAgreementError


class AgreementStatus(enum.StrEnum):
    """Where an agreement stands at a given time."""

    PROPOSED = "proposed"  # not yet signed by both parties
    PENDING = "pending"  # signed by both, valid_from still ahead
    ACTIVE = "active"  # signed by both and within its validity period
    EXPIRED = "expired"  # valid_until has passed
    REVOKED = "revoked"  # a party revoked it


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(f: Fields, key: str, size: int) -> bytes:
    try:
        raw = base64.b64decode(f.string(key), validate=True)
    except binascii.Error:
        raise f.fail(key, "must be base64") from None
    if len(raw) != size:
        raise f.fail(key, f"must be {size} bytes")
    return raw


def _check_signer_key(agreement: Agreement, signer: NodeId, key: SigningKey) -> None:
    role = agreement.role_of(signer)
    if role is None:
        raise ValueError(f"{signer} is not a party to agreement {agreement.id}")
    if bytes(key.verify_key) != agreement.party(role).signing_key:
        raise ValueError(f"this key is not the signing key the agreement names for {signer}")


@dataclass(frozen=True, slots=True)
class AgreementSignature:
    """One party's Ed25519 signature over an agreement's canonical bytes."""

    signer: NodeId
    signature: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.signer, str) or not self.signer:
            raise _E("must be a node id", "signer")
        if not isinstance(self.signature, bytes) or len(self.signature) != ed25519.SIGNATURE_SIZE:
            raise _E(f"must be {ed25519.SIGNATURE_SIZE} bytes", "signature")

    def to_json(self) -> dict[str, JsonValue]:
        return {"signer": self.signer, "signature": _b64(self.signature)}

    @classmethod
    def from_json(cls, obj: object, path: str = "") -> AgreementSignature:
        f = Fields(obj, _E, path)
        signer = f.string("signer")
        signature = _unb64(f, "signature", ed25519.SIGNATURE_SIZE)
        f.finish()
        return cls(NodeId(signer), signature)


def sign_agreement(agreement: Agreement, signer: NodeId, key: SigningKey) -> AgreementSignature:
    """Sign ``agreement`` as party ``signer``.

    Raises ``ValueError`` if ``signer`` is not a party or ``key`` is not the key the
    agreement names for it: signing with the wrong key is the caller's mistake.
    """
    _check_signer_key(agreement, signer, key)
    return AgreementSignature(
        signer, ed25519.sign(key, AGREEMENT_FORMAT, agreement.canonical_bytes())
    )


def verify_agreement_signature(agreement: Agreement, signature: AgreementSignature) -> None:
    """Raise :class:`AgreementSignatureError` unless a party of ``agreement`` made
    ``signature`` over it with the key the agreement names."""
    role = agreement.role_of(signature.signer)
    if role is None:
        raise AgreementSignatureError(f"invalid signature on agreement {agreement.id}")
    try:
        ed25519.verify(
            agreement.party(role).signing_key,
            AGREEMENT_FORMAT,
            agreement.canonical_bytes(),
            signature.signature,
        )
    except SignatureError:
        raise AgreementSignatureError(f"invalid signature on agreement {agreement.id}") from None


@dataclass(frozen=True, slots=True)
class Revocation:
    """A party's signed statement that an agreement ends at ``revoked_at``."""

    agreement_id: str
    agreement_sha256: bytes
    revoked_at: dt.datetime
    revoked_by: NodeId
    signature: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.agreement_sha256, bytes) or len(self.agreement_sha256) != 32:
            raise _E("must be 32 bytes", "agreement_sha256")
        check_time(self.revoked_at, "revoked_at", _E)
        if not isinstance(self.signature, bytes) or len(self.signature) != ed25519.SIGNATURE_SIZE:
            raise _E(f"must be {ed25519.SIGNATURE_SIZE} bytes", "signature")

    def signed_bytes(self) -> bytes:
        """The canonical bytes the revoking admin signs (everything but the signature)."""
        return _revocation_body(
            self.agreement_id, self.agreement_sha256, self.revoked_at, self.revoked_by
        )

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "format": REVOCATION_FORMAT,
            "agreement_id": self.agreement_id,
            "agreement_sha256": self.agreement_sha256.hex(),
            "revoked_at": format_time(self.revoked_at),
            "revoked_by": self.revoked_by,
            "signature": _b64(self.signature),
        }

    @classmethod
    def from_json(cls, obj: object, path: str = "") -> Revocation:
        f = Fields(obj, _E, path)
        if f.string("format") != REVOCATION_FORMAT:
            raise f.fail("format", f"must be {REVOCATION_FORMAT!r}")
        agreement_id = f.string("agreement_id")
        digest_hex = f.string("agreement_sha256")
        revoked_at, revoked_by = f.time("revoked_at"), f.string("revoked_by")
        signature = _unb64(f, "signature", ed25519.SIGNATURE_SIZE)
        f.finish()
        if len(digest_hex) != 64 or digest_hex != digest_hex.lower():
            raise f.fail("agreement_sha256", "must be 64 lower-case hex digits")
        try:
            digest = bytes.fromhex(digest_hex)
        except ValueError:
            raise f.fail("agreement_sha256", "must be 64 lower-case hex digits") from None
        return cls(agreement_id, digest, revoked_at, NodeId(revoked_by), signature)


def _revocation_body(
    agreement_id: str, digest: bytes, revoked_at: dt.datetime, revoked_by: str
) -> bytes:
    return dumps(
        {
            "format": REVOCATION_FORMAT,
            "agreement_id": agreement_id,
            "agreement_sha256": digest.hex(),
            "revoked_at": format_time(revoked_at),
            "revoked_by": revoked_by,
        }
    )


def revoke_agreement(
    agreement: Agreement, by: NodeId, key: SigningKey, at: dt.datetime
) -> Revocation:
    """Revoke ``agreement`` as party ``by``, effective at ``at`` (whole seconds, aware)."""
    _check_signer_key(agreement, by, key)
    check_time(at, "revoked_at", _E)
    digest = agreement.digest()
    body = _revocation_body(agreement.id, digest, at, by)
    return Revocation(agreement.id, digest, at, by, ed25519.sign(key, REVOCATION_FORMAT, body))


def verify_revocation(agreement: Agreement, revocation: Revocation) -> None:
    """Raise :class:`AgreementSignatureError` unless a party of ``agreement`` signed
    ``revocation`` for exactly this agreement."""
    role = agreement.role_of(revocation.revoked_by)
    if (
        role is None
        or revocation.agreement_id != agreement.id
        or revocation.agreement_sha256 != agreement.digest()
    ):
        raise AgreementSignatureError(f"invalid revocation of agreement {agreement.id}")
    try:
        ed25519.verify(
            agreement.party(role).signing_key,
            REVOCATION_FORMAT,
            revocation.signed_bytes(),
            revocation.signature,
        )
    except SignatureError:
        raise AgreementSignatureError(f"invalid revocation of agreement {agreement.id}") from None


@dataclass(frozen=True, slots=True)
class SignedAgreement:
    """An agreement with the signatures (and perhaps the revocation) collected so far.

    Construction verifies everything it is given and raises
    :class:`AgreementSignatureError` on any signature that does not verify, and
    :class:`InvalidAgreementError` on two signatures from the same party.
    """

    agreement: Agreement
    signatures: tuple[AgreementSignature, ...] = ()
    revocation: Revocation | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.agreement, Agreement):
            raise _E("must be an Agreement", "agreement")
        signers = [s.signer for s in self.signatures]
        if len(set(signers)) != len(signers):
            raise _E("a party signed twice", "signatures")
        for signature in self.signatures:
            verify_agreement_signature(self.agreement, signature)
        if self.revocation is not None:
            verify_revocation(self.agreement, self.revocation)

    def signed_by(self, role: Role) -> bool:
        node_id = self.agreement.party(role).node_id
        return any(s.signer == node_id for s in self.signatures)

    @property
    def fully_signed(self) -> bool:
        return all(self.signed_by(role) for role in Role)

    def with_signature(self, signature: AgreementSignature) -> SignedAgreement:
        """This agreement with one more (verified) signature."""
        return SignedAgreement(self.agreement, (*self.signatures, signature), self.revocation)

    def with_revocation(self, revocation: Revocation) -> SignedAgreement:
        """This agreement, revoked (the revocation is verified)."""
        if self.revocation is not None:
            raise ValueError(f"agreement {self.agreement.id} is already revoked")
        return SignedAgreement(self.agreement, self.signatures, revocation)

    def status(self, now: dt.datetime) -> AgreementStatus:
        """The status at ``now``: revoked, expired, proposed, pending or active, in that
        order of precedence."""
        require_aware(now)
        if self.revocation is not None and now >= self.revocation.revoked_at:
            return AgreementStatus.REVOKED
        if self.agreement.expired(now):
            return AgreementStatus.EXPIRED
        if not self.fully_signed:
            return AgreementStatus.PROPOSED
        if not self.agreement.started(now):
            return AgreementStatus.PENDING
        return AgreementStatus.ACTIVE

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "agreement": self.agreement.to_json(),
            "signatures": [s.to_json() for s in sorted(self.signatures, key=lambda s: s.signer)],
            "revocation": None if self.revocation is None else self.revocation.to_json(),
        }

    @classmethod
    def from_json(cls, obj: object) -> SignedAgreement:
        """Parse and verify; raises :class:`InvalidAgreementError` or
        :class:`AgreementSignatureError`."""
        f = Fields(obj, _E)
        with prefixed("agreement"):
            agreement = Agreement.from_json(f.value("agreement"))
        signatures = tuple(
            AgreementSignature.from_json(item, f"signatures[{i}]")
            for i, item in enumerate(f.array("signatures", max_items=len(Role)))
        )
        revocation_obj = f.value("revocation")
        f.finish()
        revocation = (
            None if revocation_obj is None else Revocation.from_json(revocation_obj, "revocation")
        )
        return cls(agreement, signatures, revocation)
