"""A plan activated on an incident: its tasks with owners and deadlines, the evacuation and
cordon areas stored with the incident for the map, the alarm stage whose resources the
dispatch recommendation adds, and the plan version kept for after-action review.

Everything is written with its events in one unit of work and noted on the incident's
timeline (its narrative): activation, each stage raised, each task done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command.errors import Conflict
from command.incidents import changes
from command.incidents.domain import CommandLevel, Incident
from command.planning.matching import IncidentPlans, plan_incident_event
from command.unit_of_work import UnitOfWork
from gis.coords import metric_crs_for
from gis.errors import RegionNotFoundError
from gis.regions import region_info
from plans import store as plans_store
from plans.areas import circle_around
from plans.model import Activation, PlanTask, PlanVersion


@dataclass(frozen=True)
class Activated:
    incident: Incident
    activation: Activation
    version: PlanVersion
    tasks: list[PlanTask]


def merge_requirements(*needs: dict[str, int]) -> dict[str, int]:
    """Several plans' needs together: the most any of them asks of each capability."""
    total: dict[str, int] = {}
    for need in needs:
        for capability, count in need.items():
            total[capability] = max(total.get(capability, 0), count)
    return total


class Activations:
    """Plan activations, their stages and tasks; built once by the bootstrap."""

    def __init__(
        self, engine: AsyncEngine, plans: IncidentPlans, clock: Callable[[], datetime]
    ) -> None:
        self.plans = plans
        self.vocabulary = plans.library.vocabulary
        self.work = UnitOfWork(engine, clock)

    async def _metric_srid(self, conn: AsyncConnection, inc: Incident) -> int:
        if inc.region is not None:
            try:
                return (await region_info(conn, inc.region)).srid_metric
            except RegionNotFoundError:
                pass
        return metric_crs_for(inc.lon, inc.lat)

    async def activate(
        self, incident_id: int, key: str, actor: str, *, level: CommandLevel | None = None
    ) -> Activated:
        """Activate the approved version of plan ``key`` on the incident."""
        async with self.work.begin(actor) as work:
            inc = await changes.directed(work, incident_id, level)
            changes.require_open(inc)
            version = await plans_store.approved_version(work.conn, key, self.vocabulary)
            if version is None:
                raise Conflict(
                    f"plan {key} has no approved version to activate",
                    code="plan.not_approved",
                    key=key,
                )
            plan = version.plan
            srid = await self._metric_srid(work.conn, inc)
            areas = {
                name: None if metres is None else circle_around(inc.lon, inc.lat, metres, srid).wkt
                for name, metres in (("evacuation", plan.evacuation_m), ("cordon", plan.cordon_m))
            }
            activation = await plans_store.add_activation(
                work.conn,
                inc.id,
                version.id,
                key,
                version.version,
                actor,
                work.now,
                areas["evacuation"],
                areas["cordon"],
            )
            if activation is None:
                raise Conflict(
                    f"plan {key} is already active on incident {inc.number}",
                    code="plan.already_active",
                    key=key,
                    number=inc.number,
                )
            tasks = await plans_store.add_tasks(
                work.conn,
                [
                    {
                        "activation_id": activation.id,
                        "incident_id": inc.id,
                        "seq": t.order,
                        "names": dict(t.names),
                        "role": t.role,
                        "department": t.department,
                        "due_at": work.now + timedelta(minutes=t.deadline_min),
                    }
                    for t in plan.tasks
                ],
            )
            await changes.note(
                work,
                inc.id,
                f"plan {key} version {version.version} activated ({plan.name('en')}): "
                f"{len(tasks)} tasks, alarm stage 1",
                code="narrative.plan_activated",
                params={
                    "key": key,
                    "version": version.version,
                    "names": dict(plan.names),
                    "tasks": len(tasks),
                    "stage": 1,
                },
            )
            work.emit(
                plan_incident_event(
                    "activated",
                    inc,
                    actor,
                    key=key,
                    version=version.version,
                    stage=1,
                    resources=plan.stage_resources(1),
                    tasks=[{"id": t.id, "due_at": t.due_at.isoformat()} for t in tasks],
                    evacuation_m=plan.evacuation_m,
                    cordon_m=plan.cordon_m,
                )
            )
            await self.plans.rematch_in(work, inc)
            saved = await changes.directed(work, inc.id, None)
            return Activated(saved, activation, version, tasks)

    async def raise_stage(
        self, incident_id: int, key: str, actor: str, *, level: CommandLevel | None = None
    ) -> Activation:
        """The next alarm stage (second, third alarm): its resources join the recommendation."""
        async with self.work.begin(actor) as work:
            inc = await changes.directed(work, incident_id, level)
            changes.require_open(inc)
            activation = self._active(
                await plans_store.activations_of(work.conn, inc.id, lock=True), key, inc
            )
            version = await plans_store.get_version(
                work.conn, key, activation.version, self.vocabulary
            )
            stages = len(version.plan.stages)
            if activation.stage >= stages:
                raise Conflict(
                    f"plan {key} has {stages} alarm stages; incident {inc.number} is at the last",
                    code="plan.no_next_stage",
                    key=key,
                    stages=stages,
                    number=inc.number,
                )
            stage = activation.stage + 1
            await plans_store.set_stage(work.conn, activation.id, stage)
            added = version.plan.stages[stage - 1].resources
            await changes.note(
                work,
                inc.id,
                f"plan {key}: alarm stage {stage} called",
                code="narrative.plan_stage_called",
                params={"key": key, "names": dict(version.plan.names), "stage": stage},
            )
            work.emit(
                plan_incident_event(
                    "stage_raised",
                    inc,
                    actor,
                    key=key,
                    stage=stage,
                    added=dict(added),
                    resources=version.plan.stage_resources(stage),
                )
            )
            return replace(activation, stage=stage)

    @staticmethod
    def _active(found: list[Activation], key: str, inc: Incident) -> Activation:
        for activation in found:
            if activation.plan_key == key:
                return activation
        raise Conflict(
            f"plan {key} is not active on incident {inc.number}",
            code="plan.not_active",
            key=key,
            number=inc.number,
        )

    async def finish_task(self, task_id: int, actor: str) -> PlanTask:
        async with self.work.begin(actor) as work:
            task = await plans_store.get_task(work.conn, task_id, lock=True)
            if task.status == "done":
                raise Conflict(
                    f"task {task_id} was done by {task.done_by}",
                    code="plan.task_already_done",
                    task=task_id,
                    done_by=task.done_by,
                )
            done = await plans_store.finish_task(work.conn, task_id, actor, work.now)
            inc = await changes.directed(work, task.incident_id, None)
            late = work.now > task.due_at
            await changes.note(
                work,
                inc.id,
                f"task {task.seq} done: {task.names.get('en', '')}" + (" (late)" if late else ""),
                code="narrative.plan_task_done_late" if late else "narrative.plan_task_done",
                params={"seq": task.seq, "names": dict(task.names)},
            )
            work.emit(
                plan_incident_event("task_done", inc, actor, task=task_id, seq=task.seq, late=late)
            )
            return done

    async def of_incident(self, incident_id: int) -> tuple[list[Activation], list[PlanTask]]:
        async with self.work.read() as conn:
            return (
                await plans_store.activations_of(conn, incident_id),
                await plans_store.tasks_of(conn, incident_id),
            )

    async def requirements(self, conn: AsyncConnection, incident_id: int) -> dict[str, int] | None:
        """What the active plans' stages ask for (None when no plan is active)."""
        found = await plans_store.activations_of(conn, incident_id)
        if not found:
            return None
        needs = []
        for activation in found:
            version = await plans_store.get_version(
                conn, activation.plan_key, activation.version, self.vocabulary
            )
            needs.append(version.plan.stage_resources(activation.stage))
        return merge_requirements(*needs)
