"""Fixtures for telephony over real TCP: the AMI simulator and the live app wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from command.calltaking.service import TelephonyService
from telephony.simulator import AmiSimulator
from tests.support import asterisk
from tests.support.live import LiveApp, serve

FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "ami"


@pytest.fixture
async def sim() -> AsyncIterator[AmiSimulator]:
    simulator = AmiSimulator(speed=1.0, seed=3)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def live(database_url: str, sim: AmiSimulator) -> AsyncIterator[LiveApp]:
    async with serve(
        database_url, ami_port=sim.port, ami_secret="cadsecret", shared_dir=FIXTURES.parents[1]
    ) as app:
        await app.container.telephony.bridge.wait_ready(10)
        yield app


def service(app: LiveApp) -> TelephonyService:
    return app.container.telephony


@pytest.fixture(scope="session")
def asterisk_install() -> Iterator[asterisk.Installation]:
    """The shared Asterisk build, unpacked once for the session (skipped, loudly, if absent)."""
    if not asterisk.available():
        pytest.skip(asterisk.MISSING)
    install = asterisk.install()
    yield install
    install.cleanup()
