"""Contingency plans over HTTP: the library (import and export as YAML, versions, approval,
differences), the plans that apply to an incident with their explanations, reported facts,
activation, alarm stages and tasks.

Roles: supervisors and admins author plans; leaders and supervisors approve them; everyone
who works incidents reads them; dispatchers, supervisors and leaders activate plans, call the
next alarm stage and report facts. The services check everything; refusals change nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from command.api.deps import ContainerDep, require_roles
from command.api.incident_access import incident_reader
from command.api.incidents import COMMANDERS, READERS, level_of
from command.api.schemas.plans import (
    ActivationOut,
    ChangeOut,
    DiffOut,
    DocumentIn,
    FactsIn,
    IncidentActivationsOut,
    IncidentPlansOut,
    PlanDocumentOut,
    PlanList,
    PlanVersionOut,
    TaskOut,
    YamlIn,
    YamlOut,
)
from command.auth.roles import Role
from command.auth.service import Principal
from plans.model import Facts

router = APIRouter(prefix="/api/v1", tags=["plans"])

R = Role
Reader = Annotated[
    Principal, Depends(require_roles(R.CALL_TAKER, R.DISPATCHER, R.LEADER, R.SUPERVISOR, R.ADMIN))
]
Author = Annotated[Principal, Depends(require_roles(R.SUPERVISOR, R.ADMIN, R.LEADER))]
Approver = Annotated[Principal, Depends(require_roles(R.LEADER, R.SUPERVISOR))]
Commander = Annotated[Principal, Depends(require_roles(R.DISPATCHER, R.SUPERVISOR, R.LEADER))]
# On a route under /incidents/{incident_id}: the caller must also be allowed to read the incident.
ReaderOf = Annotated[Principal, Depends(incident_reader(*READERS))]
CommanderOf = Annotated[Principal, Depends(incident_reader(*COMMANDERS))]


# ---------------------------------------------------------------------- the library


@router.get("/plans")
async def list_plans(_: Reader, c: ContainerDep) -> PlanList:
    return PlanList(plans=[PlanVersionOut.of(v) for v in await c.plan_library.latest()])


@router.post("/plans", status_code=201)
async def import_plan(body: YamlIn, who: Author, c: ContainerDep) -> PlanVersionOut:
    return PlanVersionOut.of(await c.plan_library.import_yaml(body.yaml, who.actor))


@router.post("/plans/documents", status_code=201)
async def import_document(body: DocumentIn, who: Author, c: ContainerDep) -> PlanVersionOut:
    """The editor's save: a new draft version from the document (errors name the field)."""
    return PlanVersionOut.of(await c.plan_library.import_document(body.document, who.actor))


@router.get("/plans/{key}/versions/{version}")
async def document(key: str, version: int, _: Reader, c: ContainerDep) -> PlanDocumentOut:
    """A version for the editor: its approval trail and its document."""
    found, doc = await c.plan_library.document(key, version)
    return PlanDocumentOut(version=PlanVersionOut.of(found), document=doc)


@router.get("/plans/{key}/versions")
async def versions(key: str, _: Reader, c: ContainerDep) -> PlanList:
    return PlanList(plans=[PlanVersionOut.of(v) for v in await c.plan_library.versions(key)])


@router.get("/plans/{key}/versions/{version}/yaml")
async def export_plan(key: str, version: int, _: Reader, c: ContainerDep) -> YamlOut:
    text = await c.plan_library.export_yaml(key, version)
    return YamlOut(key=key, version=version, yaml=text)


@router.get("/plans/{key}/diff")
async def diff(
    key: str,
    _: Reader,
    c: ContainerDep,
    before: Annotated[int, Query(ge=1)],
    after: Annotated[int, Query(ge=1)],
) -> DiffOut:
    changes = await c.plan_library.diff(key, before, after)
    return DiffOut(key=key, before=before, after=after, changes=[ChangeOut.of(x) for x in changes])


@router.post("/plans/{key}/versions/{version}/submit")
async def submit(key: str, version: int, who: Author, c: ContainerDep) -> PlanVersionOut:
    return PlanVersionOut.of(await c.plan_library.act(key, version, "submit", who.actor))


@router.post("/plans/{key}/versions/{version}/send-back")
async def send_back(key: str, version: int, who: Approver, c: ContainerDep) -> PlanVersionOut:
    return PlanVersionOut.of(await c.plan_library.act(key, version, "send_back", who.actor))


@router.post("/plans/{key}/versions/{version}/approve")
async def approve(key: str, version: int, who: Approver, c: ContainerDep) -> PlanVersionOut:
    return PlanVersionOut.of(await c.plan_library.act(key, version, "approve", who.actor))


@router.post("/plans/{key}/versions/{version}/retire")
async def retire(key: str, version: int, who: Approver, c: ContainerDep) -> PlanVersionOut:
    return PlanVersionOut.of(await c.plan_library.act(key, version, "retire", who.actor))


# ---------------------------------------------------------------------- on an incident


@router.get("/incidents/{incident_id}/plans")
async def incident_plans(incident_id: int, _: ReaderOf, c: ContainerDep) -> IncidentPlansOut:
    found = await c.incident_plans.current(incident_id)
    inc = found.incident
    return IncidentPlansOut.of(inc.id, inc.number, inc.response_level.name, found.matches)


@router.put("/incidents/{incident_id}/situation")
async def report_facts(
    incident_id: int, body: FactsIn, who: CommanderOf, c: ContainerDep
) -> IncidentPlansOut:
    inc, found = await c.incident_plans.report_facts(
        incident_id, Facts(body.casualties, body.trapped, body.hazmat), who.actor
    )
    return IncidentPlansOut.of(inc.id, inc.number, inc.response_level.name, found)


@router.get("/incidents/{incident_id}/plan-activations")
async def activations(incident_id: int, _: ReaderOf, c: ContainerDep) -> IncidentActivationsOut:
    found, tasks = await c.activations.of_incident(incident_id)
    return IncidentActivationsOut(
        incident_id=incident_id,
        activations=[ActivationOut.of(a) for a in found],
        tasks=[TaskOut.of(t) for t in tasks],
    )


@router.post("/incidents/{incident_id}/plans/{key}/activate", status_code=201)
async def activate(
    incident_id: int, key: str, who: CommanderOf, c: ContainerDep
) -> IncidentActivationsOut:
    done = await c.activations.activate(incident_id, key, who.actor, level=level_of(who))
    return IncidentActivationsOut(
        incident_id=incident_id,
        activations=[ActivationOut.of(done.activation)],
        tasks=[TaskOut.of(t) for t in done.tasks],
    )


@router.post("/incidents/{incident_id}/plans/{key}/next-stage")
async def next_stage(
    incident_id: int, key: str, who: CommanderOf, c: ContainerDep
) -> ActivationOut:
    return ActivationOut.of(
        await c.activations.raise_stage(incident_id, key, who.actor, level=level_of(who))
    )


@router.post("/plan-tasks/{task_id}/done")
async def task_done(task_id: int, who: Commander, c: ContainerDep) -> TaskOut:
    return TaskOut.of(await c.activations.finish_task(task_id, who.actor))
