"""``[federation]`` settings, the pinned broker certificate, the held directory file and
join: each bad input refused with the setting or file named, nothing half-written."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from crypto.certs import new_tls_identity
from crypto.directory import Directory, sign_directory
from crypto.note import NoteSigner, WitnessSigner
from node.config import AgencyKind, Jurisdiction, NodeConfig, load_config, write_config
from node.errors import ConfigError
from node.federation.errors import FederationSetupError
from node.federation.held import held_path, load_held, store_held
from node.federation.join import join_federation
from node.federation.settings import load_pinned_broker, parse_federation

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
OPERATOR = SigningKey(b"\x07" * 32)
WITNESS_VKEY = WitnessSigner(
    "accord/broker/socal/witness", SigningKey(b"\x08" * 32)
).verifier.vkey()


def _table(**overrides: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "broker": "127.0.0.1:7400",
        "broker_cert": "federation/broker.crt",
        "broker_cert_sha256": "ab" * 32,
        "operator_key": bytes(OPERATOR.verify_key).hex(),
        "broker_witness": WITNESS_VKEY,
        "refresh_s": 30,
    }
    table.update(overrides)
    return {k: v for k, v in table.items() if v is not None}


def test_valid_settings_round_trip() -> None:
    settings = parse_federation(_table(), Path("accord.toml"))
    assert settings.operator_key == bytes(OPERATOR.verify_key)
    assert settings.refresh_s == 30.0
    assert settings.witness_verifier() is not None
    assert parse_federation(settings.to_table(), Path("accord.toml")) == settings
    assert parse_federation(_table(broker_witness=None), Path("x")).witness_verifier() is None


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("broker", None, "missing"),
        ("broker", "no-port", "host:port"),
        ("broker_cert", "/etc/broker.crt", "inside the node home"),
        ("broker_cert", "../broker.crt", "inside the node home"),
        ("broker_cert_sha256", "AB" * 32, "hex"),
        ("operator_key", "00" * 31, "64 hex"),
        ("operator_key", 5, "wrong type"),
        ("refresh_s", 0, "between"),
        ("refresh_s", True, "wrong type"),
        ("broker_witness", NoteSigner("log", SigningKey(b"\x01" * 32)).verifier.vkey(), "cosig"),
    ],
)
def test_bad_settings_name_the_setting(key: str, value: Any, message: str) -> None:
    table = _table(**{key: value})
    if value is None:
        table.pop(key, None)
    with pytest.raises(ConfigError, match=f"federation.{key}.*{message}"):
        parse_federation(table, Path("accord.toml"))


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "smpd"
    home.mkdir()
    config = NodeConfig(
        home=home,
        name="santa-monica-pd",
        ori="CA0194200",
        jurisdiction=Jurisdiction.parse("US-CA"),
        kind=AgencyKind.MUNICIPAL,
        listen="127.0.0.1:0",
        database_url="sqlite://",
        legal_profile="baseline",
    )
    (home / "accord.toml").write_bytes(write_config(config))
    return home


def _directory(version: int) -> Directory:
    return Directory("socal", version, 1, int(NOW.timestamp() * 1000) + 3_600_000, ())


def test_held_directory_round_trips_and_refuses_tampering(tmp_path: Path) -> None:
    home = _home(tmp_path)
    key = bytes(OPERATOR.verify_key)
    assert load_held(home, key) is None
    signed = sign_directory(_directory(4), OPERATOR)
    store_held(home, signed)
    loaded = load_held(home, key)
    assert loaded is not None and loaded[0] == signed and loaded[1].version == 4
    with pytest.raises(FederationSetupError, match="does not verify"):
        load_held(home, bytes(SigningKey.generate().verify_key))
    doc = json.loads(held_path(home).read_bytes())
    doc["signature"] = doc["signature"][::-1]
    held_path(home).write_text(json.dumps(doc))
    with pytest.raises(FederationSetupError, match="does not verify"):
        load_held(home, key)
    held_path(home).write_text("{not json")
    with pytest.raises(FederationSetupError, match="unreadable"):
        load_held(home, key)


def test_join_writes_the_table_and_pins_the_certificate(tmp_path: Path) -> None:
    home = _home(tmp_path)
    broker = new_tls_identity("broker.socal", now=NOW)
    cert = tmp_path / "broker.crt"
    cert.write_bytes(broker.cert_pem)
    key_file = tmp_path / "operator.pub"
    key_file.write_text(bytes(OPERATOR.verify_key).hex() + "\n")
    with pytest.raises(FederationSetupError, match="operator_key"):
        join_federation(home, broker="127.0.0.1:7400", broker_cert=cert, operator_key="zz")
    with pytest.raises(FederationSetupError, match="cannot be read"):
        join_federation(
            home, broker="127.0.0.1:7400", broker_cert=tmp_path / "no.crt", operator_key="0" * 64
        )
    assert load_config(home).federation is None  # nothing written by a refusal
    config = join_federation(
        home, broker="127.0.0.1:7400", broker_cert=cert, operator_key=str(key_file)
    )
    assert config.federation is not None
    assert load_config(home).federation == config.federation
    assert config.federation.broker_cert_sha256 == broker.fingerprint
    assert load_pinned_broker(home, config.federation).tls_name == "broker.socal"
    # A swapped certificate file no longer matches the pin.
    (home / config.federation.broker_cert).write_bytes(
        new_tls_identity("broker.socal", now=NOW).cert_pem
    )
    with pytest.raises(ConfigError, match="broker_cert_sha256"):
        load_pinned_broker(home, config.federation)
    # A node holding another operator's directory does not silently change federation.
    store_held(home, sign_directory(_directory(2), OPERATOR))
    other = SigningKey.generate()
    with pytest.raises(FederationSetupError, match="another operator key"):
        join_federation(
            home,
            broker="127.0.0.1:7400",
            broker_cert=cert,
            operator_key=bytes(other.verify_key).hex(),
        )
    kept = load_config(home).federation
    assert kept is not None and kept.operator_key == bytes(OPERATOR.verify_key)
