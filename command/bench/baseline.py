"""The routing benchmarks' baseline: drive times with pgRouting alone, one statement per
incident (:func:`gis.routing_sql.drive_times`: snapping in SQL by ``<->`` on the edges'
geometry index, the partial edges at both ends as virtual edges, one ``pgr_dijkstraCost`` from
the incident to every unit on the reversed graph)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from gis import routing_sql
from gis.routing_sql import MainNetwork

Origins = Sequence[tuple[str, float, float]]


class PgRoutingBaseline:
    """Drive times with pgRouting alone: one statement per incident.

    The region's main network (``pgr_strongComponents``) is worked out once per region and
    kept, as a team would keep it per import, so the statement does not pay for it.
    """

    def __init__(self) -> None:
        self._networks: dict[str, MainNetwork] = {}

    async def prepare(self, conn: AsyncConnection, region: str) -> None:
        self._networks[region] = await routing_sql.main_network(conn, region)

    async def __call__(
        self, conn: AsyncConnection, region: str, origins: Origins, dest: tuple[float, float]
    ) -> dict[str, float | None]:
        if region not in self._networks:
            await self.prepare(conn, region)
        return await routing_sql.drive_times(conn, region, origins, dest, self._networks[region])
