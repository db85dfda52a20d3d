"""SIGKILL the sequencing process mid-stream, many times: nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from nacl.signing import SigningKey

from crypto.checkpoint import parse_checkpoint
from crypto.merkle import CompactTree, leaf_hash
from crypto.note import NoteSigner, open_note
from node.ids import LogId
from node.ledger.log import LedgerLog
from node.store.db import create_engine, session_factory, session_scope
from node.store.ledger import LedgerRepository
from node.store.migrate import upgrade

WRITER = """
import asyncio, sys
from nacl.signing import SigningKey
from crypto.note import NoteSigner
from node.ids import LogId
from node.ledger.log import LedgerLog
from node.ledger.publisher import Publisher
from node.store.db import create_engine, session_factory

async def main(url):
    sessions = session_factory(create_engine(url))
    log = LedgerLog(sessions, LogId("crash/log"), batch_size=64)
    await log.open()
    publisher = Publisher(log, sessions, NoteSigner("crash/log", SigningKey(bytes(32))))
    n = log.head.size
    async def one(i):
        index = await log.append(b"entry-%d" % i)
        sys.stdout.write(f"{index}\\n")
        sys.stdout.flush()
    while True:
        await asyncio.gather(*(one(n + i) for i in range(200)))
        publisher.sign()
        n += 200

asyncio.run(main(sys.argv[1]))
"""


def test_acknowledged_entries_survive_sigkill(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(url)
    rng = random.Random(7)
    acknowledged: set[int] = set()
    for _round in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, url], stdout=subprocess.PIPE, text=True
        )
        time.sleep(rng.uniform(0.8, 1.6))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        acknowledged.update(int(x) for x in out.split() if x.strip().isdigit())

    engine = create_engine(url)
    try:
        with session_scope(session_factory(engine)) as s:
            repo = LedgerRepository(s)
            size = repo.size(LogId("crash/log"))
            entries = repo.entries(LogId("crash/log"), 0, size)
        assert acknowledged, "the writer acknowledged entries before being killed"
        assert max(acknowledged) < size
        assert [e.index for e in entries] == list(range(size))
        tree = CompactTree()
        for e in entries:
            assert e.leaf_hash == leaf_hash(e.entry)
            tree.append(e.leaf_hash)

        async def reopen() -> None:
            log = LedgerLog(session_factory(engine), LogId("crash/log"))
            await log.open()
            assert log.head.size == size
            assert log.head.root == tree.root()
            assert log.root_at(size) == tree.root()
            assert await log.append(b"after the crashes") == size
            with session_scope(session_factory(engine)) as s:
                latest = LedgerRepository(s).latest_checkpoint(LogId("crash/log"))
            assert latest is not None, "checkpoints were signed before the kills"
            assert latest.size <= size
            assert log.root_at(latest.size) == latest.root, "the log extends its last checkpoint"
            opened = open_note(
                latest.note, [NoteSigner("crash/log", SigningKey(bytes(32))).verifier]
            )
            assert parse_checkpoint(opened.note.text).root == latest.root
            await log.close()

        asyncio.run(reopen())
    finally:
        engine.dispose()
