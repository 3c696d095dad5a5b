"""Which units to send: the incident's requirements (its type's run card, read from the
database on every request as the configuration's cards with the ones changed at run time laid
over them, or what a matched plan asks for), the drive time of every available unit that
carries a needed capability (one search on the road network, ``gis.routing``), and the fastest
cover with every other unit explained (``dispatch.recommend``, pure).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command.errors import Conflict, InvalidInput
from command.incidents import store as incidents_store
from command.incidents.access import Draft
from command.incidents.config import IncidentConfig
from command.incidents.domain import Incident
from command.incidents.service import Created, IncidentService, NewIncident, check_point
from dispatch import store as dispatch_store
from dispatch.recommend import Recommendation, recommend
from dispatch.runcards import RunCards
from dispatch.units import ASSIGNED, DISPATCHABLE, Capability, parse_capability


class DriveTimes(Protocol):
    """Seconds from each origin ``(id, lon, lat)`` to ``dest``; None where there is no route."""

    def __call__(
        self,
        conn: AsyncConnection,
        region: str,
        origins: Sequence[tuple[str, float, float]],
        dest: tuple[float, float],
    ) -> Awaitable[dict[str, float | None]]: ...


class PlanRequirements(Protocol):
    """What the plans active on an incident ask for (capability -> count); None if none."""

    def __call__(
        self, conn: AsyncConnection, incident_id: int
    ) -> Awaitable[Mapping[str, int] | None]: ...


class RunCardSource(Protocol):
    """The run cards in effect now (the configured ones with the stored changes)."""

    def __call__(self, conn: AsyncConnection) -> Awaitable[RunCards]: ...


@dataclass(frozen=True)
class Recommended:
    incident: Incident
    source: str  # run_card | plan | requested
    recommendation: Recommendation


class Recommender:
    """Recommendations for incidents, built once by the bootstrap with the region's routing."""

    def __init__(
        self,
        engine: AsyncEngine,
        config: IncidentConfig,
        incidents: IncidentService,
        drive_times: DriveTimes,
        plan_requirements: PlanRequirements | None = None,
        *,
        run_cards: RunCardSource | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.incidents = incidents
        self.drive_times = drive_times
        self.plan_requirements = plan_requirements
        #: None: the configuration's cards only
        self.run_cards = run_cards

    async def cards(self, conn: AsyncConnection) -> RunCards:
        """The run cards in effect, read now (no cache: a change applies to the next request)."""
        if self.run_cards is None:
            return self.config.run_cards
        return await self.run_cards(conn)

    def requirements(
        self, type_code: str, requested: Mapping[str, int] | None, cards: RunCards
    ) -> tuple[str, dict[Capability, int]]:
        """What to send: ``requested`` (capability -> count) if given, else the run card."""
        if requested:
            reqs: dict[Capability, int] = {}
            for name, count in requested.items():
                if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                    raise InvalidInput(
                        f"the count of {name} must be a whole number >= 0",
                        code="recommendation.count_invalid",
                        capability=name,
                    )
                reqs[parse_capability(name)] = count
            return "requested", reqs
        card = cards.for_type(type_code)
        if not card:
            raise InvalidInput(
                f"there is no run card for incident type {type_code}; "
                "say which capabilities are needed",
                code="recommendation.no_run_card",
                type=type_code,
            )
        return "run_card", card

    async def for_incident(
        self, incident_id: int, requested: Mapping[str, int] | None = None
    ) -> Recommended:
        """Rank units by drive time and choose the fastest set covering the requirements."""
        async with self.engine.connect() as conn:
            inc = await incidents_store.get(conn, incident_id)
            if not inc.open:
                raise Conflict(
                    f"incident {inc.number} is {inc.status}; reopen it before sending units",
                    code="incident.not_open",
                    number=inc.number,
                    status=inc.status.value,
                )
            source, reqs = await self._requirements_of(conn, inc, requested)
            rec = await self._at(conn, inc.region, inc.lon, inc.lat, reqs, inc.id)
            return Recommended(inc, source, rec)

    async def _requirements_of(
        self, conn: AsyncConnection, inc: Incident, requested: Mapping[str, int] | None
    ) -> tuple[str, dict[Capability, int]]:
        """Asked for, or the run card with what the active plans' alarm stages add (the most
        either asks of each capability)."""
        planned = None
        if not requested and self.plan_requirements is not None:
            planned = await self.plan_requirements(conn, inc.id)
        cards = self.config.run_cards if requested else await self.cards(conn)
        if not planned:
            return self.requirements(inc.type_code, requested, cards)
        card = cards.for_type(inc.type_code)
        reqs = dict(card)
        for name, count in planned.items():
            capability = parse_capability(name)
            reqs[capability] = max(reqs.get(capability, 0), count)
        return "plan", reqs

    async def create_and_recommend(
        self,
        new: NewIncident,
        actor: str,
        requested: Mapping[str, int] | None = None,
        *,
        marked: Draft | None = None,
    ) -> tuple[Created, Recommended]:
        """Log an incident and work out its recommendation at the same time.

        The recommendation needs only the point and the type, so units and drive times are read
        on a second connection while the incident is written (a new incident has no units yet).
        If the incident is refused, so is the whole request.
        """
        type_code = self.config.taxonomy.get(new.type_code).code
        if requested:
            cards = self.config.run_cards  # not read: what was asked for is sent
        else:
            async with self.engine.connect() as conn:
                cards = await self.cards(conn)
        source, reqs = self.requirements(type_code, requested, cards)
        check_point(new.lon, new.lat)

        async def advise() -> Recommendation:
            async with self.engine.connect() as conn:
                where = await incidents_store.jurisdiction_at(conn, new.lon, new.lat)
                region = None if where is None else str(where["region"])
                return await self._at(conn, region, new.lon, new.lat, reqs, None)

        created, advice = await asyncio.gather(
            self.incidents.create(new, actor, marked=marked), advise(), return_exceptions=True
        )
        if isinstance(created, BaseException):
            raise created
        if isinstance(advice, BaseException):
            raise advice
        return created, Recommended(created.incident, source, advice)

    async def _at(
        self,
        conn: AsyncConnection,
        region: str | None,
        lon: float,
        lat: float,
        reqs: Mapping[Capability, int],
        incident_id: int | None,
    ) -> Recommendation:
        all_units = await dispatch_store.list_units(conn)
        assigned = [
            u
            for u in all_units
            if incident_id is not None and u.incident_id == incident_id and u.status in ASSIGNED
        ]
        needed = {c for c, n in reqs.items() if n > 0}
        origins: list[tuple[str, float, float]] = []
        for u in all_units:
            origin = u.origin
            if u.status in DISPATCHABLE and u.capabilities & needed and origin is not None:
                origins.append((u.id, origin[1].lon, origin[1].lat))
        times: dict[str, float | None] = {}
        if origins and region is not None:
            times = await self.drive_times(conn, region, origins, (lon, lat))
        return recommend(reqs, all_units, times, assigned=assigned)
