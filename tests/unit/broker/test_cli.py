"""``accord broker ...`` and ``accord node federation join`` as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import INIT_ARGS, accord
from tests.unit.broker.conftest import CardMaker


def _one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


def test_broker_init_members_and_publish(tmp_path: Path, make_card: CardMaker) -> None:
    d = str(tmp_path / "b")
    result = accord(
        "broker", "init", "--dir", d, "--federation", "socal", "--listen", "127.0.0.1:0"
    )
    assert result.returncode == 0, result.stderr
    operator = (tmp_path / "b/keys/operator.pub").read_text().strip()
    assert operator in result.stdout
    assert "PRIVATE" not in result.stdout and "secret" not in result.stdout.lower().replace(
        "secret keys were written", ""
    )
    again = accord("broker", "init", "--dir", d, "--federation", "socal")
    assert again.returncode == 1
    assert "already holds" in _one_error_line(again.stderr)

    cert, card, _ = make_card("santa-monica-pd", "CA0194200")
    add = [
        "broker", "member", "add", "--dir", d, "--name", "santa-monica-pd", "--ori", "CA0194200",
        "--jurisdiction", "US-CA", "--kind", "municipal", "--cert", str(cert), "--keys", str(card),
    ]  # fmt: skip
    result = accord(*add, "--endpoint", "127.0.0.1:7443")
    assert result.returncode == 0, result.stderr
    assert "version 2 published" in result.stdout
    dup = accord(*add, "--endpoint", "127.0.0.1:7443")
    assert dup.returncode == 1 and "already a member" in _one_error_line(dup.stderr)
    both = accord(*add, "--endpoint", "127.0.0.1:7443", "--relay-only")
    assert both.returncode == 1 and "exactly one" in _one_error_line(both.stderr)

    result = accord("broker", "member", "update", "--dir", d, "santa-monica-pd", "--relay-only")
    assert result.returncode == 0, result.stderr
    listed = accord("broker", "member", "list", "--dir", d, "--json")
    assert listed.returncode == 0, listed.stderr
    doc = json.loads(listed.stdout)
    assert doc["version"] == 3
    assert doc["members"] == [
        {
            "name": "santa-monica-pd",
            "ori": "CA0194200",
            "jurisdiction": "US-CA",
            "kind": "municipal",
            "endpoint": None,
            "relay_only": True,
            "cert_sha256": doc["members"][0]["cert_sha256"],
        }
    ]
    assert accord("broker", "publish", "--dir", d).returncode == 0
    assert accord("broker", "member", "remove", "--dir", d, "santa-monica-pd").returncode == 0
    gone = accord("broker", "member", "remove", "--dir", d, "santa-monica-pd")
    assert gone.returncode == 1 and "no member named" in _one_error_line(gone.stderr)
    table = accord("broker", "member", "list", "--dir", d)
    assert "version 5" in table.stdout


def test_join_then_peers_come_only_from_the_directory(tmp_path: Path) -> None:
    b, n = str(tmp_path / "b"), tmp_path / "smpd"
    assert accord("broker", "init", "--dir", b, "--federation", "socal").returncode == 0
    result = accord("node", "init", "--dir", str(n), *INIT_ARGS, "--listen", "127.0.0.1:0")
    assert result.returncode == 0, result.stderr
    join = [
        "node", "federation", "join", "--dir", str(n), "--broker", "127.0.0.1:7400",
        "--broker-cert", f"{b}/tls/broker.crt",
    ]  # fmt: skip
    bad = accord(*join, "--operator-key", "not-hex")
    assert bad.returncode == 1 and "operator_key" in _one_error_line(bad.stderr)
    assert "[federation]" not in (n / "accord.toml").read_text()
    result = accord(
        *join,
        "--operator-key",
        f"{b}/keys/operator.pub",
        "--broker-witness",
        f"{b}/keys/witness.vkey",
        "--refresh-s",
        "30",
    )
    assert result.returncode == 0, result.stderr
    config = (n / "accord.toml").read_text()
    assert "[federation]" in config and "refresh_s = 30" in config
    assert (n / "federation/broker.crt").read_bytes() == Path(b, "tls/broker.crt").read_bytes()
    shown = accord("node", "federation", "show", "--dir", str(n))
    assert shown.returncode == 0 and "none held yet" in shown.stdout
    refused = accord(
        "node", "peers", "add", "--dir", str(n), "--cert", str(n / "tls/node.crt"),
        "--keys", str(n / "keys/public.toml"), "--endpoint", "127.0.0.1:1",
    )  # fmt: skip
    assert refused.returncode == 1
    assert "federated" in _one_error_line(refused.stderr)
    policy = accord("ledger", "policy", "--dir", str(n), "--quorum", "1")
    assert policy.returncode == 0, policy.stderr
    assert "accord/broker/socal/witness+" in policy.stdout
