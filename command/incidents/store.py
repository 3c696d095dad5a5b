"""SQL adapter for incidents: numbers, rows, calls, narrative, status history, escalations.

Every function takes the caller's ``AsyncConnection``. Incident rows are versioned: ``save``
updates ``WHERE id = :id AND version = :v`` and raises ``Conflict`` when someone changed the
incident first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    Row,
    Text,
    and_,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from command.errors import Conflict, NotFound
from command.incidents.domain import (
    TERMINAL,
    CommandLevel,
    Incident,
    IncidentStatus,
    IncidentSummary,
    LevelChange,
    NarrativeEntry,
    ResponseLevel,
    format_number,
)
from command.incidents.response_times import IncidentTimes
from command.incidents.tables import (
    escalations,
    incident_calls,
    incident_numbers,
    incidents,
    narrative,
    status_history,
)

_COLUMNS = [c for c in incidents.c if c.name != "geom"]


def _select() -> Any:
    return select(
        *_COLUMNS,
        func.ST_X(incidents.c.geom).label("lon"),
        func.ST_Y(incidents.c.geom).label("lat"),
    )


def _incident(r: Row[Any]) -> Incident:
    m = r._mapping
    return Incident(
        id=m["id"],
        number=m["number"],
        type_code=m["type_code"],
        priority=m["priority"],
        response_level=ResponseLevel(m["response_level"]),
        status=IncidentStatus(m["status"]),
        command_level=CommandLevel[m["command_level"].upper()],
        region=m["region"],
        jurisdiction_id=m["jurisdiction_id"],
        jurisdiction_name=m["jurisdiction_name"],
        lon=m["lon"],
        lat=m["lat"],
        address=m["address"],
        cross_streets=m["cross_streets"],
        caller_name=m["caller_name"],
        caller_phone=m["caller_phone"],
        summary=m["summary"],
        merged_into=m["merged_into"],
        created_by=m["created_by"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        version=m["version"],
        call_answered_at=m["call_answered_at"],
        dispatched_at=m["dispatched_at"],
        en_route_at=m["en_route_at"],
        on_scene_at=m["on_scene_at"],
        under_control_at=m["under_control_at"],
        closed_at=m["closed_at"],
        cancelled_at=m["cancelled_at"],
    )


async def next_number(conn: AsyncConnection, year: int) -> str:
    """The next incident number of ``year`` (the counter row serialises concurrent callers)."""
    stmt = (
        pg_insert(incident_numbers)
        .values(year=year, last=1)
        .on_conflict_do_update(
            index_elements=[incident_numbers.c.year],
            set_={"last": incident_numbers.c.last + 1},
        )
        .returning(incident_numbers.c.last)
    )
    seq = (await conn.execute(stmt)).scalar_one()
    return format_number(year, int(seq))


async def create(
    conn: AsyncConnection, values: Mapping[str, Any], lon: float, lat: float
) -> Incident:
    row = (
        await conn.execute(
            insert(incidents)
            .values(**values, geom=func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326))
            .returning(
                *_COLUMNS,
                func.ST_X(incidents.c.geom).label("lon"),
                func.ST_Y(incidents.c.geom).label("lat"),
            )
        )
    ).one()
    return _incident(row)


async def get(conn: AsyncConnection, incident_id: int, *, lock: bool = False) -> Incident:
    query = _select().where(incidents.c.id == incident_id)
    if lock:
        query = query.with_for_update(of=incidents)
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(
            f"incident {incident_id} does not exist",
            code="incident.not_found",
            incident_id=incident_id,
        )
    return _incident(row)


async def numbers_of(conn: AsyncConnection, ids: set[int]) -> dict[int, str]:
    """The numbers of the incidents with these ids (ids that do not exist are left out)."""
    if not ids:
        return {}
    rows = await conn.execute(
        select(incidents.c.id, incidents.c.number).where(incidents.c.id.in_(sorted(ids)))
    )
    return {r.id: r.number for r in rows}


async def get_by_number(conn: AsyncConnection, number: str) -> Incident:
    row = (await conn.execute(_select().where(incidents.c.number == number))).first()
    if row is None:
        raise NotFound(
            f"incident {number} does not exist", code="incident.number_not_found", number=number
        )
    return _incident(row)


async def save(
    conn: AsyncConnection, old: Incident, changes: Mapping[str, Any], at: datetime
) -> Incident:
    """Apply ``changes`` if the incident is still at ``old.version``; else ``Conflict``."""
    values = {k: (v.value if isinstance(v, IncidentStatus) else v) for k, v in changes.items()}
    if "command_level" in values and isinstance(values["command_level"], CommandLevel):
        values["command_level"] = values["command_level"].label
    if "response_level" in values:
        values["response_level"] = int(values["response_level"])
    result = await conn.execute(
        update(incidents)
        .where(and_(incidents.c.id == old.id, incidents.c.version == old.version))
        .values(**values, updated_at=at, version=old.version + 1)
    )
    if result.rowcount != 1:
        raise Conflict(
            f"incident {old.number} was changed by someone else meanwhile; reload and try again",
            code="incident.changed_meanwhile",
            number=old.number,
            incident_id=old.id,
        )
    return await get(conn, old.id)


async def list_open(
    conn: AsyncConnection, *, command_levels: list[str] | None = None, limit: int = 500
) -> list[Incident]:
    query = (
        _select()
        .where(incidents.c.status.not_in([s.value for s in TERMINAL]))
        .order_by(incidents.c.priority, incidents.c.created_at)
        .limit(limit)
    )
    if command_levels is not None:
        query = query.where(incidents.c.command_level.in_(command_levels))
    return [_incident(r) for r in await conn.execute(query)]


async def open_near(
    conn: AsyncConnection, lon: float, lat: float, distance_m: float, since: datetime
) -> list[IncidentSummary]:
    """Open incidents created since ``since`` within ``distance_m`` metres (geodesic)."""
    here = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    rows = await conn.execute(
        select(
            incidents.c.id,
            incidents.c.number,
            incidents.c.type_code,
            incidents.c.status,
            func.ST_X(incidents.c.geom).label("lon"),
            func.ST_Y(incidents.c.geom).label("lat"),
            incidents.c.created_at,
        ).where(
            incidents.c.status.not_in([s.value for s in TERMINAL]),
            incidents.c.created_at >= since,
            func.ST_DWithin(func.Geography(incidents.c.geom), func.Geography(here), distance_m),
        )
    )
    return [
        IncidentSummary(
            r.id, r.number, r.type_code, IncidentStatus(r.status), r.lon, r.lat, r.created_at
        )
        for r in rows
    ]


async def jurisdiction_at(
    conn: AsyncConnection, lon: float, lat: float, region: str | None = None
) -> dict[str, Any] | None:
    """The most local jurisdiction covering the point (highest admin level), or None."""
    sql = text(
        "SELECT id, region, name, admin_level FROM gis_jurisdictions "
        "WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) "
        "AND (CAST(:region AS text) IS NULL OR region = :region) "
        "ORDER BY admin_level DESC, id LIMIT 1"
    )
    row = (await conn.execute(sql, {"lon": lon, "lat": lat, "region": region})).first()
    return None if row is None else dict(row._mapping)


_CROSS_STREETS_SQL = text(
    """
    WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g),
    s AS (
        SELECT st.name, st.norm, st.geom
        FROM gis_streets st, pt
        WHERE st.region = :region AND ST_DWithin(st.geom, pt.g, :deg)
        ORDER BY st.geom <-> pt.g
        LIMIT 1
    ),
    x AS (
        SELECT o.name,
               ST_Distance(ST_ClosestPoint(ST_Intersection(s.geom, o.geom), pt.g)::geography,
                           pt.g::geography) AS d
        FROM s, pt, gis_streets o
        WHERE o.region = :region AND o.norm <> s.norm AND ST_Intersects(o.geom, s.geom)
    )
    SELECT s.name AS street, (
        SELECT array_agg(name ORDER BY d) FROM (
            SELECT name, min(d) AS d FROM x GROUP BY name ORDER BY min(d) LIMIT 2
        ) two
    ) AS crossing
    FROM s
    """
)


async def cross_streets_at(conn: AsyncConnection, region: str, lon: float, lat: float) -> str:
    """The nearest street and its two nearest crossing streets, e.g. ``Städtle (A / B)``."""
    row = (
        await conn.execute(
            _CROSS_STREETS_SQL, {"region": region, "lon": lon, "lat": lat, "deg": 0.002}
        )
    ).first()
    if row is None:
        return ""
    crossing = [c for c in (row.crossing or []) if c]
    return f"{row.street} ({' / '.join(crossing)})" if crossing else str(row.street)


_PLACE_SQL = text(
    """
    WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g),
    j AS (
        SELECT j.id, j.region, j.name
        FROM gis_jurisdictions j, pt
        WHERE ST_Covers(j.geom, pt.g)
        ORDER BY j.admin_level DESC, j.id
        LIMIT 1
    ),
    s AS (
        SELECT st.name, st.norm, st.geom
        FROM gis_streets st, pt, j
        WHERE st.region = j.region AND ST_DWithin(st.geom, pt.g, :deg)
        ORDER BY st.geom <-> pt.g
        LIMIT 1
    ),
    x AS (
        SELECT o.name,
               min(ST_Distance(ST_ClosestPoint(ST_Intersection(s.geom, o.geom), pt.g)::geography,
                               pt.g::geography)) AS d
        FROM s, pt, j, gis_streets o
        WHERE o.region = j.region AND o.norm <> s.norm AND ST_Intersects(o.geom, s.geom)
        GROUP BY o.name
        ORDER BY d
        LIMIT 2
    ),
    near AS (
        SELECT i.id, i.number, i.type_code, i.status, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat,
               i.created_at
        FROM incidents i, pt
        WHERE i.status NOT IN ('closed', 'cancelled') AND i.created_at >= :since
          AND ST_DWithin(i.geom::geography, pt.g::geography, :distance)
    )
    SELECT (SELECT row_to_json(j) FROM j) AS jurisdiction,
           (SELECT name FROM s) AS street,
           (SELECT array_agg(name ORDER BY d) FROM x) AS crossing,
           (SELECT json_agg(near) FROM near) AS near
    """
).bindparams(bindparam("since", type_=DateTime(timezone=True)))


@dataclass(frozen=True)
class Place:
    """What a new incident needs to know about its point, read in one query."""

    jurisdiction: dict[str, Any] | None
    cross_streets: str
    near: list[IncidentSummary]


async def place_context(
    conn: AsyncConnection, lon: float, lat: float, distance_m: float, since: datetime
) -> Place:
    """The jurisdiction covering the point, the nearest street and its two nearest crossings,
    and the open incidents created since ``since`` within ``distance_m`` metres."""
    row = (
        await conn.execute(
            _PLACE_SQL,
            {"lon": lon, "lat": lat, "deg": 0.002, "since": since, "distance": distance_m},
        )
    ).one()
    jurisdiction = _json(row.jurisdiction)
    crossing = [c for c in (row.crossing or []) if c]
    street = row.street or ""
    cross = f"{street} ({' / '.join(crossing)})" if street and crossing else street
    near = [
        IncidentSummary(
            int(n["id"]),
            str(n["number"]),
            str(n["type_code"]),
            IncidentStatus(n["status"]),
            float(n["lon"]),
            float(n["lat"]),
            datetime.fromisoformat(n["created_at"]),
        )
        for n in (_json(row.near) or [])
    ]
    return Place(jurisdiction, cross, near)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


_CREATE_SQL = text(
    """
    WITH n AS (
        INSERT INTO incident_numbers AS c (year, last) VALUES (:year, 1)
        ON CONFLICT (year) DO UPDATE SET last = c.last + 1
        RETURNING last
    ),
    ins AS (
        INSERT INTO incidents (
            number, type_code, priority, response_level, status, command_level, region,
            jurisdiction_id, jurisdiction_name, geom, address, cross_streets, caller_name,
            caller_phone, summary, created_by, created_at, updated_at, call_answered_at)
        SELECT CAST(:year AS text) || '-' || CASE WHEN n.last < 1000000
                    THEN lpad(n.last::text, 6, '0') ELSE n.last::text END,
               :type_code, :priority, :response_level, 'new', :command_level, :region,
               :jurisdiction_id, :jurisdiction_name, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326),
               :address, :cross_streets, :caller_name, :caller_phone, :summary, :actor, :at, :at,
               :call_answered_at
        FROM n
        RETURNING *
    ),
    history AS (
        INSERT INTO incident_status_history (incident_id, from_status, to_status, at, actor)
        SELECT id, NULL, 'new', :at, :actor FROM ins
    ),
    note AS (
        INSERT INTO incident_narrative (incident_id, at, author, kind, text)
        SELECT id, :at, :actor, 'note', :summary FROM ins WHERE :summary <> ''
    ),
    call AS (
        INSERT INTO incident_calls (incident_id, call_id, answered_at, caller_phone, linked_at,
                                    linked_by)
        SELECT id, :call_id, :call_answered_at, :caller_phone, :at, :actor
        FROM ins WHERE CAST(:call_id AS text) IS NOT NULL
    )
    SELECT ins.*, ST_X(ins.geom) AS lon, ST_Y(ins.geom) AS lat FROM ins
    """
).bindparams(
    bindparam("at", type_=DateTime(timezone=True)),
    bindparam("call_answered_at", type_=DateTime(timezone=True)),
    bindparam("call_id", type_=Text),
    bindparam("year", type_=Integer),
)


async def create_new(
    conn: AsyncConnection,
    values: Mapping[str, Any],
    lon: float,
    lat: float,
) -> Incident:
    """A new incident with its number, first status, summary note and first call, in one
    statement. ``values``: type_code, priority, response_level, command_level, region,
    jurisdiction_id, jurisdiction_name, address, cross_streets, caller_name, caller_phone,
    summary, actor, at, call_id, call_answered_at."""
    at: datetime = values["at"]
    row = (
        await conn.execute(_CREATE_SQL, {**values, "year": at.year, "lon": lon, "lat": lat})
    ).one()
    return _incident(row)


# ------------------------------------------------------------------------- calls


async def link_call(
    conn: AsyncConnection,
    incident_id: int,
    call_id: str,
    answered_at: datetime | None,
    caller_phone: str,
    at: datetime,
    by: str,
) -> bool:
    """Link a call; False when it was linked already."""
    result = await conn.execute(
        pg_insert(incident_calls)
        .values(
            incident_id=incident_id,
            call_id=call_id,
            answered_at=answered_at,
            caller_phone=caller_phone,
            linked_at=at,
            linked_by=by,
        )
        .on_conflict_do_nothing()
    )
    return bool(result.rowcount)


async def calls_of(conn: AsyncConnection, incident_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(incident_calls)
        .where(incident_calls.c.incident_id == incident_id)
        .order_by(incident_calls.c.linked_at, incident_calls.c.call_id)
    )
    return [dict(r._mapping) for r in rows]


async def move_calls(conn: AsyncConnection, from_id: int, to_id: int) -> int:
    """Re-link every call of ``from_id`` to ``to_id`` (merge); returns how many moved."""
    result = await conn.execute(
        text(
            "INSERT INTO incident_calls (incident_id, call_id, answered_at, caller_phone, "
            "linked_at, linked_by) SELECT :to, call_id, answered_at, caller_phone, linked_at, "
            "linked_by FROM incident_calls WHERE incident_id = :frm ON CONFLICT DO NOTHING"
        ),
        {"to": to_id, "frm": from_id},
    )
    return int(result.rowcount or 0)


async def earliest_answer(conn: AsyncConnection, incident_id: int) -> datetime | None:
    value = await conn.scalar(
        select(func.min(incident_calls.c.answered_at)).where(
            incident_calls.c.incident_id == incident_id
        )
    )
    return value if isinstance(value, datetime) else None


# ------------------------------------------------------------------------- narrative, history


async def add_narrative(conn: AsyncConnection, incident_id: int, entry: NarrativeEntry) -> int:
    return int(
        (
            await conn.execute(
                insert(narrative)
                .values(
                    incident_id=incident_id,
                    at=entry.at,
                    author=entry.author,
                    kind=entry.kind,
                    text=entry.text,
                    code=entry.code,
                    params=dict(entry.params),
                )
                .returning(narrative.c.id)
            )
        ).scalar_one()
    )


async def narrative_of(conn: AsyncConnection, incident_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(narrative).where(narrative.c.incident_id == incident_id).order_by(narrative.c.id)
    )
    return [dict(r._mapping) for r in rows]


async def add_status(
    conn: AsyncConnection,
    incident_id: int,
    frm: IncidentStatus | None,
    to: IncidentStatus,
    at: datetime,
    actor: str,
    reason: str = "",
) -> None:
    await conn.execute(
        insert(status_history).values(
            incident_id=incident_id,
            from_status=None if frm is None else frm.value,
            to_status=to.value,
            at=at,
            actor=actor,
            reason=reason,
        )
    )


async def status_history_of(conn: AsyncConnection, incident_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(status_history)
        .where(status_history.c.incident_id == incident_id)
        .order_by(status_history.c.id)
    )
    return [dict(r._mapping) for r in rows]


async def add_level_change(conn: AsyncConnection, incident_id: int, change: LevelChange) -> None:
    await conn.execute(
        insert(escalations).values(
            incident_id=incident_id,
            kind=change.kind,
            from_value=change.from_value,
            to_value=change.to_value,
            reason=change.reason,
            at=change.at,
            actor=change.actor,
        )
    )


async def level_changes_of(conn: AsyncConnection, incident_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(escalations)
        .where(escalations.c.incident_id == incident_id)
        .order_by(escalations.c.id)
    )
    return [dict(r._mapping) for r in rows]


# ------------------------------------------------------------------------- response times


async def times_between(
    conn: AsyncConnection,
    since: datetime,
    until: datetime,
    *,
    type_prefix: str | None = None,
    jurisdiction: str | None = None,
) -> list[IncidentTimes]:
    """Stored timestamps of incidents created in ``[since, until)`` (merged ones left out),
    with the en-route and arrival times of the first engine on scene."""
    rows = await conn.execute(
        _TIMES_SQL,
        {
            "since": since,
            "until": until,
            "type_prefix": type_prefix or None,
            "jurisdiction": jurisdiction or None,
        },
    )
    return [
        IncidentTimes(
            r.id,
            r.number,
            r.type_code,
            r.jur,
            r.created_at,
            r.call_answered_at,
            r.dispatched_at,
            r.en_route_at,
            r.on_scene_at,
            r.engine_en_route_at,
            r.engine_on_scene_at,
        )
        for r in rows
    ]


_TIMES_SQL = text(
    """
    SELECT i.id, i.number, i.type_code, coalesce(i.jurisdiction_name, '') AS jur, i.created_at,
           i.call_answered_at, i.dispatched_at, i.en_route_at, i.on_scene_at,
           e.en_route_at AS engine_en_route_at, e.on_scene_at AS engine_on_scene_at
    FROM incidents i
    LEFT JOIN LATERAL (
        SELECT a.en_route_at, a.on_scene_at
        FROM dispatch_assignments a JOIN dispatch_units u ON u.id = a.unit_id
        WHERE a.incident_id = i.id AND a.on_scene_at IS NOT NULL
          AND 'engine' = ANY(u.capabilities)
        ORDER BY a.on_scene_at, a.id
        LIMIT 1
    ) e ON true
    WHERE i.created_at >= :since AND i.created_at < :until AND i.merged_into IS NULL
      AND (CAST(:type_prefix AS text) IS NULL OR i.type_code = :type_prefix
           OR left(i.type_code, length(:type_prefix) + 1) = :type_prefix || '.')
      AND (CAST(:jurisdiction AS text) IS NULL OR i.jurisdiction_name = :jurisdiction)
    ORDER BY i.created_at, i.id
    """
).bindparams(
    bindparam("since", type_=DateTime(timezone=True)),
    bindparam("until", type_=DateTime(timezone=True)),
)
