"""Creating a node home: ``accord node init``.

A node home is made whole or not at all: everything is built in a hidden sibling
directory and renamed into place in one step, so an interrupted or failed init leaves
nothing half-written, and an existing home is never overwritten.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

from node.config import (
    CONFIG_FILE,
    AgencyKind,
    Jurisdiction,
    NodeConfig,
    default_database_url,
    validate_listen,
    validate_name,
    validate_ori,
    write_config,
)
from node.errors import NodeHomeExistsError, SetupError
from node.identity import KEYS_DIR, PUBLIC_FILE, NodeKeys, generate_node_keys, write_node_keys
from node.peer_card import public_card

#: Legal profile used when the admin names none: the one matching the node's state if we
#: ship it, otherwise the permissive baseline that still denies by default.
DEFAULT_PROFILES = {"US-CA": "us-ca-sb34", "US-IL": "us-il-2-130"}


def _check_target(home: Path) -> None:
    if (home / CONFIG_FILE).exists():
        raise NodeHomeExistsError(home)
    if home.exists():
        if not home.is_dir():
            raise SetupError(f"{home} exists and is not a directory")
        if any(home.iterdir()):
            raise SetupError(f"{home} is not empty; choose a new or empty directory")


def init_node_home(
    home: Path,
    *,
    name: str,
    ori: str,
    jurisdiction: str,
    kind: str,
    listen: str = "127.0.0.1:7443",
    database_url: str | None = None,
    legal_profile: str | None = None,
    now: dt.datetime,
) -> tuple[NodeConfig, NodeKeys]:
    """Create a node home at ``home`` and return its configuration and keys.

    Validates every argument first, then builds the home in a temporary sibling
    directory (keys, certificate, config, migrated database) and renames it into place.
    """
    try:
        config = NodeConfig(
            home=home.resolve(),
            name=validate_name(name),
            ori=validate_ori(ori),
            jurisdiction=Jurisdiction.parse(jurisdiction),
            kind=AgencyKind(kind),
            listen=validate_listen(listen),
            database_url=database_url or default_database_url(home),
            legal_profile=legal_profile or DEFAULT_PROFILES.get(jurisdiction, "baseline"),
        )
    except ValueError as e:
        raise SetupError(str(e)) from e
    _check_target(config.home)
    config.home.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".accord-init-", dir=config.home.parent))
    try:
        os.chmod(staging, 0o700)
        keys = generate_node_keys(config.name, now=now)
        write_node_keys(staging, keys)
        (staging / KEYS_DIR / PUBLIC_FILE).write_bytes(public_card(config, keys))
        (staging / CONFIG_FILE).write_bytes(write_config(config))
        staging_url = default_database_url(staging) if database_url is None else config.database_url
        from node.store.migrate import upgrade

        upgrade(staging_url)
        _check_target(config.home)
        os.rename(staging, config.home)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return config, keys
