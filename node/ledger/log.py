"""The node's ledger engine: sequence and integrate with group commit; serve proofs.

Contract:

- There MUST be exactly one :class:`LedgerLog` appending to a log (one sequencer); in a
  replicated deployment the replica holding the sequencer lock runs it.
- :meth:`LedgerLog.append` MUST NOT return before the entry, its index and every tree node
  it completes are committed to the database in one transaction ("durable before
  acknowledged"). After a crash, the log is exactly the committed batches: never a gap,
  never an entry without its tree nodes.
- Entries are batched: a batch is flushed when it holds ``batch_size`` entries or its
  oldest entry has waited ``max_delay_s``, whichever comes first (group commit).

Proofs are RFC 9162 inclusion and consistency proofs computed from stored subtree
hashes (:mod:`crypto.merkle`): a handful of primary-key lookups, whatever the size.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from crypto.merkle import (
    CompactTree,
    consistency_proof_plan,
    inclusion_proof_plan,
    leaf_hash,
    plan_nodes,
    proof_from_plan,
    root_coords,
    root_from_nodes,
)
from node.ids import LogId
from node.store.db import session_scope
from node.store.ledger import LedgerEntry, LedgerRepository, TreeNode

log = logging.getLogger(__name__)

#: Largest entry accepted (bytes); ledger entries are small records of commitments.
MAX_ENTRY_BYTES = 16 * 1024


class LedgerClosedError(RuntimeError):
    """The ledger was closed while entries were waiting."""


@dataclass(frozen=True, slots=True)
class TreeHead:
    """A size and its root hash: what a checkpoint signs."""

    size: int
    root: bytes


@dataclass(slots=True)
class _Prepared:
    """A batch with its rows and new tree nodes computed, and (once started) its commit."""

    batch: list[tuple[bytes, asyncio.Future[int]]]
    tree: CompactTree
    rows: list[LedgerEntry]
    nodes: list[TreeNode]
    commit: asyncio.Future[None] | None = None

    def start(self, commit: Awaitable[None]) -> None:
        self.commit = asyncio.ensure_future(commit)


class LedgerLog:
    """One append-only log stored through :class:`LedgerRepository`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        log_id: LogId,
        *,
        batch_size: int = 1000,
        max_delay_s: float = 0.005,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._sessions = sessions
        self.log_id = log_id
        self._batch_size = batch_size
        self._max_delay_s = max_delay_s
        self._clock = clock
        self._tree = CompactTree()
        self._pending: list[tuple[bytes, asyncio.Future[int]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._reader: Session | None = None
        self._reader_lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> None:
        """Load the tree's right edge from the store and start the sequencer task."""
        self._tree = await asyncio.to_thread(self._load)
        self._task = asyncio.create_task(self._run(), name=f"ledger-sequencer:{self.log_id}")

    def _load(self) -> CompactTree:
        with session_scope(self._sessions) as s:
            repo = LedgerRepository(s)
            size = repo.size(self.log_id)
            nodes = repo.tree_nodes(self.log_id, root_coords(size))
        return CompactTree.from_nodes(size, lambda level, index: nodes[(level, index)])

    async def close(self) -> None:
        """Flush what is pending, then stop the sequencer."""
        self._closed = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        with self._reader_lock:
            self._close_reader()

    # -- sequence + integrate ------------------------------------------------------------

    @property
    def head(self) -> TreeHead:
        """Size and root of everything committed so far."""
        return TreeHead(self._tree.size, self._tree.root())

    async def append(self, entry: bytes) -> int:
        """Append ``entry``; returns its index once it is durable."""
        if self._closed or self._task is None:
            raise LedgerClosedError("the ledger is not open")
        if not entry or len(entry) > MAX_ENTRY_BYTES:
            raise ValueError(f"ledger entries must be 1..{MAX_ENTRY_BYTES} bytes")
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((entry, fut))
        self._wake.set()
        return await fut

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._pending and len(self._pending) < self._batch_size and not self._closed:
                # Group commit: give concurrent appenders a moment to join the batch.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full(), self._max_delay_s)
            await self._drain()
            if self._closed:
                return

    async def _full(self) -> None:
        while len(self._pending) < self._batch_size and not self._closed:
            self._wake.clear()
            await self._wake.wait()

    async def _drain(self) -> None:
        """Commit every pending batch, in order, one transaction each.

        Pipelined: the next batch's leaves and tree nodes are computed while the previous
        batch commits in a worker thread, but a batch is only *written* once the one
        before it is durable, and only acknowledged once it is durable itself. If a commit
        fails, its entries fail, and a batch prepared on top of it is prepared again on
        what is really committed.
        """
        inflight: _Prepared | None = None
        while self._pending or inflight is not None:
            upcoming: _Prepared | None = None
            if self._pending:
                batch = self._pending[: self._batch_size]
                del self._pending[: self._batch_size]
                upcoming = self._prepare(inflight.tree if inflight else self._tree, batch)
            if inflight is not None and not await self._finish(inflight) and upcoming:
                self._pending[:0] = upcoming.batch
                upcoming = None
            if upcoming is not None:
                upcoming.start(asyncio.to_thread(self._commit, upcoming.rows, upcoming.nodes))
            inflight = upcoming

    def _prepare(
        self, base: CompactTree, batch: list[tuple[bytes, asyncio.Future[int]]]
    ) -> _Prepared:
        tree = base.copy()
        now = self._clock()
        rows: list[LedgerEntry] = []
        nodes: list[TreeNode] = []
        for entry, _ in batch:
            h = leaf_hash(entry)
            rows.append(LedgerEntry(self.log_id, tree.size, entry, h, now))
            nodes.extend(TreeNode(level, index, digest) for level, index, digest in tree.append(h))
        return _Prepared(batch, tree, rows, nodes)

    async def _finish(self, prepared: _Prepared) -> bool:
        """Wait for a batch's commit; acknowledge it, or fail its entries."""
        assert prepared.commit is not None
        try:
            await prepared.commit
        except Exception as e:
            log.error(
                "ledger %s: batch of %d not committed: %s", self.log_id, len(prepared.batch), e
            )
            for _, fut in prepared.batch:
                if not fut.done():
                    fut.set_exception(e)
            return False
        self._tree = prepared.tree
        for row, (_, fut) in zip(prepared.rows, prepared.batch, strict=True):
            if not fut.done():
                fut.set_result(row.index)
        return True

    def _commit(self, rows: list[LedgerEntry], nodes: list[TreeNode]) -> None:
        with session_scope(self._sessions) as s:
            repo = LedgerRepository(s)
            repo.append(rows)
            repo.put_tree_nodes(self.log_id, nodes)

    # -- proofs --------------------------------------------------------------------------

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size``."""
        self._check_size(size)
        plan = inclusion_proof_plan(index, size)
        nodes = self._fetch(plan_nodes(plan))
        return proof_from_plan(plan, lambda level, idx: nodes[(level, idx)])

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """RFC 9162 consistency proof from the tree of size ``old`` to ``new``."""
        self._check_size(new)
        if old == 0:
            raise ValueError("no consistency proof from the empty tree")
        plan = consistency_proof_plan(old, new)
        nodes = self._fetch(plan_nodes(plan))
        return proof_from_plan(plan, lambda level, idx: nodes[(level, idx)])

    def root_at(self, size: int) -> bytes:
        """The root hash of the tree of ``size`` (any size up to the current one)."""
        self._check_size(size)
        nodes = self._fetch(root_coords(size))
        return root_from_nodes(size, lambda level, idx: nodes[(level, idx)])

    def entries(self, start: int, end: int) -> list[LedgerEntry]:
        with session_scope(self._sessions) as s:
            return LedgerRepository(s).entries(self.log_id, start, end)

    def _read_nodes(self, coords: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        if self._reader is None:
            bind = self._sessions.kw["bind"]
            conn = bind.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._reader = Session(bind=conn)
        return LedgerRepository(self._reader).tree_nodes(self.log_id, coords)

    def _close_reader(self) -> None:
        if self._reader is not None:
            conn = self._reader.get_bind()
            self._reader.close()
            if isinstance(conn, Connection):
                conn.close()
            self._reader = None

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self._tree.size:
            raise ValueError(f"tree size {size} is beyond the log's {self._tree.size} entries")

    def _fetch(self, coords: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        # Stored nodes never change, so a read needs no transaction, and proofs keep one
        # autocommit connection: no BEGIN/COMMIT and no pool checkout (with its liveness
        # ping) per proof, which is what dominates a proof's latency on PostgreSQL.
        with self._reader_lock:
            try:
                found = self._read_nodes(coords)
            except Exception:
                self._close_reader()
                found = self._read_nodes(coords)  # one retry on a fresh connection
        missing = [c for c in coords if c not in found]
        if missing:
            raise RuntimeError(f"ledger {self.log_id}: stored tree nodes missing: {missing[:3]}")
        return found
