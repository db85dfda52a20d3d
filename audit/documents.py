"""The signed agreement documents handed to an auditor, read and verified.

``accord agreement export`` writes one ``accord/signed-agreement/v1`` file per version; a
node's export directory keeps them in ``agreements/`` beside its ledger
(:mod:`audit.ledger_set`). ``accord audit check`` reads the files and directories named
by ``--agreements``, ``accord audit report`` those found with the ledgers; both read them
here, so a document counts for one exactly when it counts for the other.

Each file is verified by :func:`accord.legal.signed_agreement.read_signed_agreement`: the
bytes canonical, the stated hash that of the terms, every signature valid under the key
the terms name. A document's keys come from the document itself, so a verified document
still proves nothing alone: callers MUST use one only for a hash a verified ledger records
(:meth:`DocumentSet.by_hash`, looked up by that hash). A file that is not a valid export
is rejected with its reason, never raised, so one bad file does not hide the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from accord.legal.errors import SignedAgreementError
from accord.legal.signed_agreement import (
    MAX_EXPORT_BYTES,
    SignedAgreementDocument,
    read_signed_agreement,
)
from audit.errors import DocumentSourceError


@dataclass(frozen=True, slots=True)
class RejectedDocument:
    """A file that is not a valid signed agreement, and why."""

    path: Path
    reason: str


@dataclass(frozen=True, slots=True)
class DocumentSet:
    """The verified documents, in file order, and the files rejected."""

    documents: tuple[SignedAgreementDocument, ...] = ()
    rejected: tuple[RejectedDocument, ...] = ()

    def by_hash(self) -> Mapping[str, SignedAgreementDocument]:
        """Documents by their agreement hash (hex), the key the ledgers record."""
        return {d.digest_hex: d for d in self.documents}


def document_files(paths: Sequence[Path]) -> list[Path]:
    """The files named, and the ``.json`` files of the directories named (in name order).

    Raises :class:`DocumentSourceError` for a path that does not exist: a typo must not
    leave the auditor without documents silently.
    """
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix == ".json"))
        elif path.is_file():
            out.append(path)
        else:
            raise DocumentSourceError(f"{path}: no such agreement file or directory")
    return out


def read_documents(paths: Sequence[Path]) -> DocumentSet:
    """Read and verify every document under ``paths`` (see :func:`document_files`).

    A file that cannot be read at all raises :class:`DocumentSourceError`; one that is not
    a valid export is in :attr:`DocumentSet.rejected`.
    """
    documents: list[SignedAgreementDocument] = []
    rejected: list[RejectedDocument] = []
    for path in document_files(paths):
        try:
            with path.open("rb") as f:
                data = f.read(MAX_EXPORT_BYTES + 1)
        except OSError as e:
            raise DocumentSourceError(f"{path}: cannot be read: {e.strerror}") from e
        try:
            documents.append(read_signed_agreement(data))
        except SignedAgreementError as e:
            rejected.append(RejectedDocument(path, str(e)))
    return DocumentSet(tuple(documents), tuple(rejected))
