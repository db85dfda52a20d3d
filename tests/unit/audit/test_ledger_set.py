"""Loading a set of exported ledgers: verified ones come back with their entries, failing
ones are excluded with their reason, and nothing is counted twice."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from audit.errors import LogSourceError
from audit.ledger_set import (
    AGREEMENTS_DIR,
    LOG_DIR,
    POLICY_FILE,
    VKEY_FILE,
    discover,
    load_ledgers,
    spec_for,
)
from crypto.entries import Entry
from tests.unit.audit.ledger_builder import T0_MS, build_export, entry, hex32


def admin(node: str, i: int) -> Entry:
    return entry(node, "admin.action", T0_MS + i, action="test", actor=hex32("a"), detail=f"{i}")


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("exports")
    for node, n in (("alpha", 3), ("bravo", 300)):
        build_export(base, node, [admin(node, i) for i in range(n)])
    return base


def test_base_directory_loads_every_node_in_order(federation: Path) -> None:
    result = load_ledgers(discover([federation]))
    assert result.excluded == ()
    assert [(v.node, v.size, v.label) for v in result.verified] == [
        ("alpha", 3, "alpha"),
        ("bravo", 300, "bravo"),
    ]
    bravo = result.verified[1]
    assert bravo.origin == "accord/bravo/ledger"
    assert bravo.cosigners == ("accord/witness-a/witness",)
    assert set(bravo.cosigned_at) == {"accord/witness-a/witness"}
    assert bravo.witnessed and bravo.quorum == 1
    assert [e.time_ms for e in bravo.entries] == [T0_MS + i for i in range(300)]
    assert all(e.type == "admin.action" and e.node == "bravo" for e in bravo.entries)
    assert len(bravo.root_hex) == 64
    assert len(result.entries()) == 303


def test_one_export_directory_and_an_explicit_pair(federation: Path) -> None:
    one = discover([federation / "alpha"])
    assert [s.label for s in one] == ["alpha"]
    pair = spec_for(federation / "bravo" / LOG_DIR, federation / "bravo" / POLICY_FILE)
    result = load_ledgers([pair])
    assert [v.node for v in result.verified] == ["bravo"]


def test_agreement_directories_beside_the_ledgers_are_named(
    federation: Path, tmp_path: Path
) -> None:
    shutil.copytree(federation, tmp_path / "fed")
    agreements = tmp_path / "fed" / "bravo" / AGREEMENTS_DIR
    agreements.mkdir()
    specs = discover([tmp_path / "fed"])
    assert [s.agreements for s in specs] == [None, agreements]
    assert load_ledgers([*specs, specs[1]]).agreement_dirs == (agreements,)  # once each


def test_tampered_ledger_is_excluded_with_its_reason(federation: Path, tmp_path: Path) -> None:
    shutil.copytree(federation, tmp_path / "fed")
    bundle = tmp_path / "fed" / "bravo" / LOG_DIR / "tile" / "entries" / "000"
    data = bytearray(bundle.read_bytes())
    data[60] ^= 0x01
    bundle.write_bytes(bytes(data))
    result = load_ledgers(discover([tmp_path / "fed"]))
    assert [v.node for v in result.verified] == ["alpha"]
    [bad] = result.excluded
    assert bad.label == "bravo"
    assert "entry" in bad.reason


def test_key_file_that_disagrees_with_the_policy_excludes(federation: Path, tmp_path: Path) -> None:
    shutil.copytree(federation, tmp_path / "fed")
    alpha_key = (federation / "alpha" / VKEY_FILE).read_text()
    (tmp_path / "fed" / "bravo" / VKEY_FILE).write_text(alpha_key)
    result = load_ledgers(discover([tmp_path / "fed"]))
    [bad] = result.excluded
    assert bad.label == "bravo" and "not the log key" in bad.reason


def test_key_alone_verifies_but_is_marked_unwitnessed(federation: Path, tmp_path: Path) -> None:
    shutil.copytree(federation / "alpha", tmp_path / "alpha")
    (tmp_path / "alpha" / POLICY_FILE).unlink()
    [ledger] = load_ledgers(discover([tmp_path / "alpha"])).verified
    assert not ledger.witnessed and ledger.cosigners == () and ledger.size == 3


def test_the_same_log_twice_is_counted_once(federation: Path, tmp_path: Path) -> None:
    shutil.copytree(federation / "alpha", tmp_path / "copy-of-alpha")
    result = load_ledgers(discover([federation, tmp_path / "copy-of-alpha"]))
    assert [v.label for v in result.verified] == ["alpha", "bravo"]
    [dup] = result.excluded
    assert dup.label == "copy-of-alpha" and "already loaded" in dup.reason


def test_a_directory_without_ledgers_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LogSourceError, match="holds no ledger export"):
        discover([tmp_path])
    with pytest.raises(LogSourceError, match="no such directory"):
        discover([tmp_path / "missing"])
