"""Broker homes and node cards on disk, real keys and certificates (no node database)."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from broker.home import BrokerHome, init_broker_home
from node.config import AgencyKind, Jurisdiction, NodeConfig
from node.identity import NodeKeys, generate_node_keys
from node.peer_card import public_card

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)

#: (cert path, card path, keys) of a node with this name and ORI.
CardMaker = Callable[..., tuple[Path, Path, NodeKeys]]


@pytest.fixture
def broker(tmp_path: Path) -> BrokerHome:
    init_broker_home(
        tmp_path / "broker", federation="socal", listen="127.0.0.1:0", validity_s=3600, now=NOW
    )
    return BrokerHome.open(tmp_path / "broker")


@pytest.fixture
def make_card(tmp_path: Path) -> CardMaker:
    def make(
        name: str, ori: str, *, jurisdiction: str = "US-CA", kind: str = "municipal"
    ) -> tuple[Path, Path, NodeKeys]:
        keys = generate_node_keys(name, now=NOW)
        config = NodeConfig(
            home=tmp_path / name,
            name=name,
            ori=ori,
            jurisdiction=Jurisdiction.parse(jurisdiction),
            kind=AgencyKind(kind),
            listen="127.0.0.1:0",
            database_url="sqlite://",
            legal_profile="baseline",
        )
        (tmp_path / "cards").mkdir(exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=tmp_path / "cards"))
        (folder / "node.crt").write_bytes(keys.tls.cert_pem)
        (folder / "public.toml").write_bytes(public_card(config, keys))
        return folder / "node.crt", folder / "public.toml", keys

    return make
