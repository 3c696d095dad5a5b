"""The fault suite's rig: `cad serve` under its supervisor on an embedded cluster of the suite's
own (the faults kill and freeze it), behind a relay the clients go through; the people and units
of the load; and the table of figures printed at the end of the run."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from ops.tcp_relay import LinkCut
from tests.faults.app_process import Supervised
from tests.faults.durations import Durations, from_environment
from tests.faults.injectors import Target
from tests.faults.report import FIGURES, Figures, table
from tests.support import asterisk, builders, dispatch_builders
from tests.support.asterisk import Asterisk

ASSIGNABLE = tuple(f"FL-E{n}" for n in range(1, 5))
TERMINALS = tuple(f"FL-T{n}" for n in range(1, 4))
# A square around Vaduz as the one jurisdiction: incidents need one, the map is not needed.
_REGION = """
INSERT INTO gis_regions (name, srid_metric, imported_at, source)
VALUES ('liechtenstein', 2056, now(), 'fault suite');
INSERT INTO gis_jurisdictions (region, name, admin_level, geom)
VALUES ('liechtenstein', 'Vaduz', 8,
        ST_Multi(ST_MakeEnvelope(9.45, 47.05, 9.65, 47.25, 4326)));
"""


@dataclass
class Rig:
    engine: AsyncEngine  # the owner's, for the checks
    app: Supervised
    front: LinkCut
    #: a real Asterisk (None without the shared build), and the link between it and the app
    pbx: Asterisk | None
    ami_link: LinkCut | None
    durations: Durations
    headers: dict[str, str]
    console_token: str
    device_tokens: dict[str, str]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.front.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.front.port}"

    def target(self) -> Target:
        return Target(
            self.app, self.app.cluster, self.front, self.ami_link, self.durations.freeze_s
        )


async def _seed(engine: AsyncEngine) -> dict[str, str]:
    async with engine.begin() as conn:
        for statement in filter(str.strip, _REGION.split(";")):
            await conn.execute(text(statement))
    for unit in (*ASSIGNABLE, *TERMINALS):
        await dispatch_builders.add_unit(engine, unit, "engine")
    return {unit: await builders.device(engine, unit) for unit in TERMINALS}


async def until_served(app: Supervised, limit: float) -> None:
    """Return once `cad serve` answers its health check (polled, bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    async with httpx.AsyncClient(base_url=app.base_url, timeout=2) as http:
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/api/v1/health")).status_code < 500:
                    return
            assert app.alive(), app.log_tail()
            assert loop.time() < deadline, f"not served within {limit} s"
            await asyncio.sleep(0.1)  # polled: the server is still starting


@pytest.fixture(scope="module")
def pbx() -> Iterator[Asterisk | None]:
    """The shared Asterisk build, when it is there (the AMI fault is skipped without it)."""
    if not asterisk.available():
        yield None
        return
    install = asterisk.install()
    try:
        made = install.asterisk()
        made.start()
        yield made
    finally:
        install.cleanup()


@pytest.fixture(scope="module")
async def rig(pbx: Asterisk | None) -> AsyncIterator[Rig]:
    ami_link = None if pbx is None else LinkCut(pbx.port)
    telephony = {}
    if pbx is not None and ami_link is not None:
        await ami_link.start()
        telephony = {
            "CAD_AMI_ENABLED": "true",
            "CAD_AMI_PORT": str(ami_link.port),
            "CAD_AMI_SECRET": pbx.secret,
            "CAD_AMI_RECORDING_DIR": str(pbx.monitor_dir),
        }
    app = Supervised(CAD_IDEMPOTENCY_RUNNING_S="5", **telephony)
    front: LinkCut | None = None
    engine = None
    try:
        await asyncio.to_thread(app.init)
        app.start()
        await until_served(app, 120)
        # No pool: the faults restart the server under it.
        engine = create_async_engine(app.cluster.url("cad"), poolclass=NullPool)
        tokens = await _seed(engine)
        front = LinkCut(app.port)
        await front.start()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{front.port}") as http:
            headers = await builders.signed_in(http, engine, "fl.disp", "dispatcher")
            console = await builders.signed_in(http, engine, "fl.watch", "supervisor")
        yield Rig(
            engine,
            app,
            front,
            pbx,
            ami_link,
            from_environment(),
            headers,
            console["Authorization"].removeprefix("Bearer "),
            tokens,
        )
    finally:
        if front is not None:
            await front.stop()
        app.stop()
        if ami_link is not None:
            await ami_link.stop()
        if engine is not None:
            await engine.dispose()


@pytest.fixture(scope="session")
def figures(request: pytest.FixtureRequest) -> list[Figures]:
    """The figures of every fault of the run, printed at its end."""
    return request.config.stash.setdefault(FIGURES, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    rows = terminalreporter.config.stash.get(FIGURES, [])
    if rows:
        terminalreporter.section("fault suite")
        for line in table(rows):
            terminalreporter.write_line(line)
