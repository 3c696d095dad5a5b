"""A small Chinese test region as an OSM XML file: two districts, streets (路/街/巷) with numbers
(号), a residential compound (小区) with numbered buildings (号楼) and a few landmarks.

``write_cn_region(path)`` writes the file and returns what is in it (street names, the true
position of each address), for tests that import it with the real importer and geocode it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

LON0, LAT0 = 116.40, 39.90
"""South-west corner (central Beijing)."""

STEP = 0.002
"""Degrees between the streets (about 170 m east-west, 220 m north-south)."""

DISTRICTS = (("朝阳区", 0), ("海淀区", 1))
"""Two districts side by side (west and east halves)."""

STREETS = (
    ("中山路", "h"),
    ("解放街", "h"),
    ("人民路", "h"),
    ("建国路", "v"),
    ("幸福巷", "v"),
    ("长安大道|学院路", "v"),
)
"""Names and direction (horizontal rows or vertical columns) of the streets of each district;
``a|b``: named a in the first district, b in the second (the others are in both)."""

COMPOUNDS = ("阳光小区", "华清小区")

NUMBERS = (1, 3, 5, 7, 9, 12, 15, 21)


@dataclass
class CnRegion:
    """What the file holds: for each (district, street, number) the address point."""

    addresses: dict[tuple[str, str, str], tuple[float, float]] = field(default_factory=dict)
    buildings: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    landmarks: dict[str, tuple[float, float]] = field(default_factory=dict)


class _Writer:
    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.ways: list[str] = []
        self.relations: list[str] = []
        self.next_id = 1

    def node(self, lon: float, lat: float, tags: dict[str, str] | None = None) -> int:
        i = self.next_id
        self.next_id += 1
        body = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in (tags or {}).items())
        self.nodes.append(
            f'<node id="{i}" version="1" lat="{lat:.7f}" lon="{lon:.7f}">{body}</node>'
        )
        return i

    def way(self, refs: list[int], tags: dict[str, str]) -> int:
        i = self.next_id
        self.next_id += 1
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        body = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        self.ways.append(f'<way id="{i}" version="1">{nds}{body}</way>')
        return i

    def boundary(self, ring: int, tags: dict[str, str]) -> None:
        """A multipolygon relation of one outer ring (admin areas are read from relations)."""
        i = self.next_id
        self.next_id += 1
        body = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        member = f'<member type="way" ref="{ring}" role="outer"/>'
        self.relations.append(f'<relation id="{i}" version="1">{member}{body}</relation>')

    def text(self) -> str:
        return (
            "<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n"
            + "\n".join(self.nodes)
            + "\n"
            + "\n".join(self.ways)
            + "\n"
            + "\n".join(self.relations)
            + "\n</osm>\n"
        )


def write_cn_region(path: Path) -> CnRegion:
    """Write the region to ``path`` (``.osm``) and say what it holds."""
    w = _Writer()
    out = CnRegion()
    width = 8 * STEP
    for district, col in DISTRICTS:
        x0 = LON0 + col * width
        corners = [(x0, LAT0), (x0 + width, LAT0), (x0 + width, LAT0 + width),
                   (x0, LAT0 + width)]  # fmt: skip
        refs = [w.node(x, y) for x, y in corners]
        ring = w.way([*refs, refs[0]], {})
        w.boundary(
            ring, {"type": "boundary", "boundary": "administrative", "admin_level": "6",
                   "name": district},
        )  # fmt: skip
        for s, (names, direction) in enumerate(STREETS):
            street = names.split("|")[col] if "|" in names else names
            offset = (1 + 2 * (s % 3) + (0.5 if direction == "v" else 0)) * STEP
            if direction == "h":
                a, b = (x0 + 0.3 * STEP, LAT0 + offset), (x0 + width - 0.3 * STEP, LAT0 + offset)
            else:
                a, b = (x0 + offset, LAT0 + 0.3 * STEP), (x0 + offset, LAT0 + width - 0.3 * STEP)
            line = [w.node(a[0] + t * (b[0] - a[0]) / 4, a[1] + t * (b[1] - a[1]) / 4)
                    for t in range(5)]  # fmt: skip
            w.way(line, {"highway": "residential", "name": street})
            for k, n in enumerate(NUMBERS):
                t = (k + 0.5) / len(NUMBERS)
                lon, lat = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
                side = 0.00012 if n % 2 else -0.00012
                if direction == "h":
                    lat += side
                else:
                    lon += side
                w.node(lon, lat, {"addr:street": street, "addr:housenumber": str(n)})
                out.addresses[(district, street, str(n))] = (lon, lat)
        # a compound with numbered buildings in the district's north-east
        cx, cy = x0 + 6.5 * STEP, LAT0 + 7.2 * STEP
        compound = COMPOUNDS[col]
        w.node(cx, cy, {"place": "neighbourhood", "name": compound})
        for building in range(1, 4):
            lon, lat = cx + building * 0.0004, cy - 0.0003
            w.node(lon, lat, {"addr:place": compound, "addr:housenumber": f"{building}号楼"})
            out.buildings[(compound, str(building))] = (lon, lat)
    for name, kind, lon, lat in (
        ("朝阳医院", ("amenity", "hospital"), LON0 + 3.3 * STEP, LAT0 + 4.2 * STEP),
        ("海淀实验小学", ("amenity", "school"), LON0 + width + 2.2 * STEP, LAT0 + 2.4 * STEP),
        ("北京站", ("railway", "station"), LON0 + 7.1 * STEP, LAT0 + 0.6 * STEP),
    ):
        w.node(lon, lat, {kind[0]: kind[1], "name": name})
        out.landmarks[name] = (lon, lat)
    path.write_text(w.text(), encoding="utf-8")
    return out
