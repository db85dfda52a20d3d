"""Migration 0007 moves the private matching index to its compact tables and loses nothing.

A database at 0006 holding a responder's entries and counters and a requester's replica
is upgraded: every entry comes back through the repositories with its sequence, epoch,
id and label, each stream resumes where it was, new entries continue the numbering, and
expiry still finds every entry of an epoch. Downgrading copies them back.
"""

from __future__ import annotations

import os

from sqlalchemy import text

from node.ids import AgreementId, Epoch, NodeId
from node.store.db import create_engine, session_factory, session_scope
from node.store.index import IndexRecord, IndexRepository, PeerIndexRepository
from node.store.migrate import downgrade, upgrade

AGREEMENT = AgreementId("smpd-ccpd-2026")
PEER = NodeId("culver-city-pd")
WHEN = "2026-11-30 12:00:00"


def _at_0006(url: str) -> tuple[list[IndexRecord], list[IndexRecord]]:
    """A 0006 database with 5 own entries over 2 epochs and a 4-entry replica."""
    upgrade(url, "0006")
    own = [
        IndexRecord(i + 1, Epoch(20420 + i // 3), os.urandom(16), os.urandom(40)) for i in range(5)
    ]
    held = [
        IndexRecord(i + 10, Epoch(20421 + i % 2), os.urandom(16), os.urandom(40)) for i in range(4)
    ]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO peers (node_id, name, ori, jurisdiction, kind, endpoint, cert_sha256,"
                " cert_pem, signing_key, log_key, witness_key, sealing_key, active, added, updated)"
                " VALUES (:p, :p, 'CA0191600', 'US-CA', 'municipal', '127.0.0.1:1', :h, :b,"
                " :k, :k, :k, :k, true, :t, :t)"
            ),
            {"p": PEER, "h": "0" * 64, "b": b"pem", "k": bytes(32), "t": WHEN},
        )
        conn.execute(
            text(
                "INSERT INTO agreements (id, peer_id, role, created) VALUES (:a, :p, 'responder', :t)"
            ),
            {"a": AGREEMENT, "p": PEER, "t": WHEN},
        )
        for r in own:
            conn.execute(
                text(
                    "INSERT INTO index_entries (id, agreement_id, epoch, entry_id, label, created)"
                    " VALUES (:i, :a, :e, :d, :l, :t)"
                ),
                {
                    "i": r.sequence,
                    "a": AGREEMENT,
                    "e": r.epoch,
                    "d": r.entry_id,
                    "l": r.label,
                    "t": WHEN,
                },
            )
        conn.execute(
            text(
                "INSERT INTO index_occurrences (agreement_id, epoch, plate_lookup, count)"
                " VALUES (:a, 20420, :k, 3)"
            ),
            {"a": AGREEMENT, "k": bytes(range(32))},
        )
        for r in held:
            conn.execute(
                text(
                    "INSERT INTO peer_index_entries (peer_id, agreement_id, sequence, epoch,"
                    " entry_id, label, received) VALUES (:p, :a, :s, :e, :d, :l, :t)"
                ),
                {
                    "p": PEER,
                    "a": AGREEMENT,
                    "s": r.sequence,
                    "e": r.epoch,
                    "d": r.entry_id,
                    "l": r.label,
                    "t": WHEN,
                },
            )
    engine.dispose()
    return own, held


def test_the_index_survives_the_move_to_the_compact_tables(fresh_url: str) -> None:
    own, held = _at_0006(fresh_url)
    upgrade(fresh_url)
    engine = create_engine(fresh_url)
    sessions = session_factory(engine)
    try:
        with session_scope(sessions) as s:
            index = IndexRepository(s)
            assert index.after(AGREEMENT, 0) == own
            assert index.count(AGREEMENT) == 5
            assert index.claim_occurrences(AGREEMENT, Epoch(20420), [bytes(range(32))]) == [3]
            index.add_entries(AGREEMENT, [(Epoch(20421), os.urandom(16), os.urandom(40))])
        with session_scope(sessions) as s:
            (new,) = IndexRepository(s).after(AGREEMENT, 5)
            assert new.sequence == 6, "the stream's numbering continues after the copied ids"
            assert sorted(e for _, e in IndexRepository(s).entries_of(20421)) == sorted(
                [r.entry_id for r in own if r.epoch == 20421] + [new.entry_id]
            )
            replica = PeerIndexRepository(s)
            assert replica.cursor(PEER, AGREEMENT) == 13
            assert replica.count(PEER, AGREEMENT) == 4
            for r in held:
                assert replica.find(PEER, AGREEMENT, r.epoch, [r.entry_id]) == {r.entry_id: r}
            assert replica.epochs(ended_by=30000) == {
                Epoch(20421): {AGREEMENT},
                Epoch(20422): {AGREEMENT},
            }
            extra = IndexRecord(14, Epoch(20422), os.urandom(16), os.urandom(40))
            assert replica.add(PEER, AGREEMENT, [held[0], extra]) == 1
        with session_scope(sessions) as s:
            assert PeerIndexRepository(s).cursor(PEER, AGREEMENT) == 14
    finally:
        engine.dispose()

    assert downgrade(fresh_url, "0006") == "0006"
    engine = create_engine(fresh_url)
    try:
        with engine.connect() as conn:
            own_back = conn.execute(
                text("SELECT id, epoch, entry_id, label FROM index_entries ORDER BY id")
            ).all()
            held_back = conn.execute(
                text("SELECT sequence, entry_id FROM peer_index_entries ORDER BY sequence")
            ).all()
            counters = conn.execute(text("SELECT count FROM index_occurrences")).scalars().all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in own_back][:5] == [
        (r.sequence, r.epoch, r.entry_id, r.label) for r in own
    ]
    assert len(own_back) == 6
    assert [s for s, _ in held_back] == [10, 11, 12, 13, 14]
    assert counters == [4]
    assert upgrade(fresh_url) is not None


def test_expiry_through_spans_leaves_other_epochs_alone(fresh_url: str) -> None:
    own, held = _at_0006(fresh_url)
    upgrade(fresh_url)
    engine = create_engine(fresh_url)
    sessions = session_factory(engine)
    try:
        with session_scope(sessions) as s:
            IndexRepository(s).delete_epoch(20420)
            PeerIndexRepository(s).delete_epoch(20421)
        with session_scope(sessions) as s:
            assert IndexRepository(s).after(AGREEMENT, 0) == [r for r in own if r.epoch != 20420]
            assert IndexRepository(s).counters_of(20420) == []
            replica = PeerIndexRepository(s)
            assert replica.count(PEER, AGREEMENT) == 2
            assert replica.entries_of(20421) == []
            assert sorted(e for _, _, e in replica.entries_of(20422)) == sorted(
                r.entry_id for r in held if r.epoch == 20422
            )
            assert set(replica.epochs(ended_by=30000)) == {Epoch(20422)}
        with engine.connect() as conn:
            labels = conn.execute(text("SELECT count(*) FROM peer_index_labels")).scalar()
        assert labels == 2, "an expired entry's label stayed behind its key"
    finally:
        engine.dispose()
