"""C2SP ``tlog-tiles``: where each tile and entry bundle of a log lives, and its bytes.

- Hash tiles ``tile/<L>/<N>[.p/<W>]``: tile ``N`` of tile level ``L`` (0..63) holds the
  hashes of tree level ``8 * L`` (stored node ``(8 * L, N * 256 + i)`` for ``i`` below
  ``W``), concatenated, 32 bytes each. A full tile has 256 hashes; a partial one
  (``.p/<W>``, ``W`` in 1..255) the ``floor(size / 256**L) mod 256`` hashes that exist.
- Entry bundles ``tile/entries/<N>[.p/<W>]``: entries ``N * 256`` to ``N * 256 + W - 1``,
  each a big-endian uint16 length followed by the entry bytes.
- ``N`` is written as 3-digit groups, all but the last prefixed with ``x``:
  1234067 -> ``x001/x234/067``, 5 -> ``005``.

Pure: sizes and stored hashes in, paths and bytes out; the exporter writes the files.
Paths parse strictly: one tile has exactly one path.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from crypto.errors import InvalidTileError
from crypto.merkle import HASH_SIZE, MAX_TREE_SIZE, GetNode

__all__ = [
    "ENTRIES_LEVEL",
    "MAX_ENTRY",
    "MAX_TILE_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "Tile",
    "TileError",
    "bundles_for",
    "decode_bundle",
    "encode_bundle",
    "index_path",
    "new_tiles",
    "parse_index_path",
    "parse_tile_path",
    "split_hashes",
    "tile_content",
    "tile_coords",
    "tiles_for",
]

#: The name callers have long imported from here.
TileError = InvalidTileError

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_TILE_LEVEL = 63
#: ``Tile.level`` of an entry bundle.
ENTRIES_LEVEL = -1
MAX_ENTRY = 0xFFFF

_GROUP = re.compile(r"x[0-9]{3}")
_LAST = re.compile(r"[0-9]{3}")
_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_u16 = struct.Struct(">H")


def index_path(n: int) -> str:
    """The path elements of tile index ``n`` (``x001/x234/067``)."""
    if not 0 <= n <= MAX_TREE_SIZE:
        raise InvalidTileError(f"tile index {n} is out of range")
    digits = str(n)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def parse_index_path(path: str) -> int:
    """Inverse of :func:`index_path`; only the canonical form is accepted."""
    *head, last = path.split("/")
    if not _LAST.fullmatch(last) or not all(_GROUP.fullmatch(p) for p in head):
        raise InvalidTileError(f"bad tile index path {path!r}")
    n = int("".join(p[1:] for p in head) + last)
    if n > MAX_TREE_SIZE or index_path(n) != path:  # e.g. a leading x000 group
        raise InvalidTileError(f"tile index path {path!r} is not canonical")
    return n


@dataclass(frozen=True, slots=True)
class Tile:
    """A hash tile (``level`` 0..63) or an entry bundle (``level == ENTRIES_LEVEL``)."""

    level: int
    index: int
    width: int

    def __post_init__(self) -> None:
        if not ENTRIES_LEVEL <= self.level <= MAX_TILE_LEVEL:
            raise InvalidTileError(f"tile level {self.level} is out of range")
        if not 1 <= self.width <= TILE_WIDTH:
            raise InvalidTileError(f"tile width {self.width} is not in 1..256")
        if not 0 <= self.index <= MAX_TREE_SIZE:
            raise InvalidTileError(f"tile index {self.index} is out of range")

    @property
    def is_bundle(self) -> bool:
        return self.level == ENTRIES_LEVEL

    @property
    def is_partial(self) -> bool:
        return self.width < TILE_WIDTH

    def path(self) -> str:
        """``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]``."""
        base = "tile/entries" if self.is_bundle else f"tile/{self.level}"
        suffix = "" if self.width == TILE_WIDTH else f".p/{self.width}"
        return f"{base}/{index_path(self.index)}{suffix}"

    def leaf_range(self) -> tuple[int, int]:
        """The entries ``[start, end)`` this tile's hashes (or bundle's entries) cover."""
        shift = TILE_HEIGHT * max(self.level, 0)
        start = (self.index * TILE_WIDTH) << shift
        return start, start + (self.width << shift)


def parse_tile_path(path: str) -> Tile:
    """The tile a path names (without the URL prefix); strict, canonical form only."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise InvalidTileError(f"not a tile path: {path!r}")
    kind, rest = parts[1], parts[2:]
    if kind == "entries":
        level = ENTRIES_LEVEL
    elif _LEVEL.fullmatch(kind) and int(kind) <= MAX_TILE_LEVEL:
        level = int(kind)
    else:
        raise InvalidTileError(f"bad tile level in {path!r}")
    width = TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        if not _WIDTH.fullmatch(rest[-1]) or int(rest[-1]) >= TILE_WIDTH:
            raise InvalidTileError(f"bad partial tile width in {path!r}")
        width = int(rest[-1])
        rest = [*rest[:-2], rest[-2][:-2]]
    tile = Tile(level, parse_index_path("/".join(rest)), width)
    if tile.path() != path:  # pragma: no cover - guarded by the strict pieces above
        raise InvalidTileError(f"tile path {path!r} is not canonical")
    return tile


def _level_tiles(level: int, count: int, start: int = 0) -> Iterator[Tile]:
    """Tiles of one level holding ``count`` hashes (or entries), from tile ``start``."""
    full, rest = divmod(count, TILE_WIDTH)
    for n in range(start, full):
        yield Tile(level, n, TILE_WIDTH)
    if rest:
        yield Tile(level, full, rest)


def tiles_for(size: int) -> Iterator[Tile]:
    """Every hash tile of a tree of ``size``, level by level, left to right."""
    if not 0 <= size <= MAX_TREE_SIZE:
        raise InvalidTileError(f"tree size {size} is out of range")
    level = 0
    while count := size >> (TILE_HEIGHT * level):
        yield from _level_tiles(level, count)
        level += 1


def bundles_for(size: int) -> Iterator[Tile]:
    """Every entry bundle of a log of ``size``."""
    if not 0 <= size <= MAX_TREE_SIZE:
        raise InvalidTileError(f"tree size {size} is out of range")
    return _level_tiles(ENTRIES_LEVEL, size)


def new_tiles(old_size: int, new_size: int) -> Iterator[Tile]:
    """Hash tiles and entry bundles of ``new_size`` that a log of ``old_size`` lacked.

    What an exporter writes when the log grows: full tiles completed since, and the
    partial tiles of the new size. Earlier tiles are immutable and stay as they are.
    """
    if not 0 <= old_size <= new_size <= MAX_TREE_SIZE:
        raise InvalidTileError(f"cannot grow from size {old_size} to {new_size}")
    if old_size == new_size:
        return
    yield from _level_tiles(ENTRIES_LEVEL, new_size, old_size // TILE_WIDTH)
    level = 0
    while count := new_size >> (TILE_HEIGHT * level):
        old_count = old_size >> (TILE_HEIGHT * level)
        if count != old_count:
            yield from _level_tiles(level, count, old_count // TILE_WIDTH)
        level += 1


def tile_coords(tile: Tile) -> list[tuple[int, int]]:
    """The stored nodes ``(tree level, index)`` whose hashes a hash tile holds, in order."""
    if tile.is_bundle:
        raise InvalidTileError("entry bundles hold entries, not hashes")
    level = TILE_HEIGHT * tile.level
    first = tile.index * TILE_WIDTH
    return [(level, first + i) for i in range(tile.width)]


def tile_content(tile: Tile, get_node: GetNode) -> bytes:
    """The bytes of a hash tile, from the log's stored nodes."""
    hashes = [get_node(level, index) for level, index in tile_coords(tile)]
    if any(len(h) != HASH_SIZE for h in hashes):
        raise InvalidTileError("stored hashes must be 32 bytes")
    return b"".join(hashes)


def split_hashes(data: bytes, width: int) -> list[bytes]:
    """The ``width`` hashes of a hash tile's bytes; raises on any other length."""
    if len(data) != HASH_SIZE * width:
        raise InvalidTileError(f"tile holds {len(data)} bytes, expected {HASH_SIZE * width}")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length, then its bytes."""
    if len(entries) > TILE_WIDTH:
        raise InvalidTileError("a bundle holds at most 256 entries")
    out = bytearray()
    for e in entries:
        if len(e) > MAX_ENTRY:
            raise InvalidTileError("entry too large for a bundle (64 KiB - 1 at most)")
        out += _u16.pack(len(e))
        out += e
    return bytes(out)


def decode_bundle(data: bytes, width: int) -> list[bytes]:
    """Split a bundle into exactly ``width`` entries; raises on any leftover or shortfall."""
    entries: list[bytes] = []
    pos, end = 0, len(data)
    while pos < end:
        if pos + 2 > end:
            raise InvalidTileError("truncated entry length")
        (n,) = _u16.unpack_from(data, pos)
        pos += 2
        if pos + n > end:
            raise InvalidTileError("truncated entry")
        entries.append(data[pos : pos + n])
        pos += n
    if len(entries) != width:
        raise InvalidTileError(f"bundle holds {len(entries)} entries, expected {width}")
    return entries
