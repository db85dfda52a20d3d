"""C2SP tlog-tiles paths, tile sets, tile contents and entry bundles."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import InvalidTileError
from crypto.merkle import CompactTree, leaf_hash, root_of
from crypto.tiles import (
    ENTRIES_LEVEL,
    TILE_WIDTH,
    Tile,
    TileError,
    bundles_for,
    decode_bundle,
    encode_bundle,
    index_path,
    new_tiles,
    parse_index_path,
    parse_tile_path,
    split_hashes,
    tile_content,
    tile_coords,
    tiles_for,
)


@pytest.mark.parametrize(
    ("n", "path"),
    [
        (0, "000"),
        (5, "005"),
        (999, "999"),
        (1000, "x001/000"),
        (1234067, "x001/x234/067"),
        (2**64 - 1, "x018/x446/x744/x073/x709/x551/615"),
    ],
)
def test_index_paths(n: int, path: str) -> None:
    assert index_path(n) == path
    assert parse_index_path(path) == n


@pytest.mark.parametrize(
    ("tile", "path"),
    [
        (Tile(0, 1234067, 256), "tile/0/x001/x234/067"),
        (Tile(1, 0, 17), "tile/1/000.p/17"),
        (Tile(63, 5, 1), "tile/63/005.p/1"),
        (Tile(ENTRIES_LEVEL, 1234067, 8), "tile/entries/x001/x234/067.p/8"),
        (Tile(ENTRIES_LEVEL, 0, 256), "tile/entries/000"),
    ],
)
def test_tile_paths_round_trip(tile: Tile, path: str) -> None:
    assert tile.path() == path
    assert parse_tile_path(path) == tile


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1234067",
        "tile/0/x1/234",
        "tile/0/001/234",  # x missing on a non-final element
        "tile/0/x000/005",  # leading zero group: not canonical
        "tile/0/x001/x234",  # last element has an x
        "tile/00/000",
        "tile/64/000",
        "tile/-1/000",
        "tile/a/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/017",
        "tile/0/000.p/",
        "tile/0/000.p",
        "tile/entry/000",
        "tiles/0/000",
        "tile/0",
        "tile/0/000/",
        "/tile/0/000",
        "tile/0/x018/x446/x744/x073/x709/x551/616",  # 2**64
    ],
)
def test_bad_tile_paths(path: str) -> None:
    with pytest.raises(InvalidTileError):
        parse_tile_path(path)


@given(st.integers(0, 2**64 - 1), st.integers(-1, 63), st.integers(1, 256))
def test_any_tile_path_round_trips(index: int, level: int, width: int) -> None:
    tile = Tile(level, index, width)
    assert parse_tile_path(tile.path()) == tile


def test_invalid_tiles_cannot_be_built() -> None:
    for args in [(-2, 0, 1), (64, 0, 1), (0, -1, 1), (0, 0, 0), (0, 0, 257)]:
        with pytest.raises(TileError):
            Tile(*args)


def test_spec_example_tree_of_70000() -> None:
    tiles = list(tiles_for(70_000))
    level0 = [t for t in tiles if t.level == 0]
    assert len([t for t in level0 if t.width == 256]) == 273
    assert [t.width for t in level0 if t.is_partial] == [112]
    assert [(t.index, t.width) for t in tiles if t.level == 1] == [(0, 256), (1, 17)]
    assert [(t.index, t.width) for t in tiles if t.level == 2] == [(0, 1)]
    assert len(tiles) == 273 + 1 + 2 + 1


def test_spec_example_tree_of_256() -> None:
    assert list(tiles_for(256)) == [Tile(0, 0, 256), Tile(1, 0, 1)]
    assert list(bundles_for(256)) == [Tile(ENTRIES_LEVEL, 0, 256)]
    assert list(tiles_for(0)) == list(bundles_for(0)) == []


@given(st.integers(0, 300_000), st.integers(0, 300_000))
def test_new_tiles_are_what_the_bigger_tree_has_and_the_smaller_lacks(old: int, grow: int) -> None:
    new = old + grow
    had = {t.path() for t in (*tiles_for(old), *bundles_for(old))}
    has = [t.path() for t in (*bundles_for(new), *tiles_for(new))]
    assert [t.path() for t in new_tiles(old, new)] == [p for p in has if p not in had]


def test_new_tiles_edges() -> None:
    assert list(new_tiles(5, 5)) == []
    assert [t.path() for t in new_tiles(255, 256)] == [
        "tile/entries/000",
        "tile/0/000",
        "tile/1/000.p/1",
    ]
    with pytest.raises(InvalidTileError):
        list(new_tiles(6, 5))


def test_tile_contents_from_stored_nodes() -> None:
    leaves = [leaf_hash(b"%d" % i) for i in range(70_000)]
    nodes = {(lvl, idx): h for lvl, idx, h in CompactTree().extend(leaves)}

    def get(level: int, index: int) -> bytes:
        return nodes[level, index]

    for tile in tiles_for(70_000):
        data = tile_content(tile, get)
        hashes = split_hashes(data, tile.width)
        start, end = tile.leaf_range()
        span = (end - start) // tile.width
        # Each hash is the MTH of its full subtree of 256**level leaves.
        for i in (0, tile.width - 1):
            assert hashes[i] == root_of(leaves[start + i * span : start + (i + 1) * span])
    assert tile_coords(Tile(2, 0, 1)) == [(16, 0)]
    assert Tile(1, 1, 17).leaf_range() == (65536, 65536 + 17 * 256)
    with pytest.raises(InvalidTileError):
        tile_coords(Tile(ENTRIES_LEVEL, 0, 1))
    with pytest.raises(InvalidTileError):
        split_hashes(b"\x00" * 33, 1)


def test_bundle_round_trip_and_errors() -> None:
    entries = [b"", b"a", b"\x00" * 300, b"z" * 0xFFFF]
    data = encode_bundle(entries)
    assert data[:5] == b"\x00\x00\x00\x01a"
    assert decode_bundle(data, 4) == entries
    with pytest.raises(InvalidTileError, match="expected 3"):
        decode_bundle(data, 3)
    with pytest.raises(InvalidTileError, match="truncated entry"):
        decode_bundle(data[:-1], 4)
    with pytest.raises(InvalidTileError, match="truncated entry length"):
        decode_bundle(b"\x00", 1)
    with pytest.raises(InvalidTileError, match="too large"):
        encode_bundle([b"z" * 0x10000])
    with pytest.raises(InvalidTileError, match="at most 256"):
        encode_bundle([b""] * (TILE_WIDTH + 1))
    assert decode_bundle(b"", 0) == []
