"""SQL adapter for stations, units, unit status history, assignments and the run cards changed
at run time.

Every function takes the caller's ``AsyncConnection`` and runs in its transaction. Unit rows
are versioned: ``save_unit`` updates ``WHERE id = :id AND version = :v`` and raises ``Conflict``
when someone else changed the unit first, so no update is ever lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch.assignments import Assignment, EndReason
from dispatch.errors import Conflict, NotFound
from dispatch.tables import assignments, run_cards, stations, unit_status_history, units
from dispatch.units import Capability, Position, Station, Unit, UnitStatus, UnitStatusChanged


def _point(p: Position | None) -> Any:
    if p is None:
        return None
    return func.ST_SetSRID(func.ST_MakePoint(p.lon, p.lat), 4326)


async def insert_station(conn: AsyncConnection, station: Station, source: str = "") -> None:
    try:
        await conn.execute(
            insert(stations).values(
                id=station.id,
                region=station.region or None,
                name=station.name,
                names=dict(station.names),
                source=source or None,
                geom=_point(station.position),
            )
        )
    except IntegrityError as exc:
        raise Conflict(
            f"a station with id {station.id} exists",
            code="station.exists",
            station_id=station.id,
        ) from exc


def _station_query() -> Any:
    return select(
        stations.c.id,
        stations.c.name,
        stations.c.region,
        stations.c.names,
        func.ST_X(stations.c.geom).label("lon"),
        func.ST_Y(stations.c.geom).label("lat"),
    )


def _station(r: Any) -> Station:
    return Station(r.id, r.name, Position(r.lon, r.lat), r.region or "", r.names)


async def get_station(conn: AsyncConnection, station_id: str, *, lock: bool = False) -> Station:
    query = _station_query().where(stations.c.id == station_id)
    if lock:
        query = query.with_for_update(of=stations)
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(
            f"station {station_id!r} does not exist",
            code="station.unknown",
            station_id=station_id,
        )
    return _station(row)


async def update_station(conn: AsyncConnection, station: Station) -> None:
    """Write the station's name, names and position (its id and region stay)."""
    await conn.execute(
        update(stations)
        .where(stations.c.id == station.id)
        .values(name=station.name, names=dict(station.names), geom=_point(station.position))
    )


async def list_stations(conn: AsyncConnection, region: str | None = None) -> list[Station]:
    query = _station_query().order_by(stations.c.id)
    if region is not None:
        query = query.where(stations.c.region == region)
    rows = await conn.execute(query)
    return [_station(r) for r in rows]


async def insert_unit(conn: AsyncConnection, unit: Unit) -> None:
    try:
        await conn.execute(
            insert(units).values(
                id=unit.id,
                callsign=unit.callsign,
                unit_type=unit.unit_type,
                station_id=unit.station_id,
                capabilities=sorted(c.value for c in unit.capabilities),
                crew=unit.crew,
                status=unit.status.value,
                status_since=unit.status_since,
                incident_id=unit.incident_id,
                acknowledged_at=unit.acknowledged_at,
                fix=_point(unit.fix),
                fix_at=unit.fix_at,
                version=unit.version,
            )
        )
    except IntegrityError as exc:
        raise Conflict(
            f"a unit with id {unit.id} or callsign {unit.callsign} exists",
            code="unit.exists",
            unit_id=unit.id,
            callsign=unit.callsign,
        ) from exc


_UNIT_COLUMNS = (
    units.c.id,
    units.c.callsign,
    units.c.unit_type,
    units.c.station_id,
    units.c.capabilities,
    units.c.crew,
    units.c.status,
    units.c.status_since,
    units.c.incident_id,
    units.c.acknowledged_at,
    units.c.fix_at,
    units.c.version,
    func.ST_X(units.c.fix).label("fix_lon"),
    func.ST_Y(units.c.fix).label("fix_lat"),
    func.ST_X(stations.c.geom).label("st_lon"),
    func.ST_Y(stations.c.geom).label("st_lat"),
)


_CAPABILITIES = {c.value: c for c in Capability}
_STATUSES = {s.value: s for s in UnitStatus}


def _unit(r: Any) -> Unit:
    (
        uid,
        callsign,
        unit_type,
        station_id,
        caps,
        crew,
        status,
        status_since,
        incident_id,
        acknowledged_at,
        fix_at,
        version,
        fix_lon,
        fix_lat,
        st_lon,
        st_lat,
    ) = r
    return Unit(
        id=uid,
        callsign=callsign,
        unit_type=unit_type,
        station_id=station_id,
        capabilities=frozenset([_CAPABILITIES[c] for c in caps]),
        crew=crew,
        status=_STATUSES[status],
        status_since=status_since,
        station_position=None if st_lon is None else Position(st_lon, st_lat),
        incident_id=incident_id,
        acknowledged_at=acknowledged_at,
        fix=None if fix_lon is None else Position(fix_lon, fix_lat),
        fix_at=fix_at,
        version=version,
    )


def _units_query() -> Any:
    return select(*_UNIT_COLUMNS).select_from(
        units.outerjoin(stations, stations.c.id == units.c.station_id)
    )


async def get_unit(conn: AsyncConnection, unit_id: str, *, lock: bool = False) -> Unit:
    """The unit; with ``lock``, its row is locked until the transaction ends."""
    query = _units_query().where(units.c.id == unit_id)
    if lock:
        query = query.with_for_update(of=units)
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"unit {unit_id!r} does not exist", code="unit.unknown", unit_id=unit_id)
    return _unit(row)


async def unit_named(conn: AsyncConnection, name: str) -> str | None:
    """The id of the unit ``name`` names, by id or callsign (None: no such unit)."""
    found = await conn.scalar(
        select(units.c.id).where(or_(units.c.id == name, units.c.callsign == name))
    )
    return None if found is None else str(found)


async def get_units(conn: AsyncConnection, unit_ids: Sequence[str]) -> list[Unit]:
    """The units in the order asked; a clear error naming any that do not exist."""
    rows = await conn.execute(_units_query().where(units.c.id.in_(list(unit_ids))))
    found = {u.id: u for u in map(_unit, rows)}
    missing = [u for u in unit_ids if u not in found]
    if missing:
        raise NotFound(
            f"no such unit: {', '.join(missing)}", code="unit.unknown_many", unit_ids=missing
        )
    return [found[u] for u in unit_ids]


async def list_units(
    conn: AsyncConnection,
    *,
    region: str | None = None,
    statuses: Iterable[UnitStatus] | None = None,
    incident_id: int | None = None,
) -> list[Unit]:
    query = _units_query().order_by(units.c.id)
    if region is not None:
        query = query.where(stations.c.region == region)
    if statuses is not None:
        query = query.where(units.c.status.in_([s.value for s in statuses]))
    if incident_id is not None:
        query = query.where(units.c.incident_id == incident_id)
    return [_unit(r) for r in await conn.execute(query)]


async def save_unit(conn: AsyncConnection, old: Unit, new: Unit) -> Unit:
    """Write ``new`` over ``old`` if nobody changed the unit since ``old`` was read."""
    result = await conn.execute(
        update(units)
        .where(and_(units.c.id == old.id, units.c.version == old.version))
        .values(
            status=new.status.value,
            status_since=new.status_since,
            incident_id=new.incident_id,
            acknowledged_at=new.acknowledged_at,
            crew=new.crew,
            capabilities=sorted(c.value for c in new.capabilities),
            station_id=new.station_id,
            unit_type=new.unit_type,
            version=old.version + 1,
        )
    )
    if result.rowcount != 1:
        current = await conn.scalar(select(units.c.status).where(units.c.id == old.id))
        if current is None:
            raise NotFound(f"unit {old.id!r} does not exist", code="unit.unknown", unit_id=old.id)
        raise Conflict(
            f"unit {old.callsign} was changed by someone else meanwhile (it is now {current}); "
            "reload and try again",
            code="unit.changed_meanwhile",
            unit_id=old.id,
            callsign=old.callsign,
            status=current,
        )
    return _replace_version(new, old.version + 1)


def _replace_version(unit: Unit, version: int) -> Unit:
    values = {f.name: getattr(unit, f.name) for f in fields(unit)}
    values["version"] = version
    return Unit(**values)


async def set_fix(conn: AsyncConnection, unit_id: str, position: Position, at: datetime) -> None:
    """The unit's last GPS fix (not versioned: positions never conflict with dispatch)."""
    result = await conn.execute(
        update(units)
        .where(and_(units.c.id == unit_id, func.coalesce(units.c.fix_at, at) <= at))
        .values(fix=_point(position), fix_at=at)
    )
    if (
        result.rowcount == 0
        and await conn.scalar(select(units.c.id).where(units.c.id == unit_id)) is None
    ):
        raise NotFound(f"unit {unit_id!r} does not exist", code="unit.unknown", unit_id=unit_id)


async def set_fixes(
    conn: AsyncConnection, latest: Sequence[tuple[str, float, float, datetime]]
) -> int:
    """Many units' last GPS fixes ``(unit_id, lon, lat, at)`` in one statement: each unit's
    newest by ``at``, kept only where it is newer than the stored one. Unknown units are
    skipped. Returns how many units moved."""
    if not latest:
        return 0
    result = await conn.execute(
        text(
            "UPDATE dispatch_units u SET fix = ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326), "
            "fix_at = v.at FROM (SELECT DISTINCT ON (unit_id) unit_id, lon, lat, at "
            "FROM unnest(CAST(:ids AS text[]), CAST(:lons AS float8[]), "
            "CAST(:lats AS float8[]), CAST(:ats AS timestamptz[])) AS t(unit_id, lon, lat, at) "
            "ORDER BY unit_id, at DESC) v "
            "WHERE u.id = v.unit_id AND (u.fix_at IS NULL OR u.fix_at < v.at)"
        ),
        {
            "ids": [r[0] for r in latest],
            "lons": [r[1] for r in latest],
            "lats": [r[2] for r in latest],
            "ats": [r[3] for r in latest],
        },
    )
    return int(result.rowcount or 0)


async def record_status(conn: AsyncConnection, event: UnitStatusChanged, actor: str) -> None:
    await conn.execute(
        insert(unit_status_history).values(
            unit_id=event.unit_id,
            from_status=event.from_status.value,
            to_status=event.to_status.value,
            at=event.at,
            incident_id=event.incident_id,
            actor=actor,
            reason=event.reason,
        )
    )


async def status_history(conn: AsyncConnection, unit_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(unit_status_history)
        .where(unit_status_history.c.unit_id == unit_id)
        .order_by(unit_status_history.c.id)
    )
    return [dict(r._mapping) for r in rows]


def _assignment(r: Row[Any]) -> Assignment:
    return Assignment(
        id=r.id,
        incident_id=r.incident_id,
        unit_id=r.unit_id,
        assigned_at=r.assigned_at,
        assigned_by=r.assigned_by,
        acknowledged_at=r.acknowledged_at,
        en_route_at=r.en_route_at,
        on_scene_at=r.on_scene_at,
        transporting_at=r.transporting_at,
        at_hospital_at=r.at_hospital_at,
        ended_at=r.ended_at,
        end_reason=None if r.end_reason is None else EndReason(r.end_reason),
    )


async def insert_assignment(
    conn: AsyncConnection, incident_id: int, unit_id: str, at: datetime, by: str
) -> Assignment:
    try:
        async with conn.begin_nested():
            row = (
                await conn.execute(
                    insert(assignments)
                    .values(
                        incident_id=incident_id, unit_id=unit_id, assigned_at=at, assigned_by=by
                    )
                    .returning(*assignments.c)
                )
            ).one()
    except IntegrityError as exc:
        raise Conflict(
            f"unit {unit_id} already has an open assignment",
            code="unit.assignment_open",
            unit_id=unit_id,
        ) from exc
    return _assignment(row)


async def open_assignment(conn: AsyncConnection, unit_id: str) -> Assignment | None:
    row = (
        await conn.execute(
            select(assignments).where(
                and_(assignments.c.unit_id == unit_id, assignments.c.ended_at.is_(None))
            )
        )
    ).first()
    return None if row is None else _assignment(row)


async def assignments_of(
    conn: AsyncConnection, incident_id: int, *, open_only: bool = False
) -> list[Assignment]:
    query = select(assignments).where(assignments.c.incident_id == incident_id)
    if open_only:
        query = query.where(assignments.c.ended_at.is_(None))
    rows = await conn.execute(query.order_by(assignments.c.id))
    return [_assignment(r) for r in rows]


async def save_assignment(conn: AsyncConnection, a: Assignment) -> None:
    await conn.execute(
        update(assignments)
        .where(assignments.c.id == a.id)
        .values(
            incident_id=a.incident_id,
            acknowledged_at=a.acknowledged_at,
            en_route_at=a.en_route_at,
            on_scene_at=a.on_scene_at,
            transporting_at=a.transporting_at,
            at_hospital_at=a.at_hospital_at,
            ended_at=a.ended_at,
            end_reason=None if a.end_reason is None else a.end_reason.value,
        )
    )


# ---------------------------------------------------------------------- run cards


async def run_card_overrides(conn: AsyncConnection) -> dict[str, dict[Capability, int]]:
    """The run cards changed at run time: incident type code -> capability -> count."""
    rows = await conn.execute(select(run_cards.c.type_code, run_cards.c.requirements))
    return {
        r.type_code: {_CAPABILITIES[c]: int(n) for c, n in r.requirements.items()} for r in rows
    }


async def put_run_card(
    conn: AsyncConnection,
    type_code: str,
    requirements: dict[Capability, int],
    actor: str,
    at: datetime,
) -> dict[Capability, int] | None:
    """Store the card of ``type_code`` (replacing a stored one); returns the one it replaced."""
    before = await conn.scalar(
        select(run_cards.c.requirements)
        .where(run_cards.c.type_code == type_code)
        .with_for_update()
    )
    values = {
        "requirements": {c.value: n for c, n in sorted(requirements.items())},
        "updated_by": actor,
        "updated_at": at,
    }
    await conn.execute(
        pg_insert(run_cards)
        .values(type_code=type_code, **values)
        .on_conflict_do_update(index_elements=[run_cards.c.type_code], set_=values)
    )
    return None if before is None else {_CAPABILITIES[c]: int(n) for c, n in before.items()}


async def delete_run_card(conn: AsyncConnection, type_code: str) -> dict[Capability, int] | None:
    """Remove the stored card of ``type_code``; returns it (None: there was none)."""
    gone = await conn.scalar(
        run_cards.delete()
        .where(run_cards.c.type_code == type_code)
        .returning(run_cards.c.requirements)
    )
    return None if gone is None else {_CAPABILITIES[c]: int(n) for c, n in gone.items()}
