"""The offline basemap: Mapbox vector tiles straight from PostGIS, and a MapLibre style.

:func:`tile` builds one ``z/x/y`` tile (Web Mercator) with ``ST_AsMVT`` from the imported data
of every region: layers ``roads`` (roads and railways, with ``class``), ``water``
(areas and waterways), ``landuse``, ``buildings``, ``boundaries`` (administrative),
``jurisdictions`` (the dispatch jurisdictions: their boundary lines, and their names at a point
inside each) and ``labels`` (places and landmarks). Small things appear only from a zoom
where they can be seen (buildings from 14, footpaths from 14, landuse from 10), so low-zoom
tiles stay small.

:func:`style` is the MapLibre style that draws those layers from
``/api/v1/gis/tiles/{z}/{x}/{y}.pbf``. It has no external sources and no ``glyphs`` URL:
without one, MapLibre draws every letter of the street and place names in the browser from
the fonts it has (:data:`FONTS`, Noto Sans CJK from ``fonts-noto-cjk`` first), so Latin and
Chinese names need no glyph server and nothing is fetched. Places and municipalities carry
``name_zh`` and ``name_en`` beside ``name``; the style's global state ``lang`` (``zh`` or
``en``, set by the console when its language changes) picks one, ``name`` when it is missing.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.errors import InvalidInput

MIN_ZOOM = 0
MAX_ZOOM = 22
EXTENT = 4096
BUFFER = 64
TILE_URL = "/api/v1/gis/tiles/{z}/{x}/{y}.pbf"
LAYERS = ("landuse", "water", "buildings", "roads", "boundaries", "jurisdictions", "labels")
#: the fonts names are drawn with, as a CSS font-family list (the browser's own fonts)
FONTS = ["Noto Sans CJK SC", "Noto Sans", "DejaVu Sans", "sans-serif"]

MAJOR_ROADS = ("motorway", "trunk", "primary", "motorway_link", "trunk_link", "primary_link")
MEDIUM_ROADS = ("secondary", "secondary_link", "tertiary", "tertiary_link")
MINOR_ROADS = ("unclassified", "residential", "living_street", "service", "road", "pedestrian")

# Below zoom 14 lines and areas are simplified to half a display pixel before clipping, and
# areas smaller than a pixel are left out: low-zoom tiles stay small and quick.
_SIMPLIFIED_MVT_GEOM = (
    "ST_AsMVTGeom(ST_Transform(CASE WHEN :z < 14 THEN ST_Simplify(f.geom, b.px / 2, true)"
    f" ELSE f.geom END, 3857), b.merc, {EXTENT}, {BUFFER}, true)"
)

_TILE_SQL = text(
    f"""
    WITH bounds AS (
        SELECT ST_TileEnvelope(:z, :x, :y) AS merc,
               ST_Transform(
                   ST_Expand(ST_TileEnvelope(:z, :x, :y),
                             (ST_XMax(ST_TileEnvelope(:z, :x, :y))
                              - ST_XMin(ST_TileEnvelope(:z, :x, :y))) * {BUFFER} / {EXTENT}),
                   4326) AS geo,
               -- one display pixel (256 per tile), in degrees of longitude
               360.0 / (256 * 2 ^ :z) AS px
    ),
    roads AS (
        SELECT {_SIMPLIFIED_MVT_GEOM} AS geom,
               f.kind AS class, f.name, f.layer = 'rail' AS rail
        FROM gis_features f, bounds b
        WHERE f.layer IN ('road', 'rail') AND f.geom && b.geo
          AND (f.kind = ANY(:major)
               OR (:z >= 10 AND (f.kind = ANY(:medium) OR f.layer = 'rail'))
               OR (:z >= 12 AND f.kind = ANY(:minor))
               OR :z >= 14)
    ),
    water AS (
        SELECT {_SIMPLIFIED_MVT_GEOM} AS geom,
               f.kind AS class, f.name
        FROM gis_features f, bounds b
        WHERE f.layer = 'water' AND f.geom && b.geo
          AND (:z >= 12 OR f.kind IN ('water', 'lake', 'reservoir', 'river', 'riverbank', 'canal'))
          AND (:z >= 14 OR GeometryType(f.geom) NOT LIKE '%POLYGON'
               OR ST_Area(f.geom) > b.px * b.px)
    ),
    landuse AS (
        SELECT {_SIMPLIFIED_MVT_GEOM} AS geom,
               f.kind AS class, f.name
        FROM gis_features f, bounds b
        WHERE f.layer = 'landuse' AND f.geom && b.geo AND :z >= 10
          AND (:z >= 14 OR ST_Area(f.geom) > b.px * b.px)
    ),
    buildings AS (
        SELECT ST_AsMVTGeom(ST_Transform(f.geom, 3857), b.merc, {EXTENT}, {BUFFER}, true) AS geom,
               f.kind AS class, f.name
        FROM gis_features f, bounds b
        WHERE f.layer = 'building' AND f.geom && b.geo AND :z >= 14
    ),
    boundaries AS (
        SELECT ST_AsMVTGeom(ST_Transform(ST_Boundary(f.geom), 3857), b.merc, {EXTENT}, {BUFFER},
                            true) AS geom,
               f.kind AS class, f.name,
               coalesce(nullif(substring(f.kind FROM 'admin_([0-9]+)'), '')::int, 0) AS admin_level
        FROM gis_features f, bounds b
        WHERE f.layer = 'boundary' AND f.geom && b.geo
          AND (:z >= 8 OR f.kind IN ('admin_2', 'admin_4'))
    ),
    labels AS (
        SELECT ST_AsMVTGeom(ST_Transform(p.geom, 3857), b.merc, {EXTENT}, {BUFFER}, true) AS geom,
               split_part(p.kind, '=', 1) AS class, split_part(p.kind, '=', 2) AS subclass,
               p.name, coalesce(p.names->>'name:zh-Hans', p.names->>'name:zh') AS name_zh,
               p.names->>'name:en' AS name_en
        FROM gis_places p, bounds b
        WHERE p.geom && b.geo
          AND (:z >= 14 OR (:z >= 11 AND p.kind LIKE 'place=%')
               OR (:z >= 8 AND p.kind IN ('place=city', 'place=town', 'place=village')))
    ),
    jurisdictions AS (
        SELECT ST_AsMVTGeom(ST_Transform(ST_Boundary(j.geom), 3857), b.merc, {EXTENT}, {BUFFER},
                            true) AS geom,
               'line' AS part, j.id, j.name, NULL AS name_zh, NULL AS name_en
        FROM gis_jurisdictions j, bounds b
        WHERE j.geom && b.geo AND :z >= 8
        UNION ALL
        SELECT ST_AsMVTGeom(ST_Transform(ST_PointOnSurface(j.geom), 3857), b.merc, {EXTENT},
                            {BUFFER}, true),
               'name', j.id, j.name,
               coalesce(j.names->>'name:zh-Hans', j.names->>'name:zh'), j.names->>'name:en'
        FROM gis_jurisdictions j, bounds b
        WHERE j.geom && b.geo AND :z >= 9
    )
    SELECT
        (SELECT coalesce(ST_AsMVT(l, 'landuse', {EXTENT}, 'geom'), '')
         FROM (SELECT * FROM landuse WHERE geom IS NOT NULL) l)
     || (SELECT coalesce(ST_AsMVT(l, 'water', {EXTENT}, 'geom'), '')
         FROM (SELECT * FROM water WHERE geom IS NOT NULL) l)
     || (SELECT coalesce(ST_AsMVT(l, 'buildings', {EXTENT}, 'geom'), '')
         FROM (SELECT * FROM buildings WHERE geom IS NOT NULL) l)
     || (SELECT coalesce(ST_AsMVT(l, 'roads', {EXTENT}, 'geom'), '')
         FROM (SELECT * FROM roads WHERE geom IS NOT NULL) l)
     || (SELECT coalesce(ST_AsMVT(l, 'boundaries', {EXTENT}, 'geom'), '')
         FROM (SELECT * FROM boundaries WHERE geom IS NOT NULL) l)
     || (SELECT coalesce(ST_AsMVT(l, 'jurisdictions', {EXTENT}, 'geom'), '')
         FROM (SELECT * FROM jurisdictions WHERE geom IS NOT NULL) l)
     || (SELECT coalesce(ST_AsMVT(l, 'labels', {EXTENT}, 'geom'), '')
         FROM (SELECT * FROM labels WHERE geom IS NOT NULL) l)
    AS tile
    """  # noqa: S608 - constant text; values are bound parameters
)


def check_tile(z: int, x: int, y: int) -> None:
    """Raise :class:`InvalidInput` unless ``z/x/y`` names a tile."""
    if not MIN_ZOOM <= z <= MAX_ZOOM:
        raise InvalidInput(
            f"zoom {z} is outside {MIN_ZOOM}..{MAX_ZOOM}",
            code="tile.zoom_range",
            zoom=z,
            min=MIN_ZOOM,
            max=MAX_ZOOM,
        )
    limit = 2**z
    if not 0 <= x < limit:
        raise InvalidInput(
            f"tile x {x} is outside 0..{limit - 1} at zoom {z}",
            code="tile.x_range",
            x=x,
            min=0,
            max=limit - 1,
            zoom=z,
        )
    if not 0 <= y < limit:
        raise InvalidInput(
            f"tile y {y} is outside 0..{limit - 1} at zoom {z}",
            code="tile.y_range",
            y=y,
            min=0,
            max=limit - 1,
            zoom=z,
        )


async def tile(conn: AsyncConnection, z: int, x: int, y: int) -> bytes:
    """The vector tile ``z/x/y`` (protobuf bytes; empty where there is no data)."""
    check_tile(z, x, y)
    data = await conn.scalar(
        _TILE_SQL,
        {
            "z": z,
            "x": x,
            "y": y,
            "major": list(MAJOR_ROADS),
            "medium": list(MEDIUM_ROADS),
            "minor": list(MINOR_ROADS),
        },
    )
    return bytes(data or b"")


# --- style ---------------------------------------------------------------------------------

_LANDUSE_COLOURS = [
    "match",
    ["get", "class"],
    ["forest", "wood"],
    "#b7d7a8",
    ["grass", "meadow", "park", "recreation_ground", "pitch", "grassland", "village_green"],
    "#d4ecc4",
    ["farmland", "farmyard", "vineyard", "orchard", "allotments"],
    "#eef0d5",
    ["residential"],
    "#ece7e4",
    ["industrial", "commercial", "retail", "quarry"],
    "#e8dde8",
    ["cemetery"],
    "#c9dcc5",
    "#e6e4d8",
]


def _widened(width: list[Any], extra: float) -> list[Any]:
    """A zoom interpolation with ``extra`` added at every stop.

    ``zoom`` may only appear at the top of a style expression, so the casing cannot be written
    as ``["+", width, extra]``.
    """
    head, stops = width[:3], width[3:]
    out = list(head)
    for z, value in zip(stops[::2], stops[1::2], strict=True):
        out += [z, ["+", value, extra]]
    return out


_ROAD_WIDTH = [
    "interpolate",
    ["exponential", 1.5],
    ["zoom"],
    8,
    ["match", ["get", "class"], ["motorway", "trunk", "primary"], 1.2, 0.4],
    14,
    [
        "match",
        ["get", "class"],
        ["motorway", "trunk", "primary"],
        6,
        ["secondary", "tertiary"],
        4.5,
        ["residential", "unclassified", "living_street", "service", "road"],
        3,
        1.2,
    ],
    18,
    [
        "match",
        ["get", "class"],
        ["motorway", "trunk", "primary"],
        24,
        ["secondary", "tertiary"],
        18,
        ["residential", "unclassified", "living_street", "service", "road"],
        12,
        4,
    ],
]

# the name in the console's language when the place has one, else its own
_LOCAL_NAME = [
    "coalesce",
    ["get", ["concat", "name_", ["global-state", "lang"]]],
    ["get", "name"],
]

_STYLE: dict[str, Any] = {
    "version": 8,
    "name": "CAD offline basemap",
    "metadata": {"cad:labels": "drawn by the browser from its fonts; see gis.tiles"},
    "state": {"lang": {"default": "en"}},
    "sources": {
        "cad": {
            "type": "vector",
            "tiles": [TILE_URL],
            "minzoom": MIN_ZOOM,
            "maxzoom": 16,
            "attribution": "© OpenStreetMap contributors",
        }
    },
    "layers": [
        {"id": "background", "type": "background", "paint": {"background-color": "#f4f1ea"}},
        {
            "id": "landuse",
            "type": "fill",
            "source": "cad",
            "source-layer": "landuse",
            "paint": {"fill-color": _LANDUSE_COLOURS, "fill-opacity": 0.8},
        },
        {
            "id": "water-area",
            "type": "fill",
            "source": "cad",
            "source-layer": "water",
            "filter": ["==", ["geometry-type"], "Polygon"],
            "paint": {"fill-color": "#a9cce3"},
        },
        {
            "id": "water-line",
            "type": "line",
            "source": "cad",
            "source-layer": "water",
            "filter": ["==", ["geometry-type"], "LineString"],
            "paint": {
                "line-color": "#7fb2d6",
                "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.5, 16, 3],
            },
        },
        {
            "id": "buildings",
            "type": "fill",
            "source": "cad",
            "source-layer": "buildings",
            "minzoom": 14,
            "paint": {"fill-color": "#d9d0c9", "fill-outline-color": "#bfb4aa"},
        },
        {
            "id": "roads-casing",
            "type": "line",
            "source": "cad",
            "source-layer": "roads",
            "filter": ["!", ["get", "rail"]],
            "layout": {"line-cap": "round", "line-join": "round"},
            "paint": {"line-color": "#b8aea3", "line-width": _widened(_ROAD_WIDTH, 1.5)},
        },
        {
            "id": "roads",
            "type": "line",
            "source": "cad",
            "source-layer": "roads",
            "filter": ["!", ["get", "rail"]],
            "layout": {"line-cap": "round", "line-join": "round"},
            "paint": {
                "line-color": [
                    "match",
                    ["get", "class"],
                    ["motorway", "trunk", "motorway_link", "trunk_link"],
                    "#f2a65a",
                    ["primary", "primary_link"],
                    "#f7d06b",
                    ["secondary", "secondary_link", "tertiary", "tertiary_link"],
                    "#fbeaa5",
                    ["footway", "path", "cycleway", "steps", "track", "bridleway"],
                    "#d8cbb8",
                    "#ffffff",
                ],
                "line-width": _ROAD_WIDTH,
            },
        },
        {
            "id": "rail",
            "type": "line",
            "source": "cad",
            "source-layer": "roads",
            "filter": ["get", "rail"],
            "paint": {"line-color": "#8c8c8c", "line-width": 1.5, "line-dasharray": [3, 2]},
        },
        {
            "id": "boundaries",
            "type": "line",
            "source": "cad",
            "source-layer": "boundaries",
            "paint": {
                "line-color": "#9e6aa8",
                "line-width": ["match", ["get", "admin_level"], 2, 2.5, 1.2],
                "line-dasharray": [4, 2],
            },
        },
        # The dispatch jurisdictions: a layer of their own, so that a console may show or hide
        # them (their lines over the administrative boundaries, their names in the screen's
        # language).
        {
            "id": "jurisdiction-lines",
            "type": "line",
            "source": "cad",
            "source-layer": "jurisdictions",
            "filter": ["==", ["get", "part"], "line"],
            "paint": {"line-color": "#1b6f6a", "line-width": 2.2, "line-opacity": 0.85},
        },
        {
            "id": "road-names",
            "type": "symbol",
            "source": "cad",
            "source-layer": "roads",
            "minzoom": 13,
            "filter": ["all", ["!", ["get", "rail"]], ["has", "name"]],
            "layout": {
                "symbol-placement": "line",
                "text-field": ["get", "name"],
                "text-font": FONTS,
                "text-size": ["interpolate", ["linear"], ["zoom"], 13, 10, 17, 14],
                "text-max-angle": 30,
            },
            "paint": {"text-color": "#4a4036", "text-halo-color": "#ffffff",
                      "text-halo-width": 1.5},
        },
        {
            "id": "labels",
            "type": "circle",
            "source": "cad",
            "source-layer": "labels",
            "paint": {
                "circle-radius": ["match", ["get", "class"], ["place", "boundary"], 5, 3],
                "circle-color": [
                    "match",
                    ["get", "class"],
                    ["place", "boundary"],
                    "#5b4a8b",
                    ["amenity"],
                    "#c0392b",
                    ["shop"],
                    "#2e86c1",
                    ["tourism", "historic"],
                    "#7d6608",
                    "#566573",
                ],
                "circle-stroke-color": "#ffffff",
                "circle-stroke-width": 1,
            },
        },
        {
            "id": "place-names",
            "type": "symbol",
            "source": "cad",
            "source-layer": "labels",
            "layout": {
                "text-field": _LOCAL_NAME,
                "text-font": FONTS,
                "text-size": [
                    "match", ["get", "subclass"],
                    ["city", "town", "administrative"], 15,
                    ["village", "suburb", "borough"], 13,
                    11,
                ],
                "text-anchor": "top",
                "text-offset": [0, 0.5],
                "text-max-width": 8,
                "text-optional": True,
            },
            "paint": {
                "text-color": ["match", ["get", "class"], ["place", "boundary"], "#2e2450",
                               "#3d3d3d"],
                "text-halo-color": "#ffffff",
                "text-halo-width": 1.5,
            },
        },
        {
            "id": "jurisdiction-names",
            "type": "symbol",
            "source": "cad",
            "source-layer": "jurisdictions",
            "filter": ["==", ["get", "part"], "name"],
            "layout": {
                "text-field": _LOCAL_NAME,
                "text-font": FONTS,
                "text-size": 14,
                "text-transform": "uppercase",
                "text-letter-spacing": 0.08,
                "text-max-width": 8,
                "text-optional": True,
            },
            "paint": {"text-color": "#1b6f6a", "text-halo-color": "#ffffff",
                      "text-halo-width": 2},
        },
    ],
}


def style(tile_url: str = TILE_URL) -> dict[str, Any]:
    """The MapLibre style (a fresh copy), drawing tiles from ``tile_url``."""
    result = copy.deepcopy(_STYLE)
    result["sources"]["cad"]["tiles"] = [tile_url]
    return result
