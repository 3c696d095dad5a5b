"""Administration of the fleet by supervisors and administrators: stations, units (created,
changed, taken out of service and returned to it), and the run cards changed at run time.

Every change is one unit of work: checked before anything is written, audited with what changed
(its row written in the same transaction) and evented (``station.created``, ``unit.changed``,
``run_card.changed`` ...). A unit's status changes only through the status machine
(``dispatch.units.transition``), and a unit working on an incident keeps what it was sent for:
its type, capabilities and crew are not changed, nor is it taken out of service here (a
dispatcher releases it first); its home station may change. Unit rows are versioned: a change
names the version it was made on, and a unit changed meanwhile is refused.

Run cards: the configuration's cards are the defaults. A card put here is stored and laid over
them (``dispatch.runcards.RunCards.with_overrides``); removing it brings the default back. The
recommendation reads the effective cards on every request (``effective_cards``), so every
process follows a change at once, with nothing cached.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command import audit
from command.dispatching import changes
from command.errors import Conflict, InvalidInput, NotFound
from command.events import NewEvent
from command.incidents.config import IncidentConfig
from command.incidents.domain import IncidentType
from command.origin import Origin
from command.unit_of_work import UnitOfWork, Work
from dispatch import store as dispatch_store
from dispatch.recommend import validate_requirements
from dispatch.runcards import RunCards
from dispatch.units import (
    ASSIGNED,
    UNIT_TYPES,
    Capability,
    Position,
    Station,
    Unit,
    UnitStatus,
    UnitType,
    parse_capabilities,
    parse_capability,
    transition,
    unit_type,
)
from gis.errors import RegionNotFoundError
from gis.regions import region_info


@dataclass(frozen=True)
class NewStation:
    id: str
    name: str
    lon: float
    lat: float
    region: str | None = None
    names: Mapping[str, str] | None = None


@dataclass(frozen=True)
class StationChange:
    """What changes of a station; None: unchanged (the position changes as a pair)."""

    name: str | None = None
    names: Mapping[str, str] | None = None
    lon: float | None = None
    lat: float | None = None


@dataclass(frozen=True)
class NewUnit:
    id: str
    unit_type: str
    callsign: str | None = None
    #: None: the unit type's usual capabilities
    capabilities: Sequence[str] | None = None
    #: None: the unit type's usual crew
    crew: int | None = None
    station_id: str | None = None


@dataclass(frozen=True)
class UnitChange:
    """What changes of a unit read at ``version``; None: unchanged. A new type without
    capabilities takes the type's usual ones; ``rehome`` says ``station_id`` is given (None
    then means no station)."""

    version: int
    unit_type: str | None = None
    capabilities: Sequence[str] | None = None
    crew: int | None = None
    station_id: str | None = None
    rehome: bool = False


@dataclass(frozen=True)
class CardLine:
    """The run card an incident type gets: the effective one, the configured default, whether
    it is overridden here, and which type's card it is (itself or its nearest parent)."""

    type_code: str
    names: Mapping[str, str]
    requirements: Mapping[Capability, int]
    default: Mapping[Capability, int]
    overridden: bool
    from_type: str | None


def _caps(card: Mapping[Capability, int]) -> dict[str, int]:
    return {c.value: n for c, n in sorted(card.items())}


def _unit_facts(u: Unit) -> dict[str, Any]:
    return {
        "callsign": u.callsign,
        "unit_type": u.unit_type,
        "capabilities": sorted(c.value for c in u.capabilities),
        "crew": u.crew,
        "station_id": u.station_id,
    }


class Fleet:
    """The fleet administration use cases, built once by the bootstrap."""

    def __init__(
        self,
        engine: AsyncEngine,
        config: IncidentConfig,
        clock: Callable[[], datetime],
        region: str,
    ) -> None:
        self.config = config
        #: the region of this centre: a new station's when none is named
        self.region = region
        self.work = UnitOfWork(engine, clock)

    # ------------------------------------------------------------------ stations

    async def stations(self, region: str | None = None) -> list[Station]:
        async with self.work.read() as conn:
            return await dispatch_store.list_stations(conn, region)

    async def create_station(self, new: NewStation, origin: Origin) -> Station:
        region = new.region or self.region
        station = Station(
            id=new.id,
            name=new.name,
            position=Position(new.lon, new.lat),
            region=region,
            names=dict(new.names or {}),
        )
        async with self.work.begin(origin.actor) as work:
            await self._check_in_region(work.conn, station.position, region)
            await dispatch_store.insert_station(work.conn, station, source="admin")
            facts = {
                "name": station.name,
                "names": dict(station.names),
                "region": region,
                "lon": station.position.lon,
                "lat": station.position.lat,
            }
            await self._audit(work, origin, "station.create", "station", station.id, facts)
            work.emit(NewEvent("station.created", "station", station.id, facts, origin.actor))
        return station

    async def change_station(
        self, station_id: str, change: StationChange, origin: Origin
    ) -> Station:
        if (change.lon is None) != (change.lat is None):
            raise InvalidInput(
                "a station's position changes as a pair: give both lon and lat",
                code="station.position_half",
                station_id=station_id,
            )
        position = (
            None if change.lon is None or change.lat is None else Position(change.lon, change.lat)
        )
        async with self.work.begin(origin.actor) as work:
            before = await dispatch_store.get_station(work.conn, station_id, lock=True)
            after = replace(
                before,
                name=before.name if change.name is None else change.name,
                names=before.names if change.names is None else dict(change.names),
                position=before.position if position is None else position,
            )
            if after == before:
                return before
            if position is not None:
                await self._check_in_region(work.conn, position, before.region)
            await dispatch_store.update_station(work.conn, after)
            facts = {
                "name": after.name,
                "names": dict(after.names),
                "lon": after.position.lon,
                "lat": after.position.lat,
                "was": {
                    "name": before.name,
                    "names": dict(before.names),
                    "lon": before.position.lon,
                    "lat": before.position.lat,
                },
            }
            await self._audit(work, origin, "station.change", "station", station_id, facts)
            work.emit(NewEvent("station.changed", "station", station_id, facts, origin.actor))
        return after

    async def _check_in_region(
        self, conn: AsyncConnection, position: Position, region: str
    ) -> None:
        try:
            info = await region_info(conn, region)
        except RegionNotFoundError:
            raise InvalidInput(
                f"region {region!r} has not been imported: a station belongs to a known region",
                code="station.region_unknown",
                region=region,
            ) from None
        west, south, east, north = info.bbox
        if not (west <= position.lon <= east and south <= position.lat <= north):
            raise InvalidInput(
                f"the point {position.lon}, {position.lat} is outside the region {region}",
                code="station.outside_region",
                lon=position.lon,
                lat=position.lat,
                region=region,
            )

    # ------------------------------------------------------------------ units

    async def create_unit(self, new: NewUnit, origin: Origin) -> Unit:
        kind = unit_type(new.unit_type)
        capabilities = (
            kind.capabilities if new.capabilities is None else parse_capabilities(new.capabilities)
        )
        _check_capabilities(new.id, capabilities)
        async with self.work.begin(origin.actor) as work:
            if new.station_id is not None:
                await dispatch_store.get_station(work.conn, new.station_id)
            unit = Unit(
                id=new.id,
                callsign=new.callsign or new.id,
                unit_type=kind.code,
                station_id=new.station_id,
                capabilities=capabilities,
                crew=kind.default_crew if new.crew is None else new.crew,
                status=UnitStatus.AVAILABLE,
                status_since=work.now,
            )
            await dispatch_store.insert_unit(work.conn, unit)
            facts = _unit_facts(unit)
            await self._audit(work, origin, "unit.create", "unit", unit.id, facts)
            work.emit(NewEvent("unit.created", "unit", unit.id, facts, origin.actor))
            return await dispatch_store.get_unit(work.conn, unit.id)

    async def change_unit(self, unit_id: str, change: UnitChange, origin: Origin) -> Unit:
        kind: UnitType | None = None if change.unit_type is None else unit_type(change.unit_type)
        wanted = None if change.capabilities is None else parse_capabilities(change.capabilities)
        async with self.work.begin(origin.actor) as work:
            unit = await dispatch_store.get_unit(work.conn, unit_id, lock=True)
            _check_version(unit, change.version)
            capabilities = (
                wanted
                if wanted is not None
                else kind.capabilities
                if kind is not None and kind.code != unit.unit_type
                else unit.capabilities
            )
            _check_capabilities(unit.id, capabilities)
            station_id = change.station_id if change.rehome else unit.station_id
            after = replace(
                unit,
                unit_type=unit.unit_type if kind is None else kind.code,
                capabilities=capabilities,
                crew=unit.crew if change.crew is None else change.crew,
                station_id=station_id,
            )
            if after == unit:
                return unit
            if (after.unit_type, after.capabilities, after.crew) != (
                unit.unit_type,
                unit.capabilities,
                unit.crew,
            ):
                await _check_free(work.conn, unit)
            if station_id is not None and station_id != unit.station_id:
                await dispatch_store.get_station(work.conn, station_id)
            await dispatch_store.save_unit(work.conn, unit, after)
            facts = {**_unit_facts(after), "was": _unit_facts(unit)}
            await self._audit(work, origin, "unit.change", "unit", unit.id, facts)
            work.emit(NewEvent("unit.changed", "unit", unit.id, facts, origin.actor))
            return await dispatch_store.get_unit(work.conn, unit.id)

    async def set_in_service(
        self, unit_id: str, in_service: bool, version: int, reason: str, origin: Origin
    ) -> Unit:
        """Take a unit out of service or return it, through the status machine; a unit working
        on an incident is refused (a dispatcher releases it first)."""
        to = UnitStatus.AVAILABLE if in_service else UnitStatus.OUT_OF_SERVICE
        async with self.work.begin(origin.actor) as work:
            unit = await dispatch_store.get_unit(work.conn, unit_id, lock=True)
            _check_version(unit, version)
            await _check_free(work.conn, unit)
            moved, ev = transition(unit, to, work.now, reason=reason)
            await dispatch_store.save_unit(work.conn, unit, moved)
            await dispatch_store.record_status(work.conn, ev, origin.actor)
            action = "unit.in_service" if in_service else "unit.out_of_service"
            facts = {"from": unit.status.value, "to": to.value, "reason": reason}
            await self._audit(work, origin, action, "unit", unit.id, facts)
            work.emit(changes.unit_event(ev, origin.actor, callsign=unit.callsign))
            return await dispatch_store.get_unit(work.conn, unit.id)

    # ------------------------------------------------------------------ run cards

    async def effective_cards(self, conn: AsyncConnection) -> RunCards:
        """The configured cards with the ones stored at run time laid over them (read now)."""
        overrides = await dispatch_store.run_card_overrides(conn)
        return self.config.run_cards.with_overrides(overrides)

    async def cards_now(self) -> RunCards:
        """The cards in effect now (for the incident types a desk shows)."""
        async with self.work.read() as conn:
            return await self.effective_cards(conn)

    async def run_cards(self) -> list[CardLine]:
        """Every incident type's card, by type code."""
        async with self.work.read() as conn:
            overrides = await dispatch_store.run_card_overrides(conn)
        return self._lines([t for _, t in sorted(self.config.taxonomy.types.items())], overrides)

    async def put_run_card(
        self, type_code: str, requirements: Mapping[str, int], origin: Origin
    ) -> CardLine:
        kind = self._incident_type(type_code)
        card = validate_requirements({parse_capability(c): n for c, n in requirements.items()})
        if not card:
            raise InvalidInput(
                f"the run card of {type_code} asks for no unit; remove the change to go back "
                "to the default",
                code="run_card.empty",
                type=type_code,
            )
        async with self.work.begin(origin.actor) as work:
            before = await dispatch_store.put_run_card(
                work.conn, type_code, card, origin.actor, work.now
            )
            facts = {"requirements": _caps(card), "was": None if before is None else _caps(before)}
            await self._audit(work, origin, "run_card.put", "run_card", type_code, facts)
            work.emit(NewEvent("run_card.changed", "run_card", type_code, facts, origin.actor))
            overrides = await dispatch_store.run_card_overrides(work.conn)
        return self._lines([kind], overrides)[0]

    async def reset_run_card(self, type_code: str, origin: Origin) -> CardLine:
        """Remove the card stored for ``type_code``: the configured default applies again."""
        kind = self._incident_type(type_code)
        async with self.work.begin(origin.actor) as work:
            gone = await dispatch_store.delete_run_card(work.conn, type_code)
            if gone is None:
                raise NotFound(
                    f"the run card of {type_code} is not changed: it is the default already",
                    code="run_card.not_overridden",
                    type=type_code,
                )
            facts = {"was": _caps(gone)}
            await self._audit(work, origin, "run_card.reset", "run_card", type_code, facts)
            work.emit(NewEvent("run_card.reset", "run_card", type_code, facts, origin.actor))
            overrides = await dispatch_store.run_card_overrides(work.conn)
        return self._lines([kind], overrides)[0]

    def _incident_type(self, type_code: str) -> IncidentType:
        kind = self.config.taxonomy.types.get(type_code)
        if kind is None:
            raise InvalidInput(
                f"there is no incident type {type_code!r} to give a run card",
                code="run_card.type_unknown",
                type=type_code,
            )
        return kind

    def _lines(
        self, kinds: list[IncidentType], overrides: Mapping[str, Mapping[Capability, int]]
    ) -> list[CardLine]:
        """The lines of ``kinds``, the stored ``overrides`` laid over the configured cards once."""
        defaults = self.config.run_cards
        cards = defaults.with_overrides(overrides)
        return [
            CardLine(
                type_code=kind.code,
                names=dict(kind.names),
                requirements=cards.for_type(kind.code),
                default=defaults.for_type(kind.code),
                overridden=kind.code in overrides,
                from_type=cards.applying(kind.code),
            )
            for kind in kinds
        ]

    # ------------------------------------------------------------------ shared

    @staticmethod
    async def _audit(
        work: Work,
        origin: Origin,
        action: str,
        object_type: str,
        object_id: str,
        detail: Mapping[str, Any],
    ) -> None:
        await audit.record(
            work.conn,
            actor=origin.actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            source=origin.source,
            result="ok",
            detail=detail,
        )


def unit_types() -> list[UnitType]:
    """The unit types a unit may be of, by code."""
    return [UNIT_TYPES[code] for code in sorted(UNIT_TYPES)]


def _check_capabilities(unit_id: str, capabilities: frozenset[Capability]) -> None:
    if not capabilities:
        raise InvalidInput(
            f"unit {unit_id} needs at least one capability",
            code="unit.capabilities_empty",
            unit_id=unit_id,
        )


def _check_version(unit: Unit, version: int) -> None:
    if unit.version != version:
        raise Conflict(
            f"unit {unit.callsign} was changed by someone else meanwhile (it is now "
            f"{unit.status}); reload and try again",
            code="unit.changed_meanwhile",
            unit_id=unit.id,
            callsign=unit.callsign,
            status=unit.status.value,
        )


async def _check_free(conn: AsyncConnection, unit: Unit) -> None:
    """A unit working on an incident keeps what it was sent for."""
    working = await dispatch_store.open_assignment(conn, unit.id)
    if unit.status in ASSIGNED or working is not None:
        incident_id = working.incident_id if working is not None else unit.incident_id
        raise Conflict(
            f"unit {unit.callsign} is {unit.status} on incident {incident_id}: release it "
            "from its assignment first",
            code="unit.on_assignment",
            unit_id=unit.id,
            callsign=unit.callsign,
            status=unit.status.value,
            incident_id=incident_id,
        )
