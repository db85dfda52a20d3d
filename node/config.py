"""The node's configuration file (``accord.toml`` in the node home).

The file is small and written once by ``accord node init``; every setting is validated on
load and an error names the file and the setting, so an admin knows what to fix.
"""

from __future__ import annotations

import enum
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from node.errors import ConfigError

if TYPE_CHECKING:
    from node.federation.settings import FederationSettings

CONFIG_FILE = "accord.toml"
CONFIG_VERSION = 1

_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# NCIC Originating Agency Identifier: two-letter state code and seven characters.
_ORI_RE = re.compile(r"^[A-Z]{2}[A-Z0-9]{7}$")
# ISO 3166-2 subdivision (US-CA) or a bare country (US).
_JURISDICTION_RE = re.compile(r"^[A-Z]{2}(?:-[A-Z0-9]{1,3})?$")
_LISTEN_RE = re.compile(r"^(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})$")


class AgencyKind(enum.StrEnum):
    """The kind of agency a node serves; legal profiles decide on it."""

    MUNICIPAL = "municipal"
    COUNTY = "county"
    STATE = "state"
    FEDERAL = "federal"
    TRIBAL = "tribal"
    PRIVATE = "private"


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """Where an agency sits: an ISO 3166-1 country and, usually, an ISO 3166-2 subdivision."""

    country: str
    subdivision: str | None

    @classmethod
    def parse(cls, text: str) -> Jurisdiction:
        if not _JURISDICTION_RE.match(text):
            raise ValueError(f"jurisdiction {text!r} is not ISO 3166-2 like US-CA")
        country, _, sub = text.partition("-")
        return cls(country=country, subdivision=sub or None)

    def __str__(self) -> str:
        return f"{self.country}-{self.subdivision}" if self.subdivision else self.country


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Everything a node needs to start, as read from its home directory."""

    home: Path
    name: str
    ori: str
    jurisdiction: Jurisdiction
    kind: AgencyKind
    listen: str
    database_url: str
    legal_profile: str
    #: Where alerts are POSTed as JSON (``[alerts] webhook``), if anywhere.
    alerts_webhook: str | None = None
    #: Days to keep each data class (``[retention]``), as the admin set them; classes not
    #: listed keep their defaults. Validated against the state cap on load
    #: (:mod:`node.retention.settings`).
    retention_days: Mapping[str, int] = field(default_factory=dict)
    #: The federation broker (``[federation]``); when set, peers come only from its
    #: signed directory (:mod:`node.federation`).
    federation: FederationSettings | None = None

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_FILE


def validate_name(name: str) -> str:
    """Node names are DNS labels: they appear in certificates and log origins."""
    if not _NAME_RE.match(name):
        raise ValueError(
            f"node name {name!r} must be lower-case letters, digits and '-', 1-63 characters"
        )
    return name


def validate_ori(ori: str) -> str:
    """An ORI is two letters and seven letters or digits (e.g. CA0194200)."""
    if not _ORI_RE.match(ori):
        raise ValueError(f"ORI {ori!r} must be two letters and seven letters or digits")
    return ori


def validate_listen(address: str) -> str:
    """``host:port``, with a port from 0 (any free port) to 65535."""
    m = _LISTEN_RE.match(address)
    if not m or int(m.group("port")) > 65535:
        raise ValueError(f"listen address {address!r} must be host:port")
    return address


def default_database_url(home: Path) -> str:
    """The embedded SQLite database inside the node home."""
    return f"sqlite:///{(home / 'accord.db').resolve()}"


def write_config(config: NodeConfig) -> bytes:
    """Render ``config`` as the TOML bytes of ``accord.toml``."""
    doc: dict[str, Any] = {
        "version": CONFIG_VERSION,
        "node": {
            "name": config.name,
            "ori": config.ori,
            "jurisdiction": str(config.jurisdiction),
            "kind": config.kind.value,
            "legal_profile": config.legal_profile,
        },
        "server": {"listen": config.listen},
        "database": {"url": config.database_url},
    }
    if config.alerts_webhook is not None:
        doc["alerts"] = {"webhook": config.alerts_webhook}
    if config.retention_days:
        doc["retention"] = dict(sorted(config.retention_days.items()))
    if config.federation is not None:
        doc["federation"] = config.federation.to_table()
    return tomli_w.dumps(doc).encode()


def _get(doc: dict[str, Any], path: Path, dotted: str) -> Any:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(path, "missing", setting=dotted)
        node = node[part]
    return node


def _get_str(doc: dict[str, Any], path: Path, dotted: str) -> str:
    value = _get(doc, path, dotted)
    if not isinstance(value, str):
        raise ConfigError(path, "must be a string", setting=dotted)
    return value


def load_config(home: Path) -> NodeConfig:
    """Read and validate ``home/accord.toml``.

    Raises :class:`ConfigError` naming the file and setting on any problem.
    """
    path = home / CONFIG_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError as e:
        raise ConfigError(path, "not found (is this a node home? run `accord node init`)") from e
    except OSError as e:
        raise ConfigError(path, f"cannot be read: {e.strerror}") from e
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(path, f"is not valid TOML: {e}") from e
    version = doc.get("version")
    if version != CONFIG_VERSION:
        raise ConfigError(path, f"unsupported version {version!r}", setting="version")

    def checked(dotted: str, validate: Any) -> Any:
        value = _get_str(doc, path, dotted)
        try:
            return validate(value)
        except ValueError as e:
            raise ConfigError(path, str(e), setting=dotted) from e

    jurisdiction = checked("node.jurisdiction", Jurisdiction.parse)
    return NodeConfig(
        home=home,
        name=checked("node.name", validate_name),
        ori=checked("node.ori", validate_ori),
        jurisdiction=jurisdiction,
        kind=checked("node.kind", AgencyKind),
        listen=checked("server.listen", validate_listen),
        database_url=_get_str(doc, path, "database.url"),
        legal_profile=_get_str(doc, path, "node.legal_profile"),
        alerts_webhook=_webhook(doc, path),
        retention_days=_retention(doc, path, str(jurisdiction)),
        federation=_federation(doc, path),
    )


def _federation(doc: dict[str, Any], path: Path) -> FederationSettings | None:
    if "federation" not in doc:
        return None
    from node.federation.settings import parse_federation

    return parse_federation(doc["federation"], path)


def _webhook(doc: dict[str, Any], path: Path) -> str | None:
    alerts = doc.get("alerts")
    if alerts is None:
        return None
    if not isinstance(alerts, dict):
        raise ConfigError(path, "must be a table", setting="alerts")
    if "webhook" not in alerts:
        return None
    url = _get_str(doc, path, "alerts.webhook")
    if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
        raise ConfigError(path, "must be an http:// or https:// URL", setting="alerts.webhook")
    return url


def _retention(doc: dict[str, Any], path: Path, jurisdiction: str) -> dict[str, int]:
    """``[retention]``: checked here so a setting over the state cap stops the node at load."""
    table = doc.get("retention")
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ConfigError(path, "must be a table", setting="retention")
    # Imported here: the settings import the store, which a config reader must not need.
    from node.retention.settings import RetentionSettings

    for name, value in table.items():
        try:
            RetentionSettings.from_days(jurisdiction, {name: value})
        except ValueError as e:
            raise ConfigError(path, str(e), setting=f"retention.{name}") from e
    return dict(table)
