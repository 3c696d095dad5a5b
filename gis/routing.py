"""Drive times and routes on a region's road graph: :class:`RoadGraphs`, built once per process.

``RoadGraphs`` keeps each region's graph in memory (:mod:`gis.roadgraph`), read from
``gis_road_edges`` once per import: every call reads the region's stamp
(``gis_regions.generation`` and ``imported_at``, one indexed row) and a re-imported region
is read again, by the first caller, while the others wait for it.

- :meth:`RoadGraphs.drive_times`: seconds from each of many units to one incident, with one
  search in memory (no pgRouting, no graph built per call);
- :meth:`RoadGraphs.route`: one route with its geometry; pgRouting draws it
  (:func:`gis.routing_sql.route`, the same snapping rules), with the main network known from
  the in-memory graph.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gis import routing_sql
from gis.coords import check_lon_lat
from gis.errors import InvalidInput, RegionNotFoundError
from gis.roadgraph import RegionStamp, RoadGraph, build_graph
from gis.routing_sql import MainNetwork, Route

MAX_ORIGINS = 5000

_STAMP_SQL = text("SELECT generation, imported_at FROM gis_regions WHERE name = :region")

# One statement, so the edges and the stamp come from the same snapshot; the edges as arrays
# (decoded by the driver in one go), aligned because one scan feeds every aggregate.
_EDGES_SQL = text(
    """
    SELECT r.generation, r.imported_at, e.*
    FROM gis_regions r LEFT JOIN LATERAL (
        SELECT array_agg(id) AS ids, array_agg(source) AS sources, array_agg(target) AS targets,
               array_agg(cost_s) AS costs, array_agg(reverse_cost_s) AS reverses,
               array_agg(ST_AsBinary(geom)) AS wkbs
        FROM gis_road_edges WHERE region = r.name
    ) e ON true
    WHERE r.name = :region
    """
)


def check_origins(origins: Sequence[tuple[str, float, float]]) -> None:
    """Refuse too many origins, bad coordinates, or an id given twice."""
    if len(origins) > MAX_ORIGINS:
        raise InvalidInput(
            f"{len(origins)} origins; at most {MAX_ORIGINS} in one request",
            code="route.too_many_origins",
            origins=len(origins),
            max=MAX_ORIGINS,
        )
    seen: set[str] = set()
    for ident, lon, lat in origins:
        check_lon_lat(lon, lat)
        if ident in seen:
            raise InvalidInput(
                f"origin id {ident!r} is given twice", code="route.origin_twice", origin=ident
            )
        seen.add(ident)


def _not_imported(region: str) -> RegionNotFoundError:
    return RegionNotFoundError(f"region {region!r} has not been imported", region=region)


async def region_stamp(conn: AsyncConnection, region: str) -> RegionStamp:
    """Which import of ``region`` the database holds now."""
    row = (await conn.execute(_STAMP_SQL, {"region": region})).first()
    if row is None:
        raise _not_imported(region)
    return RegionStamp(generation=int(row.generation), imported_at=row.imported_at)


async def load_graph(conn: AsyncConnection, region: str) -> RoadGraph:
    """Read the region's edges and build its graph."""
    row = (await conn.execute(_EDGES_SQL, {"region": region})).first()
    if row is None:
        raise _not_imported(region)
    stamp = RegionStamp(generation=int(row.generation), imported_at=row.imported_at)

    def build() -> RoadGraph:
        ids = np.asarray(row.ids or [], dtype=np.int64)
        order = np.argsort(ids, kind="stable")

        def column(values: list[Any] | None, dtype: type) -> npt.NDArray[Any]:
            return np.asarray(values or [], dtype=dtype)[order]

        return build_graph(
            region,
            stamp,
            ids=ids[order],
            source=column(row.sources, np.int64),
            target=column(row.targets, np.int64),
            cost=column(row.costs, np.float64),
            reverse=column(row.reverses, np.float64),
            lines=column(list(shapely.from_wkb(row.wkbs or [])), object),
        )

    # Seconds of work on a city: in a worker thread, so the event loop keeps serving.
    return await asyncio.to_thread(build)


class RoadGraphs:
    """The road graphs of one database's regions, each read once per import.

    Built once by the application's bootstrap and handed to whoever routes.
    """

    def __init__(self) -> None:
        self._graphs: dict[str, RoadGraph] = {}
        self._loading: dict[str, asyncio.Lock] = {}

    def held(self) -> list[str]:
        """The regions whose graph is in memory."""
        return sorted(self._graphs)

    async def graph(self, conn: AsyncConnection, region: str) -> RoadGraph:
        """The graph of the region's current import, read now if it is missing or outdated.

        Raises :class:`RegionNotFoundError` for a region that was never imported.
        """
        stamp = await region_stamp(conn, region)
        known = self._graphs.get(region)
        if known is not None and known.stamp == stamp:
            return known
        async with self._loading.setdefault(region, asyncio.Lock()):
            known = self._graphs.get(region)
            if known is not None and known.stamp == stamp:
                return known
            graph = await load_graph(conn, region)
            self._graphs[region] = graph
            return graph

    async def warm(self, engine: AsyncEngine) -> None:
        """Read every imported region's graph now, so that the first incident of each does
        not wait for it (the bootstrap starts this in the background)."""
        async with engine.connect() as conn:
            names = (await conn.execute(text("SELECT name FROM gis_regions"))).scalars().all()
            for name in names:
                await self.graph(conn, str(name))

    async def drive_times(
        self,
        conn: AsyncConnection,
        region: str,
        origins: Sequence[tuple[str, float, float]],
        dest: tuple[float, float],
    ) -> dict[str, float | None]:
        """Seconds to drive from each origin ``(id, lon, lat)`` to ``dest`` ``(lon, lat)``.

        ``None`` for an origin that cannot reach the destination (more than
        :data:`gis.roadsnap.MAX_SNAP_M` from any road, or the destination itself off the
        roads). Raises :class:`RegionNotFoundError` for a region that was never imported.
        """
        check_lon_lat(*dest)
        check_origins(origins)
        if not origins:
            return {}
        graph = await self.graph(conn, region)
        times = graph.drive_times([(o[1], o[2]) for o in origins], dest)
        return {o[0]: t for o, t in zip(origins, times, strict=True)}

    async def route(
        self,
        conn: AsyncConnection,
        region: str,
        origin: tuple[float, float],
        dest: tuple[float, float],
    ) -> Route | None:
        """The fastest drive from ``origin`` to ``dest`` (both ``(lon, lat)``), None if none.

        Raises :class:`RegionNotFoundError` for a region that was never imported.
        """
        check_lon_lat(*origin)
        check_lon_lat(*dest)
        graph = await self.graph(conn, region)
        network = MainNetwork(
            imported_at=graph.stamp.imported_at, isolated=tuple(graph.isolated.tolist())
        )
        return await routing_sql.route(conn, region, origin, dest, network)
