"""The plan tables read and written (SQLAlchemy Core, async): versions, situations, matches,
activations and tasks. Every function runs on the caller's connection, inside its transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from plans.document import parse_plan
from plans.errors import NotFound
from plans.model import Activation, Facts, PlanStatus, PlanTask, PlanVersion, Vocabulary
from plans.tables import activations, library, matches, plan_versions, situations, tasks

# --------------------------------------------------------------------------- versions


def _version(row: Any, vocabulary: Vocabulary) -> PlanVersion:
    return PlanVersion(
        id=row.id,
        key=row.plan_key,
        version=row.version,
        status=PlanStatus(row.status),
        plan=parse_plan(row.document, vocabulary),
        created_by=row.created_by,
        created_at=row.created_at,
        submitted_by=row.submitted_by,
        submitted_at=row.submitted_at,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        retired_by=row.retired_by,
        retired_at=row.retired_at,
    )


async def add_version(
    conn: AsyncConnection,
    key: str,
    document: Mapping[str, Any],
    actor: str,
    at: datetime,
    vocabulary: Vocabulary,
) -> PlanVersion:
    """A new draft version of plan ``key``, numbered after its last one (locked per key)."""
    await conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
    last = await conn.scalar(
        sa.select(sa.func.max(plan_versions.c.version)).where(plan_versions.c.plan_key == key)
    )
    row = (
        await conn.execute(
            plan_versions.insert()
            .values(
                plan_key=key,
                version=(last or 0) + 1,
                status=PlanStatus.DRAFT.value,
                document=dict(document),
                created_by=actor,
                created_at=at,
            )
            .returning(*plan_versions.c)
        )
    ).one()
    return _version(row, vocabulary)


async def get_version(
    conn: AsyncConnection,
    key: str,
    version: int | None,
    vocabulary: Vocabulary,
    *,
    lock: bool = False,
) -> PlanVersion:
    """Version ``version`` of plan ``key`` (None: its latest)."""
    query = sa.select(plan_versions).where(plan_versions.c.plan_key == key)
    if version is None:
        query = query.order_by(plan_versions.c.version.desc()).limit(1)
    else:
        query = query.where(plan_versions.c.version == version)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(
            f"there is no plan {key}" + ("" if version is None else f" version {version}"),
            code="plan.version_not_found",
            key=key,
            version=version,
        )
    return _version(row, vocabulary)


async def versions_of(conn: AsyncConnection, key: str, vocabulary: Vocabulary) -> list[PlanVersion]:
    rows = await conn.execute(
        sa.select(plan_versions)
        .where(plan_versions.c.plan_key == key)
        .order_by(plan_versions.c.version)
    )
    found = [_version(r, vocabulary) for r in rows]
    if not found:
        raise NotFound(f"there is no plan {key}", code="plan.unknown", key=key)
    return found


async def latest_versions(conn: AsyncConnection, vocabulary: Vocabulary) -> list[PlanVersion]:
    """The latest version of every plan, by key."""
    newer = plan_versions.alias("newer")
    rows = await conn.execute(
        sa.select(plan_versions)
        .where(
            ~sa.exists().where(
                newer.c.plan_key == plan_versions.c.plan_key,
                newer.c.version > plan_versions.c.version,
            )
        )
        .order_by(plan_versions.c.plan_key)
    )
    return [_version(r, vocabulary) for r in rows]


async def approved_ids(conn: AsyncConnection) -> list[int]:
    """The ids of the approved versions (versions never change, so ids name their content)."""
    rows = await conn.execute(
        sa.select(plan_versions.c.id).where(plan_versions.c.status == PlanStatus.APPROVED.value)
    )
    return [int(r.id) for r in rows]


async def versions_by_id(
    conn: AsyncConnection, ids: Sequence[int], vocabulary: Vocabulary
) -> list[PlanVersion]:
    rows = await conn.execute(sa.select(plan_versions).where(plan_versions.c.id.in_(ids)))
    return [_version(r, vocabulary) for r in rows]


async def approved_stamp(conn: AsyncConnection) -> int:
    """The library's generation: it changes whenever the set of approved versions does."""
    return int(await conn.scalar(sa.select(library.c.generation).where(library.c.id == 1)) or 0)


async def bump_generation(conn: AsyncConnection) -> None:
    """The set of approved versions changed (in this transaction)."""
    await conn.execute(
        library.update().where(library.c.id == 1).values(generation=library.c.generation + 1)
    )


async def set_status(
    conn: AsyncConnection, version_id: int, status: PlanStatus, actor: str, at: datetime
) -> None:
    stamps: dict[str, Any] = {"status": status.value}
    who = {
        PlanStatus.IN_REVIEW: "submitted",
        PlanStatus.APPROVED: "approved",
        PlanStatus.RETIRED: "retired",
    }.get(status)
    if who is not None:
        stamps[f"{who}_by"] = actor
        stamps[f"{who}_at"] = at
    await conn.execute(
        plan_versions.update().where(plan_versions.c.id == version_id).values(**stamps)
    )


async def approved_of(conn: AsyncConnection, key: str) -> int | None:
    """The id of the approved version of ``key``, if any (locked)."""
    row = (
        await conn.execute(
            sa.select(plan_versions.c.id)
            .where(
                plan_versions.c.plan_key == key,
                plan_versions.c.status == PlanStatus.APPROVED.value,
            )
            .with_for_update()
        )
    ).first()
    return None if row is None else int(row.id)


# --------------------------------------------------------------------------- situations


async def facts_of(conn: AsyncConnection, incident_id: int) -> Facts:
    row = (
        await conn.execute(sa.select(situations).where(situations.c.incident_id == incident_id))
    ).first()
    return Facts() if row is None else Facts(row.casualties, row.trapped, row.hazmat)


async def save_facts(
    conn: AsyncConnection, incident_id: int, facts: Facts, actor: str, at: datetime
) -> None:
    values = {
        "casualties": facts.casualties,
        "trapped": facts.trapped,
        "hazmat": facts.hazmat,
        "updated_by": actor,
        "updated_at": at,
    }
    stmt = (
        pg_insert(situations)
        .values(incident_id=incident_id, **values)
        .on_conflict_do_update(index_elements=[situations.c.incident_id], set_=values)
    )
    await conn.execute(stmt)


# --------------------------------------------------------------------------- matches


@dataclass(frozen=True)
class KeptMatch:
    version_id: int
    key: str
    version: int
    rank: int
    score: float


async def matches_of(conn: AsyncConnection, incident_id: int) -> list[KeptMatch]:
    """The last match kept for an incident, best first."""
    rows = await conn.execute(
        sa.select(
            matches.c.version_id,
            plan_versions.c.plan_key,
            plan_versions.c.version,
            matches.c.rank,
            matches.c.score,
        )
        .join(plan_versions, plan_versions.c.id == matches.c.version_id)
        .where(matches.c.incident_id == incident_id)
        .order_by(matches.c.rank)
    )
    return [KeptMatch(r.version_id, r.plan_key, r.version, r.rank, r.score) for r in rows]


async def replace_matches(
    conn: AsyncConnection, incident_id: int, ranked: Sequence[tuple[int, float]]
) -> None:
    """Keep ``ranked`` (version id, score), best first, as the incident's match."""
    await conn.execute(matches.delete().where(matches.c.incident_id == incident_id))
    if ranked:
        await conn.execute(
            matches.insert(),
            [
                {"incident_id": incident_id, "version_id": vid, "rank": i + 1, "score": score}
                for i, (vid, score) in enumerate(ranked)
            ],
        )


# --------------------------------------------------------------------------- activations


def _geojson(value: Any) -> dict[str, Any] | None:
    return None if value is None else dict(json.loads(value))


_ACTIVATION_COLUMNS = (
    activations.c.id,
    activations.c.incident_id,
    activations.c.version_id,
    activations.c.plan_key,
    activations.c.version,
    activations.c.stage,
    activations.c.activated_by,
    activations.c.activated_at,
    sa.func.ST_AsGeoJSON(activations.c.evacuation, 7).label("evacuation"),
    sa.func.ST_AsGeoJSON(activations.c.cordon, 7).label("cordon"),
)


def _activation(row: Any) -> Activation:
    return Activation(
        row.id,
        row.incident_id,
        row.version_id,
        row.plan_key,
        row.version,
        row.stage,
        row.activated_by,
        row.activated_at,
        _geojson(row.evacuation),
        _geojson(row.cordon),
    )


async def add_activation(
    conn: AsyncConnection,
    incident_id: int,
    version_id: int,
    key: str,
    version: int,
    actor: str,
    at: datetime,
    evacuation_wkt: str | None,
    cordon_wkt: str | None,
) -> Activation | None:
    """The new activation, or None when the plan is already active on the incident."""

    def geom(wkt: str | None) -> Any:
        return None if wkt is None else sa.func.ST_GeomFromText(wkt, 4326)

    row = (
        await conn.execute(
            pg_insert(activations)
            .values(
                incident_id=incident_id,
                version_id=version_id,
                plan_key=key,
                version=version,
                stage=1,
                activated_by=actor,
                activated_at=at,
                evacuation=geom(evacuation_wkt),
                cordon=geom(cordon_wkt),
            )
            .on_conflict_do_nothing(constraint="plan_activations_incident_plan")
            .returning(*_ACTIVATION_COLUMNS)
        )
    ).first()
    return None if row is None else _activation(row)


async def activations_of(
    conn: AsyncConnection, incident_id: int, *, lock: bool = False
) -> list[Activation]:
    query = (
        sa.select(*_ACTIVATION_COLUMNS)
        .where(activations.c.incident_id == incident_id)
        .order_by(activations.c.id)
    )
    if lock:
        query = query.with_for_update(of=activations)
    return [_activation(r) for r in await conn.execute(query)]


async def set_stage(conn: AsyncConnection, activation_id: int, stage: int) -> None:
    await conn.execute(
        activations.update().where(activations.c.id == activation_id).values(stage=stage)
    )


# --------------------------------------------------------------------------- tasks


def _task(row: Any) -> PlanTask:
    return PlanTask(
        row.id,
        row.activation_id,
        row.incident_id,
        row.seq,
        dict(row.names),
        row.role,
        row.department,
        row.due_at,
        row.status,
        row.done_by,
        row.done_at,
        row.overdue_alerted_at,
    )


async def add_tasks(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> list[PlanTask]:
    if not rows:
        return []
    result = await conn.execute(tasks.insert().returning(*tasks.c), [dict(r) for r in rows])
    return sorted((_task(r) for r in result), key=lambda t: (t.activation_id, t.seq))


async def tasks_of(conn: AsyncConnection, incident_id: int) -> list[PlanTask]:
    rows = await conn.execute(
        sa.select(tasks)
        .where(tasks.c.incident_id == incident_id)
        .order_by(tasks.c.activation_id, tasks.c.seq)
    )
    return [_task(r) for r in rows]


async def get_task(conn: AsyncConnection, task_id: int, *, lock: bool = False) -> PlanTask:
    query = sa.select(tasks).where(tasks.c.id == task_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"there is no plan task {task_id}", code="plan.task_not_found", task=task_id)
    return _task(row)


async def finish_task(conn: AsyncConnection, task_id: int, actor: str, at: datetime) -> PlanTask:
    row = (
        await conn.execute(
            tasks.update()
            .where(tasks.c.id == task_id)
            .values(status="done", done_by=actor, done_at=at)
            .returning(*tasks.c)
        )
    ).one()
    return _task(row)


async def mark_overdue(conn: AsyncConnection, now: datetime) -> list[PlanTask]:
    """Open tasks past their deadline with no alert yet: marked alerted, returned."""
    rows = await conn.execute(
        tasks.update()
        .where(
            tasks.c.status == "open",
            tasks.c.due_at < now,
            tasks.c.overdue_alerted_at.is_(None),
        )
        .values(overdue_alerted_at=now)
        .returning(*tasks.c)
    )
    return sorted((_task(r) for r in rows), key=lambda t: (t.due_at, t.id))


# --------------------------------------------------------------------------- places


async def place_position(
    conn: AsyncConnection, region: str, name: str
) -> tuple[str, float, float] | None:
    """A named place of the region's map (hospital, school, chemical site): its name and
    position, by its name in any language, ignoring case."""
    row = (
        await conn.execute(_PLACE_BY_NAME, {"region": region, "name": name.strip().lower()})
    ).first()
    return None if row is None else (str(row.name), float(row.lon), float(row.lat))


_PLACE_BY_NAME = sa.text(
    "SELECT name, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM gis_places "
    "WHERE region = :region AND (lower(name) = :name OR EXISTS "
    "(SELECT 1 FROM jsonb_each_text(names) AS n WHERE lower(n.value) = :name)) "
    "ORDER BY id LIMIT 1"
)


async def approved_version(
    conn: AsyncConnection, key: str, vocabulary: Vocabulary
) -> PlanVersion | None:
    row = (
        await conn.execute(
            sa.select(plan_versions).where(
                plan_versions.c.plan_key == key,
                plan_versions.c.status == PlanStatus.APPROVED.value,
            )
        )
    ).first()
    return None if row is None else _version(row, vocabulary)
