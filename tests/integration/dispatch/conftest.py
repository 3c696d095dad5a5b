"""Fixtures for dispatch tests: the incident service over a database with the map."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from command.incidents.service import IncidentService


@pytest.fixture
def service(map_engine: AsyncEngine) -> IncidentService:
    return IncidentService(map_engine)
