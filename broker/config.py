"""The broker's configuration file (``broker.toml`` in the broker home).

Written once by ``accord broker init``; validated on every load, and an error names the
file and the setting.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from broker.errors import BrokerConfigError

CONFIG_FILE = "broker.toml"
CONFIG_VERSION = 1
#: How long a published directory is valid by default. Nodes refuse an expired one, so
#: this bounds how long a broker outage can last before federated nodes fail closed.
DEFAULT_VALIDITY_S = 7 * 24 * 3600

_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_LISTEN = re.compile(r"^(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})$")


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """What a broker needs to start, as read from its home."""

    home: Path
    federation: str
    listen: str
    validity_s: int = DEFAULT_VALIDITY_S

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_FILE


def validate_federation(name: str) -> str:
    """Federation names are DNS labels: they appear in key names and certificates."""
    if not _NAME.match(name):
        raise ValueError(
            f"federation name {name!r} must be lower-case letters, digits and '-', 1-63 long"
        )
    return name


def validate_listen(address: str) -> str:
    m = _LISTEN.match(address)
    if not m or int(m.group("port")) > 65535:
        raise ValueError(f"listen address {address!r} must be host:port")
    return address


def validate_validity(seconds: int) -> int:
    if not 1 <= seconds <= 366 * 24 * 3600:
        raise ValueError("directory validity must be between 1 second and a year")
    return seconds


def render_config(config: BrokerConfig) -> bytes:
    doc = {
        "version": CONFIG_VERSION,
        "broker": {
            "federation": config.federation,
            "listen": config.listen,
            "directory_validity_s": config.validity_s,
        },
    }
    return tomli_w.dumps(doc).encode()


def load_config(home: Path) -> BrokerConfig:
    """Read and validate ``home/broker.toml``; raises :class:`BrokerConfigError`."""
    path = home / CONFIG_FILE
    try:
        doc = tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError as e:
        raise BrokerConfigError(path, "not found (run `accord broker init`)") from e
    except OSError as e:
        raise BrokerConfigError(path, f"cannot be read: {e.strerror}") from e
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise BrokerConfigError(path, f"is not valid TOML: {e}") from e
    if doc.get("version") != CONFIG_VERSION:
        raise BrokerConfigError(path, f"unsupported version {doc.get('version')!r}", "version")
    table = doc.get("broker")
    if not isinstance(table, dict):
        raise BrokerConfigError(path, "missing", "broker")

    def checked(key: str, kind: type, validate: Any) -> Any:
        value = table.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise BrokerConfigError(path, f"must be a {kind.__name__}", f"broker.{key}")
        try:
            return validate(value)
        except ValueError as e:
            raise BrokerConfigError(path, str(e), f"broker.{key}") from e

    return BrokerConfig(
        home=home,
        federation=checked("federation", str, validate_federation),
        listen=checked("listen", str, validate_listen),
        validity_s=checked("directory_validity_s", int, validate_validity),
    )
