"""The broker home: ``accord broker init`` creates it, every other command opens it.

Layout::

    broker.toml                 federation name, listen address, directory validity
    keys/operator.key (0600)    federation operator's Ed25519 key: signs directories
    keys/witness.key  (0600)    the broker witness's cosignature/v1 key
    keys/operator.pub           operator public key (hex): what nodes pin
    keys/witness.vkey           witness verifier key: what nodes and auditors name
    tls/broker.key (0600), tls/broker.crt   the server's TLS identity (pinned by nodes)
    directory/                  signed snapshots (the member list), see broker.snapshots
    witness/                    members' checkpoints the broker cosigned

A home is created whole or not at all: built in a hidden sibling and renamed into place.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from broker.config import (
    CONFIG_FILE,
    DEFAULT_VALIDITY_S,
    BrokerConfig,
    load_config,
    render_config,
    validate_federation,
    validate_listen,
    validate_validity,
)
from broker.errors import BrokerHomeExistsError, BrokerSetupError
from broker.files import home_lock, write_new
from broker.keys import BrokerKeys, generate_broker_keys, load_broker_keys, write_broker_keys
from broker.snapshots import SNAPSHOT_DIR, Snapshot, SnapshotFiles
from crypto.directory import Member

WITNESS_DIR = "witness"


def _check_target(home: Path) -> None:
    if (home / CONFIG_FILE).exists():
        raise BrokerHomeExistsError(home)
    if home.exists() and (not home.is_dir() or any(home.iterdir())):
        raise BrokerSetupError(f"{home} is not an empty directory; choose a new one")


def init_broker_home(
    home: Path,
    *,
    federation: str,
    listen: str,
    validity_s: int = DEFAULT_VALIDITY_S,
    now: dt.datetime,
) -> tuple[BrokerConfig, BrokerKeys]:
    """Create a broker home and publish its first (empty) directory, version 1."""
    try:
        config = BrokerConfig(
            home=home.resolve(),
            federation=validate_federation(federation),
            listen=validate_listen(listen),
            validity_s=validate_validity(validity_s),
        )
    except ValueError as e:
        raise BrokerSetupError(str(e)) from e
    _check_target(config.home)
    config.home.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".accord-broker-init-", dir=config.home.parent))
    try:
        os.chmod(staging, 0o700)
        keys = generate_broker_keys(config.federation, now=now)
        write_broker_keys(staging, keys, config.federation)
        write_new(staging / CONFIG_FILE, render_config(config), 0o644)
        (staging / SNAPSHOT_DIR).mkdir(mode=0o755)
        (staging / WITNESS_DIR).mkdir(mode=0o700)
        SnapshotFiles(staging, bytes(keys.operator.verify_key)).publish(
            config.federation,
            (),
            keys.operator,
            now_ms=_ms(now),
            validity_ms=config.validity_s * 1000,
        )
        _check_target(config.home)
        os.rename(staging, config.home)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return config, keys


def _ms(now: dt.datetime) -> int:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return int(now.timestamp() * 1000)


@dataclass
class BrokerHome:
    """An opened broker home: configuration, keys and the published directory."""

    config: BrokerConfig
    keys: BrokerKeys
    snapshots: SnapshotFiles

    @classmethod
    def open(cls, home: Path) -> BrokerHome:
        if not (home / CONFIG_FILE).exists():
            raise BrokerSetupError(f"{home} is not a broker home (run `accord broker init`)")
        config = load_config(home)
        keys = load_broker_keys(home)
        return cls(config, keys, SnapshotFiles(home, bytes(keys.operator.verify_key)))

    @property
    def home(self) -> Path:
        return self.config.home

    def current(self) -> Snapshot:
        current = self.snapshots.current()
        if current is None:
            raise BrokerSetupError(f"{self.snapshots.current_path}: missing")
        return current

    def change(
        self,
        edit: Callable[[tuple[Member, ...]], tuple[Member, ...]],
        *,
        now: dt.datetime,
    ) -> Snapshot:
        """Apply ``edit`` to the member list and publish the result as a new version.

        Holds the home lock, so a running broker re-signing and an operator's command
        cannot both publish the same version.
        """
        with home_lock(self.home):
            members = edit(self.snapshots.members())
            return self.snapshots.publish(
                self.config.federation,
                members,
                self.keys.operator,
                now_ms=_ms(now),
                validity_ms=self.config.validity_s * 1000,
            )

    def publish(self, *, now: dt.datetime) -> Snapshot:
        """Re-sign the current members as a new version with a fresh validity."""
        return self.change(lambda members: members, now=now)

    def resign_if_due(self, *, now: dt.datetime) -> Snapshot | None:
        """Re-sign when less than half the validity is left (so nodes refreshing at any
        sane period always find a directory far from expiry)."""
        with home_lock(self.home):
            current = self.current()
            left_ms = current.directory.expires_ms - _ms(now)
            if left_ms > self.config.validity_s * 1000 // 2:
                return None
        return self.publish(now=now)
