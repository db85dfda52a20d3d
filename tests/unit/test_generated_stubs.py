"""The committed stubs are exactly what scripts/gen_protos.sh produces from proto/."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]


def generated(root: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in (root / "accord" / "v1").iterdir()
        if p.is_file() and "_pb2" in p.name
    }


def test_regenerating_changes_nothing(tmp_path: Path) -> None:
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "gen_protos.sh"), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    fresh = generated(tmp_path)
    committed = generated(ROOT)
    assert sorted(fresh) == sorted(committed), "stubs missing or extra: run scripts/gen_protos.sh"
    changed = [name for name in fresh if fresh[name] != committed[name]]
    assert not changed, f"stale stubs {changed}: run scripts/gen_protos.sh and commit"


def test_every_proto_has_stubs_and_messages_round_trip() -> None:
    from accord.v1 import broker_pb2, common_pb2, exchange_pb2, ledger_pb2

    protos = sorted(p.stem for p in (ROOT / "proto" / "accord" / "v1").glob("*.proto"))
    assert sorted({n.split("_pb2")[0] for n in generated(ROOT)}) == protos
    request = exchange_pb2.EvaluateHitsRequest(
        query=exchange_pb2.HitQuery(body=b"{}", signature=b"s" * 64),
        blinded_elements=[b"\x01" * 32, b"\x02" * 32],
    )
    assert exchange_pb2.EvaluateHitsRequest.FromString(request.SerializeToString()) == request
    denial = common_pb2.PolicyDenial(rule_ids=["ca-sb34-no-federal"], reasons=["federal"])
    assert common_pb2.PolicyDenial.FromString(denial.SerializeToString()) == denial
    assert ledger_pb2.DESCRIPTOR.services_by_name["WitnessService"].methods_by_name["AddCheckpoint"]
    assert broker_pb2.DESCRIPTOR.services_by_name["RelayService"]
