"""Exporting a log as static ``tlog-tiles``, so any web server can publish it.

Layout under the output directory::

    checkpoint                       the latest checkpoint with its cosignatures
    tile/<L>/<N>[.p/<W>]             hash tiles (C2SP tlog-tiles)
    tile/entries/<N>[.p/<W>]         entry bundles
    accord/checkpoints/<i>           every earlier checkpoint, in order (i = 0, 1, ...),
                                     so auditors can check the log never forked

Files are written to a temporary name and renamed, so a reader never sees half a tile.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from crypto.tiles import TILE_HEIGHT, TILE_WIDTH, bundles_for, encode_bundle, tiles_for
from node.ledger.log import LedgerLog
from node.ledger.publisher import Publisher
from node.store.db import session_scope
from node.store.ledger import LedgerRepository

HISTORY_DIR = "accord/checkpoints"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def export_tiles(
    ledger: LedgerLog, publisher: Publisher, sessions: sessionmaker[Session], out: Path
) -> int:
    """Write the log up to its latest checkpoint into ``out``; returns that size."""
    latest = publisher.latest()
    if latest is None:
        raise ValueError("the log has no checkpoint yet: nothing to export")
    size = latest.size
    with session_scope(sessions) as s:
        repo = LedgerRepository(s)
        for tile in tiles_for(size):
            level = TILE_HEIGHT * tile.level
            start = tile.index * TILE_WIDTH
            hashes = repo.tree_level(ledger.log_id, level, start, start + tile.width)
            if len(hashes) != tile.width:
                raise RuntimeError(f"stored hashes missing for {tile.path()}")
            _write(out / tile.path(), b"".join(hashes))
        for bundle in bundles_for(size):
            start = bundle.index * TILE_WIDTH
            entries = repo.entries(ledger.log_id, start, start + bundle.width)
            _write(out / bundle.path(), encode_bundle([e.entry for e in entries]))
        history = repo.checkpoints(ledger.log_id)
    for i, cp in enumerate(history):
        _write(out / HISTORY_DIR / str(i), publisher.cosigned_note(cp))
    _write(out / "checkpoint", publisher.cosigned_note(latest))
    return size
