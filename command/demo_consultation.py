"""The demo's video consultation: a standing consultation hosted by the demo leader, with the
first vehicle of the demo fleet in it, sending the test pattern through ``cad video agent``'s
code (``video.agent``), so that a leader who signs in finds someone to see. Idempotent: a
second run finds the open consultation and joins it again.
"""

from __future__ import annotations

import logging

from command.auth.roles import Role
from command.auth.service import Principal
from command.consulting.service import Consultations
from command.demo_vehicles import DemoVehicle
from video import agent
from video.media.pattern import PatternTrack
from video.media.tone import ToneTrack

log = logging.getLogger(__name__)

TITLE = "演示会商 Demo consultation"
HOST = "leader"


def _host(user_id: int | None) -> Principal:
    # The demo sets itself up as its leader would (no session: token 0, never valid).
    return Principal("user", HOST, frozenset({Role.LEADER}), token_id=0, user_id=user_id)


async def prepare(consultations: Consultations, vehicle: DemoVehicle) -> int:
    """The open demo consultation with ``vehicle`` invited: found, or made now."""
    host = _host(None)
    for c in await consultations.listed(host, open_only=True):
        if c.title == TITLE and c.host == f"user:{HOST}":
            return c.id
    made = await consultations.create(host, TITLE)
    await consultations.invite(made.consultation.id, host, units=[vehicle.unit_id])
    return made.consultation.id


async def run_agent(ws_url: str, vehicle: DemoVehicle, consultation_id: int) -> None:
    """The vehicle's agent, in the consultation until the demo stops (or it is refused)."""
    outcome = await agent.run(
        ws_url, vehicle.token, consultation_id, lambda: [PatternTrack(1), ToneTrack(1)]
    )
    log.info("the demo vehicle's video agent stopped: %s", outcome.reason)
