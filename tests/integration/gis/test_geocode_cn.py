"""Geocoding Chinese addresses as people write them, on a small Chinese region written as OSM
XML (tests/support/cn_osm.py) and imported with the real importer."""

from __future__ import annotations

import math
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gis.cn_divisions import load_divisions
from gis.geocode.model import Candidate
from gis.geocode.service import Geocoder
from gis.osm_import import import_osm
from tests.support.cn_osm import CnRegion, write_cn_region
from tests.support.database import PgServer

REGION = "beijing-test"


@pytest.fixture(scope="module")
async def cn_region(pg_server: PgServer) -> AsyncIterator[tuple[AsyncEngine, CnRegion]]:
    name = await pg_server.new_database()
    engine = create_async_engine(pg_server.url(name))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "beijing.osm"
        region = write_cn_region(path)
        summary = await import_osm(engine, path, REGION)
    assert summary.addresses == len(region.addresses) + len(region.buildings)
    yield engine, region
    await engine.dispose()
    await pg_server.drop_database(name)


@pytest.fixture(scope="module")
def geocoder(cn_region: tuple[AsyncEngine, CnRegion]) -> Geocoder:
    return Geocoder(cn_region[0], divisions=load_divisions())


def _metres(c: Candidate, point: tuple[float, float]) -> float:
    lon, lat = point
    x = math.radians(c.lon - lon) * math.cos(math.radians(lat))
    return 6_371_000 * math.hypot(x, math.radians(c.lat - lat))


@pytest.mark.parametrize(
    ("query", "district", "street", "number"),
    [
        ("北京市朝阳区中山路12号", "朝阳区", "中山路", "12"),
        ("北京市海淀区中山路12号", "海淀区", "中山路", "12"),
        ("中国北京海淀中山路12号 100080", "海淀区", "中山路", "12"),
        ("朝阳 解放街 5 号", "朝阳区", "解放街", "5"),
        ("海淀区学院路 7 号 3楼", "海淀区", "学院路", "7"),
        ("xueyuan lu 7 hao", "海淀区", "学院路", "7"),
        ("Xueyuan Lu 21", "海淀区", "学院路", "21"),
        ("学园路7号", "海淀区", "学院路", "7"),  # 园 for 院: the same sound
        ("朝阳区长安大道15号", "朝阳区", "长安大道", "15"),
        ("北京朝阳区幸福巷3号", "朝阳区", "幸福巷", "3"),
    ],
)
async def test_addresses(
    geocoder: Geocoder,
    cn_region: tuple[AsyncEngine, CnRegion],
    query: str,
    district: str,
    street: str,
    number: str,
) -> None:
    top = (await geocoder.geocode(REGION, query))[0]
    truth = cn_region[1].addresses[(district, street, number)]
    assert _metres(top, truth) <= 30, (query, top)
    assert top.kind == "address"
    assert top.extra["exact"] is True


async def test_floor_kept_as_detail(geocoder: Geocoder) -> None:
    top = (await geocoder.geocode(REGION, "海淀区学院路 7 号 3楼"))[0]
    assert top.extra["detail"] == "3楼"


async def test_compound_building(
    geocoder: Geocoder, cn_region: tuple[AsyncEngine, CnRegion]
) -> None:
    top = (await geocoder.geocode(REGION, "华清小区 2号楼 2单元 301室"))[0]
    assert _metres(top, cn_region[1].buildings[("华清小区", "2")]) <= 30, top
    assert "2单元" in top.extra["detail"]
    assert "301室" in top.extra["detail"]


@pytest.mark.parametrize("name", ["朝阳医院", "北京站", "海淀实验小学"])
async def test_landmarks(
    geocoder: Geocoder, cn_region: tuple[AsyncEngine, CnRegion], name: str
) -> None:
    top = (await geocoder.geocode(REGION, name))[0]
    assert top.kind == "landmark"
    assert _metres(top, cn_region[1].landmarks[name]) <= 30


async def test_a_number_not_on_the_street_is_not_exact(geocoder: Geocoder) -> None:
    top = (await geocoder.geocode(REGION, "北京市朝阳区中山路999号"))[0]
    assert top.kind != "address"
    assert top.extra["exact"] is False
