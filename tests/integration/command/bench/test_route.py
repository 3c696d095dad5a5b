"""``cad bench route``: the generated city is one connected network, both methods agree, and
bad arguments are refused before anything is created."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.bench.city import CITY, build_city
from command.bench.route import run_benchmark
from command.cli import main
from command.settings import Settings
from gis import coords, routing_sql
from gis.routing import RoadGraphs
from tests.support import database
from tests.support import dispatch_builders as b

EXTENT = (
    "SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1 FROM"
    " (SELECT ST_Extent(geom)::geometry AS e FROM gis_road_vertices WHERE region = :r) x"
)


async def _bench_databases(pg_server: database.PgServer) -> list[str]:
    admin = await asyncpg.connect(pg_server.cluster.url("postgres", driver="postgresql"))
    try:
        rows = await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'cad_bench_%'")
    finally:
        await admin.close()
    return [r["datname"] for r in rows]


async def test_the_city_is_one_network_of_tiled_copies(map_engine: AsyncEngine) -> None:
    origin = b.VADUZ_CENTRE
    async with map_engine.begin() as conn:
        base = await routing_sql.main_network(conn, b.REGION)
        city = await build_city(conn, b.REGION, "tiled", 3, 2, links=4, seed=3)
        network = await routing_sql.main_network(conn, "tiled")
        graph = await RoadGraphs().graph(conn, "tiled")
        single = await RoadGraphs().graph(conn, b.REGION)
        # 6 copies, 7 borders of 4 two-way connectors each
        assert city.connectors == 4 * (2 * 2 + 3 * 1)
        assert city.edges == 6 * single.edges + city.connectors
        # stitched: the cut-off pieces are just those of every copy, the rest is one network
        assert len(network.isolated) == 6 * len(base.isolated)
        assert len(graph.snap.ids) == 6 * len(single.snap.ids) + city.connectors
        # the map goes with every copy, its places (the stations) with the first only
        for table, copies in (("gis_jurisdictions", 6), ("gis_addresses", 6), ("gis_places", 1)):
            counts = (
                await conn.execute(
                    text(f"SELECT region, count(*) FROM {table} GROUP BY region ORDER BY region")
                )
            ).all()
            assert [(r[0], r[1]) for r in counts] == [
                (b.REGION, counts[0][1]),
                ("tiled", copies * counts[0][1]),
            ], table
        # from a place in the first copy to the same place in the farthest copy
        ext = (await conn.execute(text(EXTENT), {"r": b.REGION})).one()
        there = (origin[0] + 2 * (ext.x1 - ext.x0), origin[1] + (ext.y1 - ext.y0))
        mine = await RoadGraphs().drive_times(conn, "tiled", [("a", *origin)], there)
        theirs = await routing_sql.drive_times(conn, "tiled", [("a", *origin)], there, network)
    seconds = mine["a"]
    assert seconds is not None
    assert seconds == pytest.approx(theirs["a"])
    assert seconds > coords.distance_m(*origin, *there) / (130 / 3.6)


@pytest.mark.slow
async def test_small_benchmark_run(
    pg_server: database.PgServer, database_url: str, database_admin_url: str
) -> None:
    settings = Settings(database_url=database_url, database_admin_url=database_admin_url)
    result = await run_benchmark(
        settings, b.PBF, b.REGION, (2, 1), units=30, runs=3, baseline_runs=2, seed=5
    )
    assert [r.region for r in result.regions] == [b.REGION, CITY]
    for region in result.regions:
        assert region.ours.runs == 3
        assert region.baseline.runs == 2
        assert region.mismatched == 0
        assert region.max_disagreement_s < 1e-6
        assert region.load.edges > 5000
        assert region.load.array_mb > 0
    city = result.regions[1]
    assert city.load.edges == 2 * result.regions[0].load.edges + result.city.connectors
    assert await _bench_databases(pg_server) == []


def test_bad_arguments_are_refused(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAD_DATABASE_URL", database_url)
    for args, message in (
        (["--tiles", "0x3"], "--tiles must be COLSxROWS"),
        (["--tiles", "six"], "--tiles must be COLSxROWS"),
        (["--tiles", "1x1"], "at least two tiles"),
        (["--units", "0"], "--units must be from 1 to 5000"),
        (["--baseline-runs", "0"], "--baseline-runs must be at least 1"),
        (["--pbf", "/nowhere.pbf"], "no OSM extract at /nowhere.pbf"),
    ):
        assert main(["bench", "route", *args]) == 2, args
        assert message in capsys.readouterr().err
