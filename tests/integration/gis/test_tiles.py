"""Vector tiles from the imported Liechtenstein data, read back with a small MVT decoder.

The decoder below reads the Mapbox Vector Tile protobuf (layers, features, keys, string
values, extent) — enough to check what a tile holds without another dependency.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gis import tiles
from gis.errors import InvalidInput

VADUZ = (9.5215, 47.1397)


# --- a minimal MVT reader -----------------------------------------------------------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            length, pos = _varint(data, pos)
            out.append((number, data[pos : pos + length]))
            pos += length
        elif wire == 1:
            out.append((number, data[pos : pos + 8]))
            pos += 8
        elif wire == 5:
            out.append((number, data[pos : pos + 4]))
            pos += 4
        else:
            raise ValueError(f"unexpected wire type {wire}")
    return out


@dataclass
class Layer:
    name: str = ""
    extent: int = 4096
    features: int = 0
    keys: list[str] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)
    geometry_types: set[int] = field(default_factory=set)


def decode(tile_bytes: bytes) -> dict[str, Layer]:
    layers: dict[str, Layer] = {}
    for number, raw in _fields(tile_bytes):
        assert number == 3
        assert isinstance(raw, bytes)
        layer = Layer()
        for n, value in _fields(raw):
            if n == 1 and isinstance(value, bytes):
                layer.name = value.decode()
            elif n == 2 and isinstance(value, bytes):
                layer.features += 1
                for fn, fv in _fields(value):
                    if fn == 3 and isinstance(fv, int):
                        layer.geometry_types.add(fv)
            elif n == 3 and isinstance(value, bytes):
                layer.keys.append(value.decode())
            elif n == 4 and isinstance(value, bytes):
                for vn, vv in _fields(value):
                    if vn == 1 and isinstance(vv, bytes):
                        layer.strings.append(vv.decode())
            elif n == 5 and isinstance(value, int):
                layer.extent = value
        layers[layer.name] = layer
    return layers


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


# --- tests ---------------------------------------------------------------------------------

POINT, LINE, POLYGON = 1, 2, 3


async def test_street_level_tile_has_every_kind_of_thing(liechtenstein: AsyncEngine) -> None:
    z = 15
    x, y = tile_of(*VADUZ, z)
    async with liechtenstein.connect() as conn:
        data = await tiles.tile(conn, z, x, y)
        # Names of roads crossing this tile, read straight from the data.
        names = set(
            (
                await conn.execute(
                    text(
                        "SELECT DISTINCT name FROM gis_features WHERE layer = 'road'"
                        " AND name IS NOT NULL"
                        " AND ST_Intersects(geom, ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326))"
                    ),
                    {"z": z, "x": x, "y": y},
                )
            ).scalars()
        )
    layers = decode(data)
    assert {"roads", "buildings", "labels", "landuse"} <= set(layers)
    assert layers["roads"].extent == tiles.EXTENT
    assert layers["roads"].geometry_types == {LINE}
    assert layers["buildings"].geometry_types == {POLYGON}
    assert layers["labels"].geometry_types == {POINT}
    assert {"class", "name"} <= set(layers["roads"].keys)
    assert names
    assert names <= set(layers["roads"].strings)
    assert layers["buildings"].features > 20


async def test_low_zoom_tile_keeps_only_big_things(liechtenstein: AsyncEngine) -> None:
    async with liechtenstein.connect() as conn:
        low = decode(await tiles.tile(conn, 8, *tile_of(*VADUZ, 8)))
        high = decode(await tiles.tile(conn, 12, *tile_of(*VADUZ, 12)))
    assert "buildings" not in low
    assert "landuse" not in low
    assert "roads" in low
    assert "boundaries" in low
    minor = {"residential", "service", "track", "footway", "path"}
    assert not minor & set(low["roads"].strings)
    assert minor & set(high["roads"].strings)
    assert "Vaduz" in high["labels"].strings
    assert "瓦杜茲" in high["labels"].strings  # its name:zh, for a console in Chinese
    assert {"name", "name_zh", "name_en"} <= set(high["labels"].keys)


async def test_jurisdictions_are_a_layer_of_their_own(liechtenstein: AsyncEngine) -> None:
    async with liechtenstein.connect() as conn:
        tile = decode(await tiles.tile(conn, 12, *tile_of(*VADUZ, 12)))
        low = decode(await tiles.tile(conn, 8, *tile_of(*VADUZ, 8)))
    mine = tile["jurisdictions"]
    assert mine.geometry_types == {POINT, LINE}  # boundary lines and a name inside each
    assert {"part", "id", "name", "name_zh", "name_en"} <= set(mine.keys)
    assert {"Vaduz", "Schaan"} <= set(mine.strings)
    assert "name" not in low["jurisdictions"].strings  # the lines only, at a region's zoom
    assert low["jurisdictions"].geometry_types == {LINE}


async def test_tile_without_data_is_empty(liechtenstein: AsyncEngine) -> None:
    async with liechtenstein.connect() as conn:
        assert await tiles.tile(conn, 10, 0, 0) == b""  # the Pacific, far from any region


@pytest.mark.parametrize(
    ("z", "x", "y", "message"),
    [
        (23, 0, 0, "zoom 23 is outside 0..22"),
        (-1, 0, 0, "zoom -1 is outside"),
        (3, 8, 0, "tile x 8 is outside 0..7 at zoom 3"),
        (3, 0, -1, "tile y -1 is outside 0..7"),
    ],
)
async def test_impossible_tiles(
    liechtenstein: AsyncEngine, z: int, x: int, y: int, message: str
) -> None:
    async with liechtenstein.connect() as conn:
        with pytest.raises(InvalidInput, match=message):
            await tiles.tile(conn, z, x, y)


def test_style_draws_our_layers_from_our_tiles_only() -> None:
    style = tiles.style()
    json.dumps(style)  # serialisable
    assert style["version"] == 8
    assert "glyphs" not in style
    assert list(style["sources"]) == ["cad"]
    assert style["sources"]["cad"]["tiles"] == ["/api/v1/gis/tiles/{z}/{x}/{y}.pbf"]
    used = {layer["source-layer"] for layer in style["layers"] if "source-layer" in layer}
    assert used == set(tiles.LAYERS)
    # Names are drawn by the browser from its own fonts (no glyph server), CJK fonts first.
    symbols = {layer["id"]: layer for layer in style["layers"] if layer["type"] == "symbol"}
    assert set(symbols) == {"road-names", "place-names", "jurisdiction-names"}
    assert all(layer["layout"]["text-font"][0] == "Noto Sans CJK SC" for layer in symbols.values())
    assert style["state"] == {"lang": {"default": "en"}}
    assert symbols["place-names"]["layout"]["text-field"] == [
        "coalesce", ["get", ["concat", "name_", ["global-state", "lang"]]], ["get", "name"]]
    other = tiles.style("http://example.invalid/t/{z}/{x}/{y}.pbf")
    assert other["sources"]["cad"]["tiles"] == ["http://example.invalid/t/{z}/{x}/{y}.pbf"]
    assert tiles.style()["sources"]["cad"]["tiles"] == [tiles.TILE_URL]  # copies, not shared


def _zoom_uses(value: object) -> int:
    if value == ["zoom"]:
        return 1
    if isinstance(value, list):
        return sum(_zoom_uses(v) for v in value)
    return 0


def test_style_zoom_expressions_are_top_level() -> None:
    # MapLibre accepts ["zoom"] only as the input of a top-level "interpolate" or "step".
    for layer in tiles.style()["layers"]:
        for group in ("paint", "layout"):
            for name, value in layer.get(group, {}).items():
                uses = _zoom_uses(value)
                if uses == 0:
                    continue
                where = f"{layer['id']}.{name}"
                assert isinstance(value, list), where
                assert value[0] in ("interpolate", "step"), where
                zoom_input = value[2] if value[0] == "interpolate" else value[1]
                assert zoom_input == ["zoom"], where
                assert uses == 1, where
