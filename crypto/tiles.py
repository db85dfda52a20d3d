"""C2SP ``tlog-tiles``: where each tile and entry bundle of a log lives, and their bytes.

- Hash tiles ``tile/<L>/<N>[.p/<W>]``: tile ``N`` of level ``L`` holds the hashes of tree
  level ``8 * L``, indices ``N * 256`` to ``N * 256 + W - 1``, concatenated (32 bytes each).
  A full tile has 256 hashes; a partial one (``.p/<W>``) has ``W`` (1..255).
- Entry bundles ``tile/entries/<N>[.p/<W>]``: entries ``N * 256 ...``, each as a
  big-endian uint16 length followed by the entry bytes.
- ``N`` is written in groups of three digits, all but the last prefixed with ``x``
  (1234067 -> ``x001/x234/067``).

Pure: paths and bytes in, paths and bytes out.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from crypto.errors import CryptoError

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_ENTRY = 0xFFFF


class TileError(CryptoError):
    """A tile path or tile content is malformed."""


def index_path(n: int) -> str:
    """The path elements of tile index ``n`` (``x001/x234/067``)."""
    if n < 0:
        raise TileError("tile index must be non-negative")
    digits = str(n)
    pad = (-len(digits)) % 3
    digits = "0" * pad + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def parse_index_path(path: str) -> int:
    parts = path.split("/")
    if not parts or any(len(p) != 4 or p[0] != "x" or not p[1:].isdigit() for p in parts[:-1]):
        raise TileError(f"bad tile index path {path!r}")
    if len(parts[-1]) != 3 or not parts[-1].isdigit():
        raise TileError(f"bad tile index path {path!r}")
    return int("".join(p.lstrip("x") for p in parts))


@dataclass(frozen=True, slots=True)
class Tile:
    """A hash tile (``level >= 0``) or an entry bundle (``level == -1``)."""

    level: int
    index: int
    width: int

    def path(self) -> str:
        base = "tile/entries" if self.level < 0 else f"tile/{self.level}"
        suffix = "" if self.width == TILE_WIDTH else f".p/{self.width}"
        return f"{base}/{index_path(self.index)}{suffix}"


def tiles_for(size: int) -> Iterator[Tile]:
    """Every hash tile of a tree of ``size``, level by level."""
    level = 0
    while True:
        count = size >> (TILE_HEIGHT * level)
        if count == 0:
            return
        full, rest = divmod(count, TILE_WIDTH)
        for n in range(full):
            yield Tile(level, n, TILE_WIDTH)
        if rest:
            yield Tile(level, full, rest)
        level += 1


def bundles_for(size: int) -> Iterator[Tile]:
    """Every entry bundle of a log of ``size``."""
    full, rest = divmod(size, TILE_WIDTH)
    for n in range(full):
        yield Tile(-1, n, TILE_WIDTH)
    if rest:
        yield Tile(-1, full, rest)


def tile_coords(tile: Tile) -> list[tuple[int, int]]:
    """The ``(tree level, index)`` of each hash in a hash tile."""
    if tile.level < 0:
        raise TileError("entry bundles hold entries, not hashes")
    lvl = TILE_HEIGHT * tile.level
    return [(lvl, tile.index * TILE_WIDTH + i) for i in range(tile.width)]


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    out = bytearray()
    for e in entries:
        if len(e) > MAX_ENTRY:
            raise TileError("entry too large for a bundle")
        out += struct.pack(">H", len(e)) + e
    return bytes(out)


def decode_bundle(data: bytes, width: int) -> list[bytes]:
    """Split a bundle into exactly ``width`` entries; raises on any leftover or shortfall."""
    entries: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise TileError("truncated entry length")
        (n,) = struct.unpack_from(">H", data, pos)
        pos += 2
        if pos + n > len(data):
            raise TileError("truncated entry")
        entries.append(data[pos : pos + n])
        pos += n
    if len(entries) != width:
        raise TileError(f"bundle holds {len(entries)} entries, expected {width}")
    return entries


def split_hashes(data: bytes, width: int) -> list[bytes]:
    if len(data) != 32 * width:
        raise TileError(f"tile holds {len(data)} bytes, expected {32 * width}")
    return [data[i : i + 32] for i in range(0, len(data), 32)]
