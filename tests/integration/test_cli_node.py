"""The ``accord`` command as a user runs it: real processes, real files, real TLS."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import INIT_ARGS, accord


def test_help_is_clear() -> None:
    for args in ([], ["node"], ["node", "peers"]):
        result = accord(*args, "--help")
        assert result.returncode == 0
        assert "Usage" in result.stdout


def test_init_creates_a_complete_home_with_private_secrets(home: Path) -> None:
    for secret in (
        "keys/signing.key",
        "keys/log.key",
        "keys/witness.key",
        "keys/sealing.key",
        "tls/node.key",
    ):
        assert (home / secret).stat().st_mode & 0o777 == 0o600, secret
    assert (home / "tls/node.crt").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert (home / "accord.toml").exists()
    assert (home / "accord.db").exists()
    card = (home / "keys/public.toml").read_text()
    assert "santa-monica-pd" in card and "accord-ed25519-log-public-v1:" in card


def test_init_never_prints_secrets(tmp_path: Path) -> None:
    h = tmp_path / "n"
    result = accord("node", "init", "--dir", str(h), *INIT_ARGS)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    for secret in ("keys/signing.key", "keys/log.key", "keys/witness.key", "keys/sealing.key"):
        encoded = (h / secret).read_text().strip().split(":", 1)[1]
        assert encoded not in output
    assert "PRIVATE KEY" not in output
    show = accord("node", "show", "--dir", str(h))
    assert show.returncode == 0
    assert "PRIVATE" not in show.stdout


def test_init_twice_refuses_and_changes_nothing(home: Path) -> None:
    before = {p: p.read_bytes() for p in home.rglob("*") if p.is_file() and p.suffix != ".db"}
    result = accord("node", "init", "--dir", str(home), *INIT_ARGS)
    assert result.returncode == 1
    assert "refusing to overwrite" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ori", "nope"], "ORI"),
        (["--jurisdiction", "California"], "jurisdiction"),
        (["--name", "Santa Monica"], "node name"),
    ],
)
def test_init_rejects_bad_arguments_and_writes_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    h = tmp_path / "bad"
    base = dict(zip(INIT_ARGS[::2], INIT_ARGS[1::2], strict=True))
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [x for kv in base.items() for x in kv]
    result = accord("node", "init", "--dir", str(h), *flat)
    assert result.returncode == 1
    assert message in result.stderr
    assert not h.exists()
    assert list(tmp_path.iterdir()) == []


def test_unreachable_postgres_is_one_clear_line_and_nothing_written(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    h = tmp_path / "pg"
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"
    result = accord("node", "init", "--dir", str(h), *INIT_ARGS, "--database-url", url)
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_world_readable_key_is_refused_naming_the_file(home: Path) -> None:
    os.chmod(home / "keys/log.key", 0o644)
    result = accord("node", "serve", "--dir", str(home))
    assert result.returncode == 1
    assert "keys/log.key" in result.stderr and "readable by other users" in result.stderr


def test_corrupt_key_and_config_are_refused_naming_the_file(home: Path) -> None:
    (home / "keys/witness.key").write_text("garbage\n")
    result = accord("node", "serve", "--dir", str(home))
    assert result.returncode == 1
    assert "keys/witness.key" in result.stderr
    (home / "accord.toml").write_text("version = 1\n[node\n")
    result = accord("node", "show", "--dir", str(home))
    assert result.returncode == 1
    assert "accord.toml" in result.stderr and "TOML" in result.stderr


def test_missing_home_is_a_clear_error(tmp_path: Path) -> None:
    result = accord("node", "serve", "--dir", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "accord.toml" in result.stderr and "accord node init" in result.stderr


def test_database_from_a_newer_schema_is_refused(home: Path) -> None:
    import sqlite3

    with sqlite3.connect(home / "accord.db") as db:
        db.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    result = accord("node", "serve", "--dir", str(home))
    assert result.returncode == 1
    assert "ffffffffffff" in result.stderr or "newer" in result.stderr


def test_serve_answers_health_and_stops_gracefully_on_sigterm(home: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "accord.cli", "node", "serve", "--dir", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+)", line)
        assert match, line
        port = int(match.group(1))
        probe = subprocess.run(
            [sys.executable, "-c", _HEALTH_PROBE, str(home), str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert probe.stdout.strip() == "SERVING", probe.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        _, err = proc.communicate()
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert lines, "the node logs its start and stop"
        assert all("[req=" in ln for ln in lines), err
        assert "stopped" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        h = tmp_path / "busy"
        assert (
            accord(
                "node", "init", "--dir", str(h), *INIT_ARGS, "--listen", f"127.0.0.1:{port}"
            ).returncode
            == 0
        )
        start = time.monotonic()
        result = accord("node", "serve", "--dir", str(h))
        assert time.monotonic() - start < 30
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr and "server.listen" in result.stderr


_HEALTH_PROBE = """
import asyncio, sys
from pathlib import Path
from node.identity import load_tls_identity
from node.rpc.client import check_health, peer_channel

home, port = Path(sys.argv[1]), sys.argv[2]
tls = load_tls_identity(home)

async def main():
    async with peer_channel(own_name="santa-monica-pd", own_tls=tls, peer_name="santa-monica-pd",
                            peer_cert_pem=tls.cert_pem, endpoint=f"127.0.0.1:{port}") as ch:
        print(await check_health(ch, "santa-monica-pd"))

asyncio.run(main())
"""


def pin(home: Path, peer: Path, *, keys_of: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``accord node peers add`` of ``peer``'s certificate (and card, or another's)."""
    card = (keys_of or peer) / "keys/public.toml"
    return accord(
        "node", "peers", "add", "--dir", str(home), "--cert", str(peer / "tls/node.crt"),
        "--keys", str(card), "--endpoint", "127.0.0.1:7444",
    )  # fmt: skip


def test_peers_add_list_suspend_restore(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert accord("node", "init", "--dir", str(a), *INIT_ARGS).returncode == 0
    other = [
        "--name",
        "culver-city-pd",
        "--ori",
        "CA0191600",
        "--jurisdiction",
        "US-CA",
        "--kind",
        "municipal",
    ]
    assert accord("node", "init", "--dir", str(b), *other).returncode == 0
    added = pin(a, b)
    assert added.returncode == 0, added.stderr
    assert "culver-city-pd" in added.stdout
    listed = accord("node", "peers", "list", "--dir", str(a))
    assert (
        "culver-city-pd" in listed.stdout
        and "CA0191600" in listed.stdout
        and "yes" in listed.stdout
    )
    again = pin(a, b)
    assert again.returncode == 1
    assert len(again.stderr.strip().splitlines()) == 1
    assert accord("node", "peers", "suspend", "--dir", str(a), "culver-city-pd").returncode == 0
    assert " no " in accord("node", "peers", "list", "--dir", str(a)).stdout
    assert accord("node", "peers", "restore", "--dir", str(a), "culver-city-pd").returncode == 0
    missing = accord("node", "peers", "suspend", "--dir", str(a), "nobody")
    assert missing.returncode == 1
    assert "nobody" in missing.stderr


def test_peer_card_and_certificate_must_belong_together(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert accord("node", "init", "--dir", str(a), *INIT_ARGS).returncode == 0
    for h, name in ((b, "culver-city-pd"), (c, "los-angeles-pd")):
        args = [
            "--name",
            name,
            "--ori",
            "CA0191600",
            "--jurisdiction",
            "US-CA",
            "--kind",
            "municipal",
        ]
        assert accord("node", "init", "--dir", str(h), *args).returncode == 0
    mixed = pin(a, c, keys_of=b)
    assert mixed.returncode == 1
    assert "node.crt" in mixed.stderr
    own = pin(a, a)
    assert own.returncode == 1
    assert "own certificate" in own.stderr
