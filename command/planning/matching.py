"""Plans matched to incidents: the situation of an incident (type, priority, level, place,
narrative, linked calls, reported casualties, people trapped, hazardous materials), the ranked
plans that apply with their explanations, and the match kept per incident so that a change
tells the consoles which plan now applies (``plan.matched``), which no longer does
(``plan.unmatched``) and when the order changed (``plan.reranked``).

The rules of the plans activated on an incident raise its response level (never lower it):
the incident's own level, changed with its history row and event like any other change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command.errors import InvalidInput
from command.events import NewEvent
from command.incidents import changes
from command.incidents import store as incidents_store
from command.incidents.changes import incident_event
from command.incidents.domain import Incident, LevelChange, ResponseLevel
from command.planning.library import PlanLibrary
from command.unit_of_work import UnitOfWork, Work
from plans import store as plans_store
from plans.conditions import Situation
from plans.levels import LevelCall, level_called_for, raises
from plans.matching import Match
from plans.model import Facts

ACTOR = "system:plans"
MAX_COUNT = 100_000


@dataclass(frozen=True)
class IncidentMatch:
    incident: Incident
    situation: Situation
    matches: list[Match]


def plan_incident_event(kind: str, inc: Incident, actor: str, **data: Any) -> NewEvent:
    """``plan.matched`` and the like: about an incident, so its consoles follow them."""
    return NewEvent(f"plan.{kind}", "incident", str(inc.id), {"number": inc.number, **data}, actor)


def check_facts(casualties: int, trapped: int) -> None:
    for name, value in (("casualties", casualties), ("trapped", trapped)):
        if not 0 <= value <= MAX_COUNT:
            raise InvalidInput(
                f"{name} must be from 0 to {MAX_COUNT}, not {value}",
                code="plan.facts_range",
                field=name,
                value=value,
                max=MAX_COUNT,
            )


class IncidentPlans:
    """Matching plans to incidents, built once by the bootstrap."""

    def __init__(
        self,
        engine: AsyncEngine,
        library: PlanLibrary,
        clock: Callable[[], datetime],
        timezone: ZoneInfo,
    ) -> None:
        self.library = library
        self.work = UnitOfWork(engine, clock)
        self.timezone = timezone

    async def situation(self, conn: AsyncConnection, inc: Incident) -> Situation:
        """What plans are matched on, read for one incident."""
        notes = [
            str(n["text"])
            for n in await incidents_store.narrative_of(conn, inc.id)
            if n["kind"] == "note"
        ]
        calls = await incidents_store.calls_of(conn, inc.id)
        facts = await plans_store.facts_of(conn, inc.id)
        return Situation(
            type_code=inc.type_code,
            priority=inc.priority,
            response_level=int(inc.response_level),
            lon=inc.lon,
            lat=inc.lat,
            local_time=inc.created_at.astimezone(self.timezone),
            narrative="\n".join([inc.summary, *notes]),
            jurisdiction=inc.jurisdiction_name,
            casualties=facts.casualties,
            trapped=facts.trapped,
            hazmat=facts.hazmat,
            linked_calls=len(calls),
        )

    async def current(self, incident_id: int) -> IncidentMatch:
        """The plans that apply now, ranked, with their explanations (read only)."""
        async with self.work.read() as conn:
            inc = await incidents_store.get(conn, incident_id)
            s = await self.situation(conn, inc)
            index = await self.library.index(conn)
            return IncidentMatch(inc, s, index.match(s))

    async def open_incidents(self) -> list[int]:
        async with self.work.read() as conn:
            return [inc.id for inc in await incidents_store.list_open(conn)]

    async def rematch(self, incident_id: int, actor: str = ACTOR) -> list[Match]:
        """Match again and tell the consoles what changed (nothing if nothing did)."""
        async with self.work.begin(actor) as work:
            inc = await incidents_store.get(work.conn, incident_id, lock=True)
            return await self.rematch_in(work, inc)

    async def report_facts(
        self, incident_id: int, facts: Facts, actor: str
    ) -> tuple[Incident, list[Match]]:
        """Casualties, people trapped, hazardous materials reported; matched again at once."""
        check_facts(facts.casualties, facts.trapped)
        async with self.work.begin(actor) as work:
            inc = await incidents_store.get(work.conn, incident_id, lock=True)
            changes.require_open(inc)
            before = await plans_store.facts_of(work.conn, inc.id)
            await plans_store.save_facts(work.conn, inc.id, facts, actor, work.now)
            if before != facts:
                work.emit(
                    incident_event(
                        "situation_reported",
                        inc,
                        actor,
                        casualties=facts.casualties,
                        trapped=facts.trapped,
                        hazmat=facts.hazmat,
                    )
                )
            found = await self.rematch_in(work, inc)
            return await incidents_store.get(work.conn, inc.id), found

    async def rematch_in(self, work: Work, inc: Incident) -> list[Match]:
        """Inside an open unit of work with the incident locked: match, keep, tell, and let
        the active plans' rules raise the level."""
        if not inc.open:
            return []
        s = await self.situation(work.conn, inc)
        index = await self.library.index(work.conn)
        ranked = index.match(s)
        kept = await plans_store.matches_of(work.conn, inc.id)
        now = {m.version_id: (i + 1, m.score) for i, m in enumerate(ranked)}
        if {k.version_id: (k.rank, k.score) for k in kept} != now:
            await plans_store.replace_matches(
                work.conn, inc.id, [(m.version_id, m.score) for m in ranked]
            )
            before = {k.version_id for k in kept}
            for rank, m in enumerate(ranked, start=1):
                if m.version_id not in before:
                    work.emit(
                        plan_incident_event(
                            "matched",
                            inc,
                            work.actor,
                            key=m.key,
                            version=m.version,
                            rank=rank,
                            score=m.score,
                        )
                    )
            for k in kept:
                if k.version_id not in now:
                    work.emit(
                        plan_incident_event(
                            "unmatched", inc, work.actor, key=k.key, version=k.version
                        )
                    )
            still = [k.key for k in kept if k.version_id in now]
            order = [m.key for m in ranked if m.version_id in before]
            if still != order or any(
                now[k.version_id][1] != k.score for k in kept if k.version_id in now
            ):
                work.emit(
                    plan_incident_event(
                        "reranked",
                        inc,
                        work.actor,
                        ranking=[{"key": m.key, "score": m.score} for m in ranked],
                    )
                )
        await self._apply_level_rules(work, inc, s)
        return ranked

    async def _apply_level_rules(self, work: Work, inc: Incident, s: Situation) -> None:
        best: tuple[LevelCall, str, dict[str, str]] | None = None
        for activation in await plans_store.activations_of(work.conn, inc.id):
            version = await plans_store.get_version(
                work.conn, activation.plan_key, activation.version, self.library.vocabulary
            )
            call = level_called_for(version.plan, s)
            if (
                call is not None
                and raises(int(inc.response_level), call)
                and (best is None or call.level < best[0].level)
            ):
                best = (call, activation.plan_key, dict(version.plan.names))
        if best is None:
            return
        called, key, names = best
        reason = called.reason(key)
        to = ResponseLevel(called.level)
        change = LevelChange(
            "response_level", inc.response_level.name, to.name, reason, work.now, work.actor
        )
        saved = await changes.save(work, inc, {"response_level": to})
        await incidents_store.add_level_change(work.conn, inc.id, change)
        await changes.note(
            work,
            inc.id,
            f"response level raised to {to.name}: {reason}",
            code="narrative.level_raised",
            params={"level": to.name, "key": key, "names": names, "rule": called.rule + 1,
                    "reason": reason},
        )
        work.emit(
            incident_event(
                "response_level_changed",
                saved,
                work.actor,
                **{"from": change.from_value},
                to=change.to_value,
                reason=reason,
            )
        )
