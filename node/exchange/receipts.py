"""Inclusion receipts: the responder proves its answer is on its ledger.

With every answer the responder returns its ``answer.sent`` entry, an RFC 9162 inclusion
proof and a checkpoint signed with its log key that the proof leads to. The requester
checks all three against the log key it pinned for that peer and that the entry is the
answer to *its* request (same request id and query commitment), so a responder cannot
answer without logging, or log something else.
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto.checkpoint import open_checkpoint
from crypto.entries import decode_entry
from crypto.merkle import leaf_hash, verify_inclusion
from crypto.note import NoteVerifier
from node.exchange.query_errors import AnswerError


@dataclass(frozen=True, slots=True)
class Receipt:
    origin: str
    leaf_index: int
    entry: bytes
    proof: tuple[bytes, ...]
    checkpoint: bytes


def verify_receipt(
    receipt: Receipt, log: NoteVerifier, *, request_id: str, q_commit: str, peer: str
) -> int:
    """Check a receipt from ``peer`` for our request; returns the entry's log index.

    Raises :class:`AnswerError` (or a :class:`~crypto.errors.CryptoError`) on any fault.
    """
    signed = open_checkpoint(receipt.checkpoint, log)
    if receipt.origin != signed.checkpoint.origin:
        raise AnswerError(f"{peer}: receipt names log {receipt.origin!r}, not its own")
    if not 0 <= receipt.leaf_index < signed.checkpoint.size:
        raise AnswerError(f"{peer}: receipt index is outside its checkpoint")
    verify_inclusion(
        receipt.leaf_index,
        signed.checkpoint.size,
        leaf_hash(receipt.entry),
        list(receipt.proof),
        signed.checkpoint.root,
    )
    entry = decode_entry(receipt.entry)
    if entry.type != "answer.sent" or entry.node != peer:
        raise AnswerError(f"{peer}: the receipt is not an answer.sent entry of {peer}")
    if entry.fields.get("request_id") != request_id or entry.fields.get("q_commit") != q_commit:
        raise AnswerError(f"{peer}: the receipt's entry answers another query")
    return receipt.leaf_index
