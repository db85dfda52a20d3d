"""``accord broker serve`` as a process: members only, operator changes served at once,
graceful SIGTERM."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from accord.v1 import broker_pb2, broker_pb2_grpc
from crypto.certs import TlsIdentity, new_tls_identity
from crypto.directory import decode_directory
from tests.support.cli import accord
from tests.unit.broker.conftest import CardMaker


def _channel(port: int, broker_cert: bytes, client: TlsIdentity) -> grpc.aio.Channel:
    creds = grpc.ssl_channel_credentials(broker_cert, client.key_pem, client.cert_pem)
    return grpc.aio.secure_channel(
        f"127.0.0.1:{port}", creds, options=[("grpc.ssl_target_name_override", "broker.socal")]
    )


async def _health(port: int, broker_cert: bytes, client: TlsIdentity) -> str:
    async with _channel(port, broker_cert, client) as channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)
        reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def _version(port: int, broker_cert: bytes, client: TlsIdentity) -> int:
    async with _channel(port, broker_cert, client) as channel:
        stub: Any = broker_pb2_grpc.DirectoryServiceStub(channel)
        reply = await stub.GetDirectory(broker_pb2.GetDirectoryRequest(), timeout=10)
    return decode_directory(reply.directory).version


def test_serve_admits_members_only_and_stops_on_sigterm(
    tmp_path: Path, make_card: CardMaker
) -> None:
    d = tmp_path / "b"
    assert accord("broker", "init", "--dir", str(d), "--federation", "socal", "--listen",
                  "127.0.0.1:0").returncode == 0  # fmt: skip
    broker_cert = (d / "tls/broker.crt").read_bytes()
    own = TlsIdentity((d / "tls/broker.key").read_bytes(), broker_cert)
    proc = subprocess.Popen(
        [sys.executable, "-m", "accord.cli", "broker", "serve", "--dir", str(d)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"port (\d+)", line)
        assert match, line
        port = int(match.group(1))
        assert asyncio.run(_health(port, broker_cert, own)) == "SERVING"
        assert asyncio.run(_version(port, broker_cert, own)) == 1

        cert, card, keys = make_card("santa-monica-pd", "CA0194200")
        with pytest.raises(grpc.aio.AioRpcError) as refused:  # not a member yet
            asyncio.run(_version(port, broker_cert, keys.tls))
        assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
        added = accord(
            "broker", "member", "add", "--dir", str(d), "--name", "santa-monica-pd",
            "--ori", "CA0194200", "--jurisdiction", "US-CA", "--kind", "municipal",
            "--cert", str(cert), "--keys", str(card), "--relay-only",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert (
            asyncio.run(_version(port, broker_cert, keys.tls)) == 2
        )  # served by the running broker
        stranger = new_tls_identity("santa-monica-pd", now=dt.datetime.now(dt.UTC))
        with pytest.raises(grpc.aio.AioRpcError):  # same name, another certificate
            asyncio.run(_version(port, broker_cert, stranger))

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        _, err = proc.communicate()
        assert "stopped" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
