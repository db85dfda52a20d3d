"""What an auditor trusts: the log's key, the witnesses' keys, and the quorum.

A policy is a small TOML file::

    log = "accord/santa-monica-pd/ledger+1a2b3c4d+AQ..."   # the log's vkey
    witnesses = ["culver-city-pd/witness+...", "broker/witness+..."]
    quorum = 1                                            # cosignatures required

A quorum of zero must be spelled out with ``unsafe_no_witnesses = true``: a policy that
any checkpoint satisfies is refused unless someone says so on purpose.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from audit.errors import AuditPolicyError
from crypto.note import ALG_COSIGNATURE_V1, ALG_ED25519, NoteError, NoteVerifier


@dataclass(frozen=True, slots=True)
class VerifyPolicy:
    log: NoteVerifier
    witnesses: tuple[NoteVerifier, ...]
    quorum: int


def parse_policy(text: str, *, source: str = "policy") -> VerifyPolicy:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise AuditPolicyError(f"{source}: not valid TOML: {e}") from e
    try:
        log = NoteVerifier.parse(doc["log"])
        witnesses = tuple(NoteVerifier.parse(w) for w in doc.get("witnesses", []))
        quorum = doc.get("quorum", len(witnesses))
    except KeyError as e:
        raise AuditPolicyError(f"{source}: missing {e.args[0]!r}") from e
    except (NoteError, TypeError, AttributeError) as e:
        raise AuditPolicyError(f"{source}: {e}") from e
    if log.alg != ALG_ED25519 or any(w.alg != ALG_COSIGNATURE_V1 for w in witnesses):
        raise AuditPolicyError(f"{source}: log key must be Ed25519, witness keys cosignature/v1")
    if not isinstance(quorum, int) or not 0 <= quorum <= len(witnesses):
        raise AuditPolicyError(f"{source}: quorum must be between 0 and the number of witnesses")
    if quorum == 0 and doc.get("unsafe_no_witnesses") is not True:
        raise AuditPolicyError(
            f"{source}: quorum 0 accepts any split view; set unsafe_no_witnesses = true to mean it"
        )
    return VerifyPolicy(log, witnesses, quorum)


def load_policy(path: Path) -> VerifyPolicy:
    try:
        return parse_policy(path.read_text("utf-8"), source=str(path))
    except OSError as e:
        raise AuditPolicyError(f"{path}: cannot be read: {e.strerror}") from e
