"""Agreements as this node holds them, their signatures, and the per-epoch OPRF keys.

The document itself is opaque here: ``node.policy`` encodes, signs and checks it; the
store keeps its canonical bytes, its digest (what both ledgers record) and where it
stands in its life cycle::

    proposed --> active --> revoked | expired | superseded (by an amended version)
        \\-----> rejected | expired

At most one version of an agreement is active (a unique partial index); activating a
version supersedes the one in force.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from node.ids import AgreementId, Epoch, NodeId
from node.store.db import rowcount, translate_errors
from node.store.errors import ConstraintViolationError, InvalidTransitionError, NotFoundError
from node.store.models import (
    AgreementRow,
    AgreementSignatureRow,
    AgreementVersionRow,
    OprfEpochKeyRow,
)

ROLES = ("requester", "responder")


class AgreementStatus(enum.StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


#: Status -> the statuses it may move to. Anything else is :class:`InvalidTransitionError`.
TRANSITIONS: dict[AgreementStatus, frozenset[AgreementStatus]] = {
    AgreementStatus.PROPOSED: frozenset(
        {AgreementStatus.ACTIVE, AgreementStatus.REJECTED, AgreementStatus.EXPIRED}
    ),
    AgreementStatus.ACTIVE: frozenset(
        {AgreementStatus.REVOKED, AgreementStatus.EXPIRED, AgreementStatus.SUPERSEDED}
    ),
}


@dataclass(frozen=True, slots=True)
class AgreementSignature:
    """One party's Ed25519 signature over the agreement's canonical bytes."""

    role: str
    signer_key: bytes
    signature: bytes
    signed_at: dt.datetime

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if len(self.signer_key) != 32 or len(self.signature) != 64:
            raise ValueError("an Ed25519 signature is 64 bytes under a 32-byte key")


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredAgreement:
    """One version of an agreement. ``role`` is the part this node plays in it."""

    id: AgreementId
    version: int
    peer_id: NodeId
    role: str
    document: bytes
    digest: bytes
    status: AgreementStatus
    valid_from: dt.datetime
    valid_until: dt.datetime
    created: dt.datetime
    status_changed: dt.datetime
    signatures: tuple[AgreementSignature, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class OprfEpochKey:
    """The responder's VOPRF key for one agreement and epoch; ``secret`` is ``None`` once
    destroyed, the public key (committed in the ledger) stays."""

    agreement_id: AgreementId
    epoch: Epoch
    secret: bytes | None
    public_key: bytes
    created: dt.datetime
    destroyed_at: dt.datetime | None


class AgreementRepository:
    """Agreement versions, signatures and status."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add_version(
        self,
        *,
        agreement_id: AgreementId,
        version: int,
        peer_id: NodeId,
        role: str,
        document: bytes,
        digest: bytes,
        valid_from: dt.datetime,
        valid_until: dt.datetime,
        now: dt.datetime,
    ) -> StoredAgreement:
        """Store a proposed version. The first version fixes the peer and our role; later
        versions must agree and be numbered higher. :class:`DuplicateError` for a known
        version or digest."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        with translate_errors(self._session):
            agreement = self._session.get(AgreementRow, agreement_id)
            if agreement is None:
                agreement = AgreementRow(id=agreement_id, peer_id=peer_id, role=role, created=now)
                self._session.add(agreement)
            elif (agreement.peer_id, agreement.role) != (peer_id, role):
                raise ConstraintViolationError(
                    f"agreement {agreement_id} is with {agreement.peer_id} as "
                    f"{agreement.role}; a new version cannot change that"
                )
            else:
                latest = self._latest_version(agreement_id)
                if latest is not None and version <= latest:
                    raise ConstraintViolationError(
                        f"agreement {agreement_id} is at version {latest}; "
                        f"version {version} must be higher"
                    )
            self._session.add(
                AgreementVersionRow(
                    agreement_id=agreement_id,
                    version=version,
                    document=document,
                    digest=digest,
                    status=AgreementStatus.PROPOSED.value,
                    valid_from=valid_from,
                    valid_until=valid_until,
                    created=now,
                    status_changed=now,
                )
            )
            self._session.flush()
        found = self.get(agreement_id, version)
        assert found is not None
        return found

    def _latest_version(self, agreement_id: AgreementId) -> int | None:
        stmt = (
            select(AgreementVersionRow.version)
            .where(AgreementVersionRow.agreement_id == agreement_id)
            .order_by(AgreementVersionRow.version.desc())
            .limit(1)
        )
        return self._session.scalar(stmt)

    def add_signature(
        self, agreement_id: AgreementId, version: int, signature: AgreementSignature
    ) -> None:
        """Record a party's signature. :class:`DuplicateError` if that party signed already."""
        with translate_errors(self._session):
            self._session.add(
                AgreementSignatureRow(
                    agreement_id=agreement_id,
                    version=version,
                    role=signature.role,
                    signer_key=signature.signer_key,
                    signature=signature.signature,
                    signed_at=signature.signed_at,
                )
            )
            self._session.flush()

    def set_status(
        self,
        agreement_id: AgreementId,
        version: int,
        status: AgreementStatus,
        *,
        now: dt.datetime,
    ) -> StoredAgreement:
        """Move a version along its life cycle (see :data:`TRANSITIONS`).

        Activating a version supersedes the version in force, in the same transaction.
        The check and the change are one conditional UPDATE, safe against a concurrent
        change of the same row.
        """
        allowed_from = [s.value for s, to in TRANSITIONS.items() if status in to]
        with translate_errors(self._session):
            if status is AgreementStatus.ACTIVE:
                self._session.execute(
                    update(AgreementVersionRow)
                    .where(AgreementVersionRow.agreement_id == agreement_id)
                    .where(AgreementVersionRow.version < version)
                    .where(AgreementVersionRow.status == AgreementStatus.ACTIVE.value)
                    .values(status=AgreementStatus.SUPERSEDED.value, status_changed=now),
                    execution_options={"synchronize_session": False},
                )
            result = self._session.execute(
                update(AgreementVersionRow)
                .where(AgreementVersionRow.agreement_id == agreement_id)
                .where(AgreementVersionRow.version == version)
                .where(AgreementVersionRow.status.in_(allowed_from))
                .values(status=status.value, status_changed=now),
                execution_options={"synchronize_session": False},
            )
        if rowcount(result) == 0:
            current = self.get(agreement_id, version)
            if current is None:
                raise NotFoundError(f"no agreement {agreement_id} version {version}")
            raise InvalidTransitionError(
                f"agreement {agreement_id} version {version} is {current.status}; "
                f"it cannot become {status}"
            )
        found = self.get(agreement_id, version)
        assert found is not None
        return found

    def get(self, agreement_id: AgreementId, version: int | None = None) -> StoredAgreement | None:
        """A version of an agreement; the latest when ``version`` is ``None``."""
        criteria = [AgreementVersionRow.agreement_id == agreement_id]
        if version is not None:
            criteria.append(AgreementVersionRow.version == version)
        found = self._load(*criteria)
        return found[-1] if found else None

    def in_force(self, agreement_id: AgreementId) -> StoredAgreement | None:
        """The active version of an agreement, if any (validity dates are policy's check)."""
        found = self._load(
            AgreementVersionRow.agreement_id == agreement_id,
            AgreementVersionRow.status == AgreementStatus.ACTIVE.value,
        )
        return found[0] if found else None

    def by_digest(self, digest: bytes) -> StoredAgreement | None:
        found = self._load(AgreementVersionRow.digest == digest)
        return found[0] if found else None

    def find(
        self, *, status: AgreementStatus | None = None, peer_id: NodeId | None = None
    ) -> list[StoredAgreement]:
        """Every version matching the filters, by agreement id and version."""
        criteria: list[ColumnElement[bool]] = []
        if status is not None:
            criteria.append(AgreementVersionRow.status == status.value)
        if peer_id is not None:
            criteria.append(AgreementRow.peer_id == peer_id)
        return self._load(*criteria)

    def _load(self, *criteria: ColumnElement[bool]) -> list[StoredAgreement]:
        stmt = (
            select(AgreementVersionRow, AgreementRow)
            .join(AgreementRow, AgreementRow.id == AgreementVersionRow.agreement_id)
            .where(*criteria)
            .order_by(AgreementVersionRow.agreement_id, AgreementVersionRow.version)
            .execution_options(populate_existing=True)
        )
        with translate_errors(self._session):
            rows = self._session.execute(stmt).all()
            ids = {v.agreement_id for v, _ in rows}
            signatures: dict[tuple[str, int], list[AgreementSignature]] = {}
            if ids:
                sig_rows = self._session.scalars(
                    select(AgreementSignatureRow)
                    .where(AgreementSignatureRow.agreement_id.in_(ids))
                    .order_by(AgreementSignatureRow.role)
                )
                for s in sig_rows:
                    signatures.setdefault((s.agreement_id, s.version), []).append(
                        AgreementSignature(s.role, s.signer_key, s.signature, s.signed_at)
                    )
        return [
            StoredAgreement(
                id=AgreementId(v.agreement_id),
                version=v.version,
                peer_id=NodeId(a.peer_id),
                role=a.role,
                document=v.document,
                digest=v.digest,
                status=AgreementStatus(v.status),
                valid_from=v.valid_from,
                valid_until=v.valid_until,
                created=v.created,
                status_changed=v.status_changed,
                signatures=tuple(signatures.get((v.agreement_id, v.version), ())),
            )
            for v, a in rows
        ]


def _key(row: OprfEpochKeyRow) -> OprfEpochKey:
    return OprfEpochKey(
        agreement_id=AgreementId(row.agreement_id),
        epoch=Epoch(row.epoch),
        secret=row.secret,
        public_key=row.public_key,
        created=row.created,
        destroyed_at=row.destroyed_at,
    )


class OprfKeyRepository:
    """VOPRF keys per (agreement, epoch)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self,
        agreement_id: AgreementId,
        epoch: Epoch,
        *,
        secret: bytes,
        public_key: bytes,
        now: dt.datetime,
    ) -> OprfEpochKey:
        """Store a new epoch key. :class:`DuplicateError` if the epoch has one (even a
        destroyed one: a destroyed epoch is never re-keyed)."""
        row = OprfEpochKeyRow(
            agreement_id=agreement_id,
            epoch=epoch,
            secret=secret,
            public_key=public_key,
            created=now,
            destroyed_at=None,
        )
        with translate_errors(self._session):
            self._session.add(row)
            self._session.flush()
        return _key(row)

    def get(self, agreement_id: AgreementId, epoch: Epoch) -> OprfEpochKey | None:
        with translate_errors(self._session):
            row = self._session.get(OprfEpochKeyRow, (agreement_id, epoch), populate_existing=True)
        return None if row is None else _key(row)

    def for_agreement(self, agreement_id: AgreementId) -> list[OprfEpochKey]:
        """Every epoch key of the agreement, destroyed ones included, by epoch."""
        stmt = (
            select(OprfEpochKeyRow)
            .where(OprfEpochKeyRow.agreement_id == agreement_id)
            .order_by(OprfEpochKeyRow.epoch)
            .execution_options(populate_existing=True)
        )
        with translate_errors(self._session):
            return [_key(r) for r in self._session.scalars(stmt)]

    def destroy(
        self,
        agreement_id: AgreementId,
        *,
        before_epoch: Epoch | None = None,
        now: dt.datetime,
    ) -> Sequence[Epoch]:
        """Destroy the secrets of the agreement's epochs older than ``before_epoch`` (all
        of them when ``None``: a revocation). Returns the epochs destroyed now."""
        stmt = (
            update(OprfEpochKeyRow)
            .where(OprfEpochKeyRow.agreement_id == agreement_id)
            .where(OprfEpochKeyRow.destroyed_at.is_(None))
        )
        if before_epoch is not None:
            stmt = stmt.where(OprfEpochKeyRow.epoch < before_epoch)
        stmt = stmt.values(secret=None, destroyed_at=now).returning(OprfEpochKeyRow.epoch)
        with translate_errors(self._session):
            epochs = self._session.scalars(
                stmt, execution_options={"synchronize_session": False}
            ).all()
        return sorted(Epoch(e) for e in epochs)
