"""``cad bench login``: incident creation while a flood of failed sign-ins comes from many
addresses, with password hashing off the event loop (ours) and on it (the baseline).

Each design serves the real app on a scratch database in this process (one event loop). Two
other processes are the clients, as they would be other machines: one floods the sign-in with
wrong passwords for existing and unknown accounts from ``--sources`` loopback addresses
(127.0.x.y) at ``--rate`` attempts a second, open loop; the other, a call-taker, creates
incidents one after another and times each POST. Incident creation is timed unloaded and then
during the flood; the figure is the ratio of the p95s (goal: at most 2). The baseline is the same
app with ``CAD_AUTH_HASH_INLINE`` (Argon2 verify called on the event loop, as a team without the
pool would write it); every other part, the throttle included, is the same in both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import random
import time
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from command.bench.polling import until
from command.bench.scratch import drop_on_sigterm, scratch_engine
from command.bench.stats import Timing, load_average
from command.cli.common import ensure_embedded_running
from command.errors import InvalidInput
from command.settings import Settings

log = logging.getLogger(__name__)

GOAL_RATIO = 2.0
#: the shortest flood, so that attempts waiting for a hashing slot are answered in it
MIN_FLOOD_S = 4.0
CALL_TAKER = "bench-ct"
PASSWORD = "bench sign-in flood 1"  # noqa: S105 (a scratch database's accounts)
TARGETS = 20
#: Vaduz: where the incidents are
LON, LAT = 9.5209, 47.1410


@dataclass
class Phase:
    unloaded: Timing
    flooded: Timing
    attempts: int
    attempts_per_s: float
    answers: dict[str, int]
    hash_refused: int
    #: incidents not created (503: no database connection came free in time)
    incidents_refused: int

    @property
    def ratio_p95(self) -> float:
        return self.flooded.p95_ms / self.unloaded.p95_ms


@dataclass
class LoginBenchmark:
    rate: float
    sources: int
    incidents: int
    concurrency: int
    ours: Phase
    baseline: Phase
    load_before: float
    load_after: float
    notes: list[str] = field(default_factory=list)

    def goal_met(self) -> bool:
        return self.ours.ratio_p95 <= GOAL_RATIO


# ------------------------------------------------------------------ client processes


def _flood_process(conn: Connection, base: str, rate: float, sources: int) -> None:
    """Failed sign-ins at ``rate`` a second from ``sources`` addresses until told to stop."""
    import httpx

    async def main() -> None:
        rng = random.Random(7)  # noqa: S311 (names and guesses, not secrets)
        clients = [
            httpx.AsyncClient(
                base_url=base,
                timeout=30,
                transport=httpx.AsyncHTTPTransport(
                    local_address=f"127.0.{1 + n // 250}.{1 + n % 250}"
                ),
            )
            for n in range(sources)
        ]
        answers: dict[str, int] = {}
        pending: set[asyncio.Task[None]] = set()

        async def attempt(client: httpx.AsyncClient) -> None:
            name = (
                f"disp{rng.randrange(TARGETS):02d}"
                if rng.random() < 0.7
                else f"ghost{rng.randrange(10_000)}"
            )
            try:
                r = await client.post(
                    "/api/v1/auth/login",
                    json={"username": name, "password": f"guess {rng.random():.12f}"},
                )
                key = str(r.status_code)
            except httpx.HTTPError as exc:
                key = type(exc).__name__
            answers[key] = answers.get(key, 0) + 1

        conn.send("ready")
        t0 = time.monotonic()
        sent = 0
        while not conn.poll():
            due = int((time.monotonic() - t0) * rate)
            while sent < due and len(pending) < 2000:
                task = asyncio.create_task(attempt(clients[sent % sources]))
                pending.add(task)
                task.add_done_callback(pending.discard)
                sent += 1
            await asyncio.sleep(0.002)
        elapsed = time.monotonic() - t0
        for task in list(pending):
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for c in clients:
            await c.aclose()
        conn.recv()
        conn.send({"sent": sent, "seconds": elapsed, "answers": answers})

    _guarded(conn, main)


def _probe_process(conn: Connection, base: str, token: str) -> None:
    """Create ``n`` incidents one after another on each request: the latencies in ms and how
    many were not created."""
    import httpx

    async def main() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            headers = {"Authorization": f"Bearer {token}"}
            conn.send("ready")
            while True:
                n = conn.recv()
                if n is None:
                    return
                samples: list[float] = []
                refused = 0
                for i in range(n):
                    t0 = time.perf_counter()
                    try:
                        r = await http.post(
                            "/api/v1/incidents",
                            headers=headers,
                            json={
                                "type": "traffic_collision",
                                "lon": LON + (i % 50) * 1e-4,
                                "lat": LAT,
                                "summary": "bench",
                            },
                        )
                        created = r.status_code == 201
                    except httpx.HTTPError:
                        created = False
                    samples.append((time.perf_counter() - t0) * 1000)
                    # A refusal (a pool that stayed empty: 503, a dropped connection) is
                    # timed and counted too.
                    refused += not created
                    await asyncio.sleep(0.02)
                conn.send((samples, refused))

    _guarded(conn, main)


# ------------------------------------------------------------------ the run


def _guarded(conn: Connection, run: Any) -> None:
    """Run a client's loop; a failure goes back to the parent as text, not a hang."""
    try:
        asyncio.run(run())
    except Exception as exc:
        conn.send({"failed": f"{type(exc).__name__}: {exc}"})


async def _recv(conn: Connection, process: Any = None) -> Any:
    """The client's next message; its failure or death raised here."""
    while not conn.poll():
        if process is not None and not process.is_alive() and not conn.poll():
            raise RuntimeError("a client process of the benchmark died")
        await asyncio.sleep(0.01)
    message = conn.recv()
    if isinstance(message, dict) and "failed" in message:
        raise RuntimeError(f"a client of the benchmark failed: {message['failed']}")
    return message


async def _phase(
    settings: Settings, url: str, inline: bool, rate: float, sources: int, incidents: int
) -> Phase:
    import httpx
    import uvicorn
    from sqlalchemy import text

    from command import bootstrap
    from command.app import create_app
    from ops.pgcluster import free_port

    log.info(
        "login bench: %s, hashing %s",
        "baseline" if inline else "ours",
        "on the event loop" if inline else "in the pool",
    )
    port = free_port()
    cfg = settings.model_copy(
        update={
            "database_url": url,
            "port": port,
            "ami_enabled": False,
            "auth_hash_inline": inline,
            "demo_vehicles": 0,
        }
    )
    container = await bootstrap.start(cfg)
    async with container.engine.begin() as conn:  # each design starts with no failures
        await conn.execute(text("DELETE FROM signin_failures"))
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(cfg, container),
            host="127.0.0.1",
            port=port,
            log_level="error",
            lifespan="on",
            access_log=False,
        )
    )
    serving = asyncio.create_task(server.serve())
    ctx = multiprocessing.get_context("spawn")
    base = f"http://127.0.0.1:{port}"
    try:
        await until(lambda: bool(server.started), 30, 0.02)
        async with httpx.AsyncClient(base_url=base) as http:
            r = await http.post(
                "/api/v1/auth/login", json={"username": CALL_TAKER, "password": PASSWORD}
            )
            r.raise_for_status()
            token = r.json()["token"]
        probe_end, probe_child = ctx.Pipe()
        probe = ctx.Process(target=_probe_process, args=(probe_child, base, token), daemon=True)
        probe.start()
        await _recv(probe_end, probe)
        probe_end.send(10)  # warm-up: connections, plans, caches
        await _recv(probe_end, probe)
        probe_end.send(incidents)
        samples, unloaded_refused = await _recv(probe_end, probe)
        unloaded = Timing.of(samples)
        flood_end, flood_child = ctx.Pipe()
        flood = ctx.Process(
            target=_flood_process, args=(flood_child, base, rate, sources), daemon=True
        )
        flood.start()
        await _recv(flood_end, flood)
        log.info("login bench: unloaded %s; flood started", unloaded.line())
        await asyncio.sleep(1.0)  # the flood at its rate
        refused0 = container.accounts.hasher.refused
        flood_t0 = time.monotonic()
        probe_end.send(incidents)
        samples, flooded_refused = await _recv(probe_end, probe)
        flooded = Timing.of(samples)
        # Long enough for attempts that wait for a hashing slot to be answered.
        await asyncio.sleep(max(0.0, MIN_FLOOD_S - (time.monotonic() - flood_t0)))
        hash_refused = container.accounts.hasher.refused - refused0
        flood_end.send("stop")
        flood_end.send("done")
        report = await _recv(flood_end, flood)
        probe_end.send(None)
        for process in (probe, flood):
            await asyncio.get_running_loop().run_in_executor(None, process.join, 30)
    finally:
        server.should_exit = True
        await serving
        await bootstrap.stop(container)
    return Phase(
        unloaded=unloaded,
        flooded=flooded,
        attempts=report["sent"],
        attempts_per_s=report["sent"] / report["seconds"],
        answers=dict(sorted(report["answers"].items())),
        hash_refused=hash_refused,
        incidents_refused=unloaded_refused + flooded_refused,
    )


async def run_benchmark(
    settings: Settings, rate: float, sources: int, incidents: int
) -> LoginBenchmark:
    from sqlalchemy import text

    from command.auth import service

    load_before = load_average()
    async with scratch_engine(settings) as engine:
        async with engine.begin() as conn:
            # One jurisdiction round the incidents' point: no map import needed.
            await conn.execute(
                text(
                    "INSERT INTO gis_regions (name, srid_metric, imported_at) "
                    "VALUES (:r, 2056, now())"
                ),
                {"r": settings.region},
            )
            await conn.execute(
                text(
                    "INSERT INTO gis_jurisdictions (region, name, admin_level, geom) VALUES "
                    "(:r, 'bench', 8, ST_Multi(ST_Expand(ST_SetSRID(ST_MakePoint(:lon, :lat), "
                    "4326), 0.05)))"
                ),
                {"r": settings.region, "lon": LON, "lat": LAT},
            )
            await service.create_user(conn, CALL_TAKER, PASSWORD, "call_taker")
            for n in range(TARGETS):
                await service.create_user(conn, f"disp{n:02d}", PASSWORD, "dispatcher")
        url = engine.url.render_as_string(hide_password=False)
        ours = await _phase(settings, url, False, rate, sources, incidents)
        baseline = await _phase(settings, url, True, rate, sources, incidents)
    return LoginBenchmark(
        rate=rate,
        sources=sources,
        incidents=incidents,
        concurrency=settings.auth_hash_concurrency,
        ours=ours,
        baseline=baseline,
        load_before=load_before,
        load_after=load_average(),
    )


# ------------------------------------------------------------------ command line


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser(
        "login", help="incident creation during a flood of failed sign-ins: hashing off vs on loop"
    )
    bench.add_argument("--rate", type=float, default=40.0, help="failed sign-ins a second")
    bench.add_argument("--sources", type=int, default=40, help="addresses they come from")
    bench.add_argument("--incidents", type=int, default=40, help="incidents timed per phase")
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.set_defaults(handler=bench_cmd)


def _check(name: str, value: float, lo: float, hi: float) -> None:
    if not lo <= value <= hi:
        raise InvalidInput(
            f"--{name} {value:g} is outside {lo:g}..{hi:g}",
            code="cli.option_range",
            option=f"--{name}",
            value=value,
            min=lo,
            max=hi,
        )


def _lines(title: str, phase: Phase) -> list[str]:
    return [
        f"  {title}",
        f"    incident creation unloaded     {phase.unloaded.line()}",
        f"    during the flood               {phase.flooded.line()}",
        f"    p95 during / unloaded: {phase.ratio_p95:.2f}x; flood {phase.attempts} attempts "
        f"({phase.attempts_per_s:.0f}/s), answers {phase.answers}, "
        f"{phase.hash_refused} refused as busy; incidents not created: "
        f"{phase.incidents_refused}",
    ]


def _report(r: LoginBenchmark) -> str:
    return "\n".join(
        [
            f"login: {r.rate:g} failed sign-ins/s from {r.sources} addresses, "
            f"{r.incidents} incidents timed per phase, {r.concurrency} hashes at once",
            *_lines("ours: hashing in a bounded pool, off the event loop", r.ours),
            *_lines("baseline: hashing on the event loop", r.baseline),
            f"  goal p95 during the flood <= {GOAL_RATIO:g}x unloaded: "
            f"{'met' if r.goal_met() else 'NOT met'}",
            f"  load average {r.load_before:.1f} before, {r.load_after:.1f} after",
        ]
    )


def bench_cmd(args: argparse.Namespace, settings: Settings) -> int:
    _check("rate", args.rate, 1, 5000)
    _check("sources", args.sources, 1, 60_000)
    _check("incidents", args.incidents, 5, 100_000)
    ensure_embedded_running(settings)
    drop_on_sigterm()
    result = asyncio.run(run_benchmark(settings, args.rate, args.sources, args.incidents))
    if args.json:
        figures = asdict(result)
        figures["ours_ratio_p95"] = round(result.ours.ratio_p95, 2)
        figures["baseline_ratio_p95"] = round(result.baseline.ratio_p95, 2)
        figures["goal_met"] = result.goal_met()
        print(json.dumps(figures, indent=2, default=str))
    else:
        print(_report(result))
    return 0
