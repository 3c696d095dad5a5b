"""The one place that builds every part once: settings -> engine -> hub -> services -> links.

``build`` makes the container (nothing runs yet: the command line uses it as it is); ``start``
builds and starts what runs in the background (the event hub, the Asterisk link, the status
timers); ``stop`` stops them in reverse order and closes the engine. Routers, websockets, the
command line and the demo all receive their services from here, the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from command import supervision
from command.audit_trail import AuditTrail
from command.auth.accounts import Accounts
from command.auth.hashing import Hasher
from command.auth.password_policy import PasswordPolicy
from command.auth.revocations import OpenSockets, RevocationListener
from command.auth.roles import DEVICE_ONLY_ROLES, Role, parse_roles
from command.auth.service import Policy
from command.auth.signin import SigninPolicy
from command.auth.throttle import Limit, ThrottlePolicy
from command.calltaking.config import config_from
from command.calltaking.service import TelephonyService
from command.clock import Clock
from command.consulting.files import AttachmentFiles
from command.consulting.live import LiveBoard
from command.consulting.media import Connect, MediaRooms
from command.consulting.recordings import Recordings
from command.consulting.service import Consultations
from command.consulting.signaling import Channels
from command.db import database_url, make_engine
from command.db_hosts import asyncpg_dsn
from command.dispatching import timers as status_timers
from command.dispatching.assignments import Assignments
from command.dispatching.fleet import Fleet
from command.dispatching.recommendation import Recommender
from command.dispatching.unit_status import UnitStatusReports
from command.errors import Unavailable
from command.eventhub import EventHub
from command.health import HealthBoard, PartHealth
from command.idempotency import IdempotencyKeys
from command.incidents.access import IncidentAccess
from command.incidents.config import IncidentConfig, load_config
from command.incidents.service import IncidentService
from command.maps.service import Maps
from command.planning import task_timers as plan_task_timers
from command.planning import watcher as plan_watcher
from command.planning.activation import Activations
from command.planning.library import PlanLibrary, vocabulary_of
from command.planning.matching import IncidentPlans
from command.settings import Settings
from command.tracking.fanout import Fanout
from command.tracking.fences import FenceBook, FencePolicy
from command.tracking.maintenance import PositionMaintenance
from command.tracking.messages import encode_position
from command.tracking.playback import Playback
from command.tracking.ports import PositionRelay
from command.tracking.relay_pg import PgRelay
from command.tracking.service import Tracking, TrackingPolicy
from command.tracking.terminals import TerminalPolicy, Terminals
from command.tracking.trackers import Trackers
from command.tracking.writer import BatchedPositionWriter, WriterPolicy
from dispatch.avl.fixes import FixPolicy
from gis.cn_divisions import load_divisions
from gis.errors import GisError
from gis.geocode.service import Geocoder
from gis.geocode.store import IndexCache
from gis.routing import RoadGraphs
from video.janus.plane import JanusMediaPlane
from video.media_plane import MediaPlane

log = logging.getLogger(__name__)

UNDEFINED_TABLE = "42P01"  # PostgreSQL's code for a table that does not exist


@dataclass
class Container:
    """Every part of the running service, built once."""

    settings: Settings
    engine: AsyncEngine
    clock: Clock
    config: IncidentConfig
    hub: EventHub
    accounts: Accounts
    incidents: IncidentService
    #: sensitive incidents: their markings, and the check and audit of every read
    access: IncidentAccess
    assignments: Assignments
    unit_status: UnitStatusReports
    #: stations, units and run cards administered at run time
    fleet: Fleet
    recommender: Recommender
    geocoder: Geocoder
    #: drive times and routes: each region's road graph, read once per import
    roads: RoadGraphs
    maps: Maps
    telephony: TelephonyService
    plan_library: PlanLibrary
    incident_plans: IncidentPlans
    activations: Activations
    health: HealthBoard
    idempotency: IdempotencyKeys
    #: positions in, geofences; and the relay that carries accepted positions to consoles
    tracking: Tracking
    #: every unit's latest position and this process's tracking consoles
    fanout: Fanout
    #: accepted positions to the consoles of every process (``Tracking``'s ``PositionRelay``)
    relay: PgRelay
    #: the unit terminals connected to this process
    terminals: Terminals
    #: OsmAnd trackers and the bindings of their device ids to units
    trackers: Trackers
    #: breadcrumbs: stored in batches, partitions kept and retention applied
    positions: BatchedPositionWriter
    position_upkeep: PositionMaintenance
    playback: Playback
    #: this process's open websockets, closed when their token ends, and what tells it so
    sockets: OpenSockets
    revocations: RevocationListener
    #: the audit chain's key and its checkpoints outside the database
    audit_trail: AuditTrail
    #: video consultations: who is in, what they may do; the files attached to incidents
    consultations: Consultations
    #: the media plane (Janus) and the consultations' rooms on it
    media_rooms: MediaRooms
    #: recording consultations (the files converted and attached after) and their stills
    recordings: Recordings
    #: this process's signaling sockets, one per participant
    signaling_channels: Channels
    running: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def policy_from(settings: Settings) -> Policy:
    return Policy(
        idle=timedelta(minutes=settings.session_idle_minutes),
        lockout_failures=settings.lockout_failures,
        lockout=timedelta(minutes=settings.lockout_minutes),
        device_lifetime=timedelta(days=settings.device_token_days),
    )


def signin_policy_from(settings: Settings) -> SigninPolicy:
    lock = timedelta(minutes=settings.lockout_minutes)
    source_window = timedelta(minutes=settings.login_source_minutes)
    return SigninPolicy(
        throttle=ThrottlePolicy(
            per_source=Limit(settings.login_source_failures, source_window, source_window),
            per_account_source=Limit(settings.lockout_failures, lock, lock),
        ),
        totp_roles=parse_roles(settings.totp_required_roles)
        if settings.totp_required_roles.strip()
        else frozenset(),
    )


def _accounts(settings: Settings, engine: AsyncEngine, clock: Clock) -> Accounts:
    hasher = Hasher(
        settings.auth_hash_concurrency, settings.auth_hash_wait_s, settings.auth_hash_inline
    )
    return Accounts(
        engine,
        policy_from(settings),
        clock,
        hasher,
        PasswordPolicy.shipped(),
        signin_policy_from(settings),
    )


def writer_policy_from(settings: Settings) -> WriterPolicy:
    return WriterPolicy(
        batch_size=settings.position_batch_size,
        interval_s=settings.position_flush_ms / 1000,
        queue_limit=settings.position_queue_limit,
    )


def build(settings: Settings, engine: AsyncEngine) -> Container:
    """Every part, wired; nothing started (no background task, no connection yet)."""
    clock = Clock()
    config = load_config(settings.incidents_config)
    hub = EventHub(engine, queue_size=settings.event_queue_size)
    incidents = IncidentService(engine, config, clock)
    access = IncidentAccess(engine, clock, (r.value for r in Role))
    geocoder = Geocoder(
        engine,
        cache=IndexCache(snapshot_dir=settings.geocode_snapshot_dir),
        divisions=load_divisions(),
    )
    roads = RoadGraphs()
    telephony = TelephonyService(engine, hub, config_from(settings), clock)
    unit_status = UnitStatusReports(engine, config.status_limits, clock)
    fanout = Fanout(settings.tracking_rate_hz, encode_position)
    dsn = asyncpg_dsn(engine.url)
    relay = PgRelay(dsn, fanout)
    positions = BatchedPositionWriter(engine, writer_policy_from(settings))
    tracking = _tracking(settings, engine, clock, unit_status, positions, relay)
    assignments = Assignments(engine, clock)
    fleet = Fleet(engine, config, clock, settings.region)
    library = PlanLibrary(engine, vocabulary_of(config), clock, settings.region)
    incident_plans = IncidentPlans(engine, library, clock, ZoneInfo(settings.plans_timezone))
    activations = Activations(engine, incident_plans, clock)
    sockets = OpenSockets()
    consultations = Consultations(
        engine,
        clock,
        AttachmentFiles(settings.attachment_path, settings.attachment_max_mb * 1024 * 1024),
        LiveBoard(),
        bitrate_kbps=settings.consultation_bitrate_kbps,
        known_roles=(r.value for r in Role if r not in DEVICE_ONLY_ROLES),
    )
    media_rooms = MediaRooms(_janus(settings), max_publishers=settings.video_max_publishers)
    container = Container(
        settings=settings,
        engine=engine,
        clock=clock,
        config=config,
        hub=hub,
        accounts=_accounts(settings, engine, clock),
        incidents=incidents,
        access=access,
        assignments=assignments,
        unit_status=unit_status,
        fleet=fleet,
        recommender=Recommender(
            engine,
            config,
            incidents,
            roads.drive_times,
            activations.requirements,
            run_cards=fleet.effective_cards,
        ),
        geocoder=geocoder,
        roads=roads,
        maps=Maps(engine, geocoder, roads.route),
        telephony=telephony,
        plan_library=library,
        incident_plans=incident_plans,
        activations=activations,
        health=HealthBoard(),
        idempotency=IdempotencyKeys(
            engine, clock, running_limit=timedelta(seconds=settings.idempotency_running_s)
        ),
        tracking=tracking,
        fanout=fanout,
        relay=relay,
        terminals=Terminals(
            engine,
            clock,
            hub,
            tracking,
            unit_status,
            assignments,
            access,
            roads,
            config,
            settings.region,
            TerminalPolicy(
                rate_per_s=settings.terminal_rate_per_s,
                burst=settings.terminal_burst,
                key_days=settings.terminal_key_days,
                recent_keys=settings.terminal_recent_keys,
            ),
        ),
        trackers=Trackers(engine, clock, tracking, unit_status),
        positions=positions,
        position_upkeep=PositionMaintenance(
            engine,
            clock,
            ahead_days=settings.position_partitions_ahead_days,
            retention_days=settings.position_retention_days,
            every_s=settings.position_maintenance_minutes * 60,
            compact_after_hours=settings.position_compact_after_hours,
        ),
        playback=Playback(
            engine, incidents, clock, settings.region, settings.track_max_window_hours
        ),
        sockets=sockets,
        revocations=RevocationListener(engine, sockets, clock),
        audit_trail=AuditTrail(engine, settings, create_key=True),
        consultations=consultations,
        media_rooms=media_rooms,
        recordings=Recordings(consultations, media_rooms, settings.janus_recordings_dir),
        signaling_channels=Channels(),
    )
    container.health.checks["database"] = _database_check(engine)
    container.health.checks["events"] = _event_stream_check(hub)
    container.health.checks["telephony"] = telephony.health_check
    container.health.checks["trackers"] = container.trackers.health_check
    container.health.checks["positions"] = container.positions.health
    container.health.checks["tracking"] = _relay_check(container.relay)
    container.health.checks["revocations"] = _revocations_check(container.revocations)
    container.health.checks["supervisor"] = supervision.check_for(settings.supervisor_state)
    return container


def _janus(settings: Settings) -> Connect | None:
    """How to reach the media plane: the configured Janus, or none (no video)."""
    url = settings.janus_url
    if not url:
        return None

    recordings = settings.janus_recordings_dir

    async def connect() -> MediaPlane:
        return await JanusMediaPlane.connect(
            url, settings.janus_api_secret,
            recordings_dir=None if recordings is None else str(recordings.resolve()),
        )

    return connect


def _tracking(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    unit_status: UnitStatusReports,
    writer: BatchedPositionWriter,
    relay: PositionRelay,
) -> Tracking:
    fences = FenceBook(
        engine,
        FencePolicy(
            arrival_radius_m=settings.arrival_radius_m,
            hazard_kinds=tuple(
                k.strip() for k in settings.hazard_zone_kinds.split(",") if k.strip()
            ),
        ),
    )
    policy = TrackingPolicy(
        fixes=FixPolicy(max_future_s=settings.position_max_future_s),
        tolerance_s=settings.position_tolerance_s,
        arrival_sets_on_scene=settings.arrival_sets_on_scene,
    )
    return Tracking(engine, clock, writer, relay, fences, unit_status, policy)


def _every(what: str, seconds: float, run: Callable[[], Awaitable[None]]) -> Callable[
    [], Awaitable[None]
]:
    """Run ``run`` every ``seconds`` in the background (a failure is logged, the next round
    runs); returns the function that stops it."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await run()
            except Exception:
                log.exception("%s failed; trying again in %s s", what, seconds)

    task = asyncio.create_task(loop(), name=what)

    async def halt() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return halt


def _pruned(container: Container) -> Callable[[], Awaitable[None]]:
    async def prune() -> None:
        await container.terminals.prune()

    return prune


def _database_check(engine: AsyncEngine) -> Callable[[], Awaitable[PartHealth]]:
    async def check() -> PartHealth:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return PartHealth("ok")

    return check


def _event_stream_check(hub: EventHub) -> Callable[[], Awaitable[PartHealth]]:
    async def check() -> PartHealth:
        if hub.listening:
            return PartHealth("ok", f"at sequence {hub.last_seq}")
        return PartHealth("degraded", "not listening for notifications; polling the log")

    return check


def _relay_check(relay: PgRelay) -> Callable[[], Awaitable[PartHealth]]:
    async def check() -> PartHealth:
        if relay.listening:
            return PartHealth("ok", f"{relay.fanout.consoles} console(s) watching positions")
        return PartHealth("degraded", "positions from other processes are not arriving")

    return check


def _revocations_check(listener: RevocationListener) -> Callable[[], Awaitable[PartHealth]]:
    async def check() -> PartHealth:
        if listener.listening:
            return PartHealth("ok", f"{len(listener.sockets)} socket(s) watched for revocation")
        return PartHealth(
            "degraded", "not told of revocations: sockets of ended tokens close on the next recheck"
        )

    return check


async def start(settings: Settings, url: str | None = None) -> Container:
    """Build the container and start its background parts."""
    engine = make_engine(url or database_url(settings), settings)
    container = build(settings, engine)
    try:
        await container.hub.start()
        container.running.append(container.hub.stop)
        # Before any console connects: the markings that screen what the hub hands on.
        await container.access.start(container.hub)
        await container.relay.start()
        container.running.append(container.relay.stop)
        await container.revocations.start()
        container.running.append(container.revocations.stop)
        # Audit rows are written without a lock and chained into the log after commit.
        sealer = container.audit_trail.sealer()
        await sealer.start()
        container.running.append(sealer.stop)
        # Today's partition before the first fix; then on a timer.
        await container.position_upkeep.start()
        container.running.append(container.position_upkeep.stop)
        await container.positions.start()
        container.running.append(container.positions.stop)
        await container.telephony.start()
        container.running.append(container.telephony.stop)
        # The media plane is reached on first use; what was reached is let go at the end.
        container.running.append(container.media_rooms.stop)
        # Recordings a process stopped and did not attach before it ended: attached now.
        container.recordings.convert_finished()
        container.running.append(container.recordings.stop)
        # Units too long in a status (not acknowledged, ...) become alert events.
        container.running.append(
            status_timers.start(engine, container.config.status_limits, container.clock)
        )
        # Positions that waited for late ones are settled and fenced, fences re-read.
        container.running.append(_every("tracking tick", 1.0, container.tracking.tick))
        # What concerns a unit reaches its terminals: one hub subscription for all of them.
        await container.terminals.start()
        container.running.append(container.terminals.stop)
        container.running.append(_every("terminal key pruning", 3600.0, _pruned(container)))
        # Plans matched again as incidents change; plan tasks past their deadline alerted.
        container.running.append(plan_watcher.start(container.hub, container.incident_plans))
        container.running.append(plan_task_timers.start(engine, container.clock))
        container.running.append(
            _read_ahead("the geocoder", lambda: container.geocoder.index(settings.region))
        )
        container.running.append(_read_ahead("road graphs", lambda: container.roads.warm(engine)))
    except BaseException:
        await stop(container)
        raise
    return container


def _read_ahead(what: str, load: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    """Load ``what`` in the background so that the first call does not wait for it; a failure
    is logged (it loads on first use instead). Returns the function that stops it."""

    async def run() -> None:
        try:
            await load()
        except GisError as exc:  # a region not imported yet: loaded on first use after it is
            log.info("%s not read ahead: %s", what, exc.message)
        except Exception:
            log.warning("%s not read ahead; it loads on first use", what, exc_info=True)

    task = asyncio.create_task(run(), name=f"read-ahead: {what}")

    async def halt() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return halt


async def stop(container: Container) -> None:
    for halt in reversed(container.running):
        try:
            await halt()
        except Exception:
            log.exception("error while stopping a part")
    container.running.clear()
    container.accounts.hasher.close()
    await container.engine.dispose()


@asynccontextmanager
async def parts(settings: Settings) -> AsyncIterator[Container]:
    """The container for one command of the command line: built, used, closed."""
    engine = make_engine(database_url(settings), settings)
    container: Container | None = None
    try:
        container = build(settings, engine)
        yield container
    except ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) == UNDEFINED_TABLE:
            raise Unavailable(
                "the database has no schema yet: run `cad db migrate` (or `cad db init`)",
                code="database.not_migrated",
            ) from exc
        raise
    except (OSError, asyncpg.PostgresError, OperationalError, InterfaceError) as exc:
        raise Unavailable(
            f"cannot reach the database: {exc}", code="database.unreachable", reason=str(exc)
        ) from exc
    finally:
        if container is not None:
            container.accounts.hasher.close()
        await engine.dispose()
