"""Hotlist work on a node home: what ``accord hotlist import|list|remove`` run.

These open the node's store directly (no server is needed) and tell the caller which
categories the node's legal profile excludes, so that the CLI can say so: entries of an
excluded category are kept, but never matched or shared (see
:mod:`node.hotlists.categories`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from node.app import open_store
from node.config import NodeConfig
from node.hotlists.categories import excluded_categories
from node.hotlists.formats import HotlistFormat
from node.hotlists.items import Defaults
from node.hotlists.parse import ColumnMap, parse_hotlist
from node.hotlists.store import (
    HotlistSummary,
    ImportResult,
    hotlist_id,
    import_hotlist,
    list_hotlists,
)
from node.identity import load_node_keys
from node.ingest.files import read_import_text
from node.policy.profile import LegalProfile
from node.store.db import session_scope
from node.store.hotlists import HotlistRepository


@dataclass(frozen=True, slots=True)
class HotlistImport:
    """An import's result, and which of its categories ``profile`` excludes (by rule id)."""

    result: ImportResult
    profile: str
    excluded: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class HotlistListing:
    """The node's hotlists, and which of their categories ``profile`` excludes."""

    hotlists: list[HotlistSummary]
    profile: str
    excluded: Mapping[str, tuple[str, ...]]


def import_hotlist_file(
    home: Path,
    path: Path,
    list_id: str,
    *,
    name: str | None,
    fmt: HotlistFormat | None = None,
    columns: str | None = None,
    source: str | None = None,
    defaults: Defaults | None = None,
    now: dt.datetime,
) -> HotlistImport:
    """Import a hotlist file (``fmt`` ``None``: by its suffix) onto hotlist ``list_id``.

    ``source`` defaults to the file's name. The file is parsed before the store is opened,
    so a file that cannot be used changes nothing.
    """
    checked_id = hotlist_id(list_id)
    text = read_import_text(path)
    items = parse_hotlist(
        text,
        fmt or HotlistFormat.for_path(path),
        columns=ColumnMap.parse(columns) if columns else None,
        defaults=defaults or Defaults(),
        now=now,
    )
    config, engine, sessions = open_store(home)
    try:
        result = import_hotlist(
            sessions,
            checked_id,
            name=name,
            source=source or path.name,
            items=items,
            lookup_key=load_node_keys(home).lookup,
            now=now,
        )
    finally:
        engine.dispose()
    return HotlistImport(result, config.legal_profile, _excluded(config, result.categories))


def hotlists_at(home: Path, *, now: dt.datetime) -> HotlistListing:
    """The node's hotlists with their unexpired entries per category."""
    config, engine, sessions = open_store(home)
    try:
        with session_scope(sessions) as s:
            found = list_hotlists(s, now=now)
    finally:
        engine.dispose()
    categories = {c for summary in found for c in summary.categories}
    return HotlistListing(found, config.legal_profile, _excluded(config, categories))


def remove_hotlist(home: Path, list_id: str) -> None:
    """Delete a hotlist and all its entries; a store ``NotFoundError`` if there is none."""
    checked_id = hotlist_id(list_id)
    _, engine, sessions = open_store(home)
    try:
        with session_scope(sessions) as s:
            HotlistRepository(s).delete(checked_id)
    finally:
        engine.dispose()


def _excluded(config: NodeConfig, categories: Iterable[str]) -> dict[str, tuple[str, ...]]:
    wanted = set(categories)
    if not wanted:
        return {}
    return excluded_categories(
        LegalProfile.load(config.legal_profile),
        wanted,
        ori=config.ori,
        jurisdiction=config.jurisdiction,
        kind=config.kind,
    )
