"""Fixtures for plan tests: the application's services over a database with the map."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from command.bootstrap import Container
from tests.support.services import services


@pytest.fixture
def parts(map_engine: AsyncEngine) -> Container:
    return services(map_engine)
