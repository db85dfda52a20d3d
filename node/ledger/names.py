"""Names of a node's log and witness keys (C2SP key names / checkpoint origins).

One log per node: its origin is ``accord/<node>/ledger``, which is also the name of the
log's signing key; the node's witness key is named ``accord/<node>/witness``.
"""

from __future__ import annotations

from nacl.signing import SigningKey

from crypto.note import ALG_COSIGNATURE_V1, ALG_ED25519, NoteSigner, NoteVerifier, WitnessSigner


def log_origin(node_name: str) -> str:
    return f"accord/{node_name}/ledger"


def witness_name(node_name: str) -> str:
    return f"accord/{node_name}/witness"


def log_signer(node_name: str, key: SigningKey) -> NoteSigner:
    return NoteSigner(log_origin(node_name), key)


def witness_signer(node_name: str, key: SigningKey) -> WitnessSigner:
    return WitnessSigner(witness_name(node_name), key)


def log_verifier(node_name: str, public_key: bytes) -> NoteVerifier:
    return NoteVerifier(log_origin(node_name), ALG_ED25519, public_key)


def witness_verifier(node_name: str, public_key: bytes) -> NoteVerifier:
    return NoteVerifier(witness_name(node_name), ALG_COSIGNATURE_V1, public_key)
