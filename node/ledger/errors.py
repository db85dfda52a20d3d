"""Errors of the ledger and witness roles, by who is at fault."""

from __future__ import annotations

from node.errors import NodeError


class LedgerError(NodeError):
    """Base class of ledger errors."""


class UnknownLogError(LedgerError):
    """A witness was asked to cosign a log it does not witness."""


class WitnessConflictError(LedgerError):
    """The submitter's idea of the last cosigned size is not the witness's.

    Carries the size the witness holds so the log can retry with the right proof.
    """

    def __init__(self, origin: str, held_size: int) -> None:
        super().__init__(f"witness holds size {held_size} of {origin}; retry from that size")
        self.held_size = held_size


class InconsistentCheckpointError(LedgerError):
    """A checkpoint does not extend the last one cosigned (bad proof or a fork)."""


class ProofRequestError(LedgerError):
    """A proof or entry range was asked for sizes or indices the log does not have."""
