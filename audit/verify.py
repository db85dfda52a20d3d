"""``accord audit verify``: check a whole log without trusting the node that wrote it.

In order, stopping at the first violation (:class:`VerificationError` names it):

1. the checkpoint is signed by the log key, and by at least ``quorum`` of the policy's
   witnesses (cosignature/v1); a bad signature from a known key is a violation;
2. every entry bundle up to the checkpoint's size is present and well formed;
3. every entry decodes, is in canonical form (re-encoding gives the same bytes, checked
   by :func:`crypto.entries.check_entry`), has a
   known type and schema, and entry times never go backwards;
4. the Merkle root recomputed from all entries equals the checkpoint's root, and every
   hash tile equals the recomputed subtree hashes;
5. every historical checkpoint is signed by the log, sizes never shrink, and each one's
   root equals the root of the same prefix of entries (so no checkpoint was ever forked
   or rewritten), and the latest checkpoint is not older than the history.

Nothing here needs a plate: entries hold commitments only.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field

from audit.errors import LogSourceError, VerificationError
from audit.policy import VerifyPolicy
from audit.source import LogSource
from crypto.checkpoint import CheckpointError, parse_checkpoint
from crypto.entries import EntryError, check_entry
from crypto.merkle import EMPTY_ROOT, root_of
from crypto.note import NoteError, open_note
from crypto.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    Tile,
    TileError,
    bundles_for,
    decode_bundle,
    split_hashes,
    tiles_for,
)

HISTORY_DIR = "accord/checkpoints"
_sha256 = hashlib.sha256


@dataclass
class AuditReport:
    """What was verified, for the CLI's summary."""

    origin: str = ""
    size: int = 0
    root_hex: str = ""
    cosigners: list[str] = field(default_factory=list)
    checkpoints_checked: int = 0
    entries_by_type: dict[str, int] = field(default_factory=dict)
    #: Latest verified cosignature time (Unix seconds) of each cosigner of the checkpoint.
    cosigned_at: dict[str, int] = field(default_factory=dict)
    #: The raw bytes of every entry, in log order: filled only with ``keep_entries=True``,
    #: and only ever handed back once the whole log has verified.
    entries: list[bytes] = field(default_factory=list)


class _Levels:
    """Recomputes the subtree hashes that tiles hold (tree levels 0, 8, 16, ...) as
    leaves stream in, keeping only those levels in memory."""

    def __init__(self) -> None:
        self.levels: list[list[bytes]] = [[]]  # index = tile level
        self.peaks: list[tuple[int, bytes]] = []
        self.size = 0

    def add_block(self, leaves: list[bytes], block_root: bytes) -> None:
        """Add a full, aligned tile's worth of leaves whose subtree root is known."""
        if self.size % TILE_WIDTH or len(leaves) != TILE_WIDTH:
            raise ValueError("blocks must be full and aligned")
        self.levels[0].extend(leaves)
        self._push(TILE_HEIGHT, block_root)
        self.size += TILE_WIDTH

    def add(self, leaf: bytes) -> None:
        self.levels[0].append(leaf)
        self._push(0, leaf)
        self.size += 1

    def _push(self, height: int, node: bytes) -> None:
        if height and height % TILE_HEIGHT == 0:
            if len(self.levels) <= height // TILE_HEIGHT:
                self.levels.append([])
            self.levels[height // TILE_HEIGHT].append(node)
        acc = node
        while self.peaks and self.peaks[-1][0] == height:
            _, left = self.peaks.pop()
            acc = _sha256(b"\x01" + left + acc).digest()
            height += 1
            if height % TILE_HEIGHT == 0:
                if len(self.levels) <= height // TILE_HEIGHT:
                    self.levels.append([])
                self.levels[height // TILE_HEIGHT].append(acc)
        self.peaks.append((height, acc))

    def root(self) -> bytes:
        if not self.peaks:
            return EMPTY_ROOT
        acc = self.peaks[-1][1]
        for _, h in reversed(self.peaks[:-1]):
            acc = _sha256(b"\x01" + h + acc).digest()
        return acc


def _read(source: LogSource, path: str) -> bytes:
    try:
        return source.read(path)
    except LogSourceError as e:
        raise VerificationError(f"missing or unreadable {path}: {e}") from e


def verify_log(
    source: LogSource,
    policy: VerifyPolicy,
    *,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    keep_entries: bool = False,
) -> AuditReport:
    """Verify the log at ``source`` against ``policy``; raises on the first violation.

    Entry bundles are decoded and checked in ``workers`` processes (default: one per
    core) while this process rebuilds the tree; small logs are checked inline. With
    ``keep_entries`` the report also holds the verified entry bytes (the very bytes that
    were hashed, not a second read), for callers that compute figures from them.
    """
    report = AuditReport()
    note = _read(source, "checkpoint")
    try:
        opened = open_note(note, [policy.log, *policy.witnesses])
    except NoteError as e:
        raise VerificationError(f"checkpoint: {e}") from e
    if policy.log not in opened.verified_by:
        raise VerificationError("checkpoint: not signed by the log key")
    cosigners = sorted({name for name, _ in opened.cosigned_at})
    for name, at in opened.cosigned_at:
        report.cosigned_at[name] = max(at, report.cosigned_at.get(name, at))
    if len(cosigners) < policy.quorum:
        raise VerificationError(
            f"checkpoint: {len(cosigners)} witness cosignature(s), the policy needs {policy.quorum}"
        )
    try:
        checkpoint = parse_checkpoint(opened.note.text)
    except CheckpointError as e:
        raise VerificationError(f"checkpoint: {e}") from e
    if checkpoint.origin != policy.log.name:
        raise VerificationError(
            f"checkpoint origin {checkpoint.origin!r} is not the log's key name"
        )
    report.origin, report.size, report.cosigners = checkpoint.origin, checkpoint.size, cosigners

    history = _history(source, policy)
    wanted_roots: dict[int, bytes] = {}
    for i, (size, root) in enumerate(history):
        if i and size < history[i - 1][0]:
            raise VerificationError(f"{HISTORY_DIR}/{i}: tree size went down ({size})")
        if size > checkpoint.size:
            raise VerificationError(
                f"checkpoint (size {checkpoint.size}) is older than {HISTORY_DIR}/{i} "
                f"(size {size}): a stale checkpoint is being served"
            )
        if wanted_roots.setdefault(size, root) != root:
            raise VerificationError(f"{HISTORY_DIR}/{i}: two different roots for size {size}")
    wanted_roots.setdefault(checkpoint.size, checkpoint.root)
    if wanted_roots[checkpoint.size] != checkpoint.root:
        raise VerificationError(
            f"checkpoint and history disagree on the root of size {checkpoint.size}"
        )
    if 0 in wanted_roots and wanted_roots[0] != EMPTY_ROOT:
        raise VerificationError("a checkpoint of size 0 has a non-empty root")

    levels = _Levels()
    last_time = -1
    for bundle, data, checked in _checked_bundles(source, checkpoint.size, workers):
        if isinstance(checked, str):
            raise VerificationError(checked)
        if keep_entries:
            report.entries.extend(decode_bundle(data, bundle.width))
        leaves, block_root, types, first_time, bundle_last = checked
        if first_time < last_time:
            raise VerificationError(f"entry {bundle.index * TILE_WIDTH}: time goes backwards")
        last_time = bundle_last
        for kind, count in types.items():
            report.entries_by_type[kind] = report.entries_by_type.get(kind, 0) + count
        start = bundle.index * TILE_WIDTH
        inside = any(start < s <= start + len(leaves) for s in wanted_roots)
        if block_root is not None and not inside:
            levels.add_block(leaves, block_root)
        else:
            for leaf in leaves:
                levels.add(leaf)
                if levels.size in wanted_roots:
                    _check_root(levels, wanted_roots)
        if levels.size in wanted_roots:
            _check_root(levels, wanted_roots)
        if progress is not None:
            progress(levels.size, checkpoint.size)
    if levels.root() != checkpoint.root:
        raise VerificationError("the root of the entries is not the checkpoint's root")
    for tile in tiles_for(checkpoint.size):
        try:
            hashes = split_hashes(_read(source, tile.path()), tile.width)
        except TileError as e:
            raise VerificationError(f"{tile.path()}: {e}") from e
        level = levels.levels[tile.level]
        start = tile.index * TILE_WIDTH
        if hashes != level[start : start + tile.width]:
            raise VerificationError(f"{tile.path()}: hashes do not match the entries")
    report.root_hex = checkpoint.root.hex()
    report.checkpoints_checked = len(history) + 1
    return report


def _history(source: LogSource, policy: VerifyPolicy) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    i = 0
    while source.exists(f"{HISTORY_DIR}/{i}"):
        path = f"{HISTORY_DIR}/{i}"
        try:
            opened = open_note(_read(source, path), [policy.log, *policy.witnesses])
            if policy.log not in opened.verified_by:
                raise VerificationError(f"{path}: not signed by the log key")
            cp = parse_checkpoint(opened.note.text)
        except (NoteError, CheckpointError) as e:
            raise VerificationError(f"{path}: {e}") from e
        if cp.origin != policy.log.name:
            raise VerificationError(f"{path}: origin {cp.origin!r} is not this log's")
        out.append((cp.size, cp.root))
        i += 1
    return out


def _check_root(levels: _Levels, wanted_roots: dict[int, bytes]) -> None:
    if levels.root() != wanted_roots[levels.size]:
        raise VerificationError(
            f"the checkpoint of size {levels.size} does not match the entries "
            "(history rewritten or forked)"
        )


#: (leaf hashes, subtree root if the bundle is full, entry counts by type, first and last
#: entry time), or an error message.
CheckedBundle = tuple[list[bytes], bytes | None, dict[str, int], int, int] | str

#: Below this many entries a process pool costs more than it saves.
PARALLEL_THRESHOLD = 8 * TILE_WIDTH


def check_bundle(data: bytes, width: int, base: int) -> CheckedBundle:
    """Decode and check one entry bundle (runs in a worker process)."""
    try:
        entries = decode_bundle(data, width)
    except TileError as e:
        return f"entry bundle at {base}: {e}"
    leaves: list[bytes] = []
    types: dict[str, int] = {}
    first = last = -1
    for offset, raw in enumerate(entries):
        try:
            kind, time_ms = check_entry(raw)
        except EntryError as e:
            return f"entry {base + offset}: {e}"
        if time_ms < last:
            return f"entry {base + offset}: time goes backwards"
        if first < 0:
            first = time_ms
        last = time_ms
        types[kind] = types.get(kind, 0) + 1
        leaves.append(_sha256(b"\x00" + raw).digest())
    block_root = root_of(leaves) if width == TILE_WIDTH else None
    return leaves, block_root, types, first, last


def _checked_bundles(
    source: LogSource, size: int, workers: int | None
) -> Iterator[tuple[Tile, bytes, CheckedBundle]]:
    bundles = list(bundles_for(size))

    def jobs() -> Iterator[tuple[bytes, int, int]]:
        for b in bundles:
            yield _read(source, b.path()), b.width, b.index * TILE_WIDTH

    if size < PARALLEL_THRESHOLD or (workers or os.cpu_count() or 1) < 2:
        for b, job in zip(bundles, jobs(), strict=True):
            yield b, job[0], check_bundle(*job)
        return
    ctx = multiprocessing.get_context("spawn" if sys.platform == "darwin" else "forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending: deque[tuple[Tile, bytes, Future[CheckedBundle]]] = deque()
        it = zip(bundles, jobs(), strict=True)
        window = 4 * (workers or os.cpu_count() or 2)
        for b, job in it:
            pending.append((b, job[0], pool.submit(check_bundle, *job)))
            if len(pending) >= window:
                tile, data, fut = pending.popleft()
                yield tile, data, fut.result()
        while pending:
            tile, data, fut = pending.popleft()
            yield tile, data, fut.result()
