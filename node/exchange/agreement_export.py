"""A stored agreement as auditors read it: ``accord/signed-agreement/v1`` bytes.

Auditors need the documents whose hashes the ledgers record (``accord audit check
--agreements``). The export re-verifies the stored signatures first, so a row altered
in the database is never handed out as if both admins had signed it.
"""

from __future__ import annotations

from accord.legal.signed_agreement import encode_signed_agreement
from crypto.canonical_json import loads
from node.errors import NodeError
from node.exchange.in_force import signed_agreement
from node.store.agreements import StoredAgreement


class AgreementExportError(NodeError):
    """A stored agreement cannot be exported (its document is not an agreement)."""


def exported_agreement(stored: StoredAgreement) -> bytes:
    """The signed agreement (terms and every signature) in the auditors' format."""
    signed_agreement(stored)  # the store's signatures verify, or nothing is exported
    terms = loads(stored.document)
    if not isinstance(terms, dict):  # pragma: no cover - the store holds agreements
        raise AgreementExportError(f"agreement {stored.id}: the stored document is not an object")
    return encode_signed_agreement(terms, {s.role: s.signature for s in stored.signatures})


def export_file_name(stored: StoredAgreement) -> str:
    """``<id>-v<version>.json``: one file per version, as ``accord demo`` leaves them."""
    return f"{stored.id}-v{stored.version}.json"
