"""The plan library: import and export as YAML, versions and their approval, differences
between versions, and the approved plans kept in memory for matching.

An import is a new draft version; nothing is saved when any field is wrong (the error names
the field and its line). A named place in a ``near`` condition is looked up on the region's
map and its position written into the version. The matching index is rebuilt when the set of
approved versions changes (checked with one small query), so several processes agree.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command.events import NewEvent
from command.incidents.config import IncidentConfig
from command.unit_of_work import UnitOfWork
from dispatch.units import Capability
from plans import store as plans_store
from plans import versions as plan_versions
from plans import yaml_io
from plans.diff import FieldChange, diff_plans
from plans.document import to_document
from plans.errors import InvalidInput
from plans.matching import CompiledPlan, PlanIndex
from plans.model import PlanStatus, PlanVersion, Vocabulary


def vocabulary_of(config: IncidentConfig) -> Vocabulary:
    """What plans may name in this centre: its incident types and the units' capabilities."""
    return Vocabulary(
        incident_types=frozenset(config.taxonomy.types),
        capabilities=frozenset(c.value for c in Capability),
    )


def plan_event(kind: str, version: PlanVersion, actor: str, **data: Any) -> NewEvent:
    return NewEvent(
        f"plan.{kind}",
        "plan",
        version.key,
        {"key": version.key, "version": version.version, **data},
        actor,
    )


@dataclass
class _Cached:
    stamp: int
    index: PlanIndex


def _near_conditions(data: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every ``near`` condition of a document with its path (in conditions and level rules)."""
    found: list[tuple[str, dict[str, Any]]] = []
    if not isinstance(data, dict):
        return found
    conditions = data.get("conditions")
    if isinstance(conditions, dict) and isinstance(conditions.get("near"), dict):
        found.append(("conditions.near", conditions["near"]))
    rules = data.get("level_rules")
    if isinstance(rules, list):
        for i, rule in enumerate(rules):
            when = rule.get("when") if isinstance(rule, dict) else None
            if isinstance(when, dict) and isinstance(when.get("near"), dict):
                found.append((f"level_rules[{i}].when.near", when["near"]))
    return found


class PlanLibrary:
    """Plans and their versions over one database, built once by the bootstrap."""

    def __init__(
        self,
        engine: AsyncEngine,
        vocabulary: Vocabulary,
        clock: Callable[[], datetime],
        region: str,
    ) -> None:
        self.engine = engine
        self.vocabulary = vocabulary
        self.work = UnitOfWork(engine, clock)
        self.region = region
        self._cached: _Cached | None = None
        self._compiled: dict[int, CompiledPlan] = {}
        self._rebuild = asyncio.Lock()
        #: set while the committed events are followed (``follow``): the index is then
        #: rebuilt when a version's approval changes, with no query per match
        self._following = False
        self._stale = True

    # ------------------------------------------------------------------ import and export

    async def import_yaml(self, text: str, actor: str) -> PlanVersion:
        """A new draft version from YAML; every error names its field and line."""
        lined = yaml_io.load_lined(text)
        async with self.work.begin(actor) as work:
            await self._resolve_places(work.conn, lined)
            plan, _ = yaml_io.read_plan_lined(lined, self.vocabulary)
            version = await plans_store.add_version(
                work.conn, plan.key, to_document(plan), actor, work.now, self.vocabulary
            )
            work.emit(plan_event("version_created", version, actor, status="draft"))
            return version

    async def _resolve_places(self, conn: AsyncConnection, lined: yaml_io.LinedDocument) -> None:
        for path, near in _near_conditions(lined.data):
            if "lon" in near and "lat" in near:
                continue
            name = near.get("place")
            if not isinstance(name, str) or not name.strip():
                continue  # the document check names the missing place
            found = await plans_store.place_position(conn, self.region, name)
            if found is None:
                field = f"{path}.place"
                line = lined.line_of(field)
                raise InvalidInput(
                    f"line {line}: {field}: there is no place {name!r} on the map of {self.region}",
                    code="plan.place_unknown",
                    field=field,
                    line=line,
                    place=name,
                    region=self.region,
                )
            near["lon"], near["lat"] = found[1], found[2]

    async def import_document(self, document: dict[str, Any], actor: str) -> PlanVersion:
        """A new draft version from a document (the console editor's JSON): the same checks
        as a YAML import; a JSON text is YAML, written one field a line so lines mean
        something."""
        return await self.import_yaml(json.dumps(document, ensure_ascii=False, indent=1), actor)

    async def document(
        self, key: str, version: int | None = None
    ) -> tuple[PlanVersion, dict[str, Any]]:
        found = await self.version(key, version)
        return found, to_document(found.plan)

    async def export_yaml(self, key: str, version: int | None = None) -> str:
        async with self.work.read() as conn:
            found = await plans_store.get_version(conn, key, version, self.vocabulary)
        return yaml_io.write_plan(found.plan)

    # ------------------------------------------------------------------ reading

    async def latest(self) -> list[PlanVersion]:
        async with self.work.read() as conn:
            return await plans_store.latest_versions(conn, self.vocabulary)

    async def versions(self, key: str) -> list[PlanVersion]:
        async with self.work.read() as conn:
            return await plans_store.versions_of(conn, key, self.vocabulary)

    async def version(self, key: str, version: int | None = None) -> PlanVersion:
        async with self.work.read() as conn:
            return await plans_store.get_version(conn, key, version, self.vocabulary)

    async def diff(self, key: str, before: int, after: int) -> list[FieldChange]:
        async with self.work.read() as conn:
            a = await plans_store.get_version(conn, key, before, self.vocabulary)
            b = await plans_store.get_version(conn, key, after, self.vocabulary)
        return diff_plans(a.plan, b.plan)

    # ------------------------------------------------------------------ approval

    async def act(self, key: str, version: int, action: str, actor: str) -> PlanVersion:
        """Submit, send back, approve or retire a version; approving retires the one approved
        before it."""
        async with self.work.begin(actor) as work:
            found = await plans_store.get_version(
                work.conn, key, version, self.vocabulary, lock=True
            )
            to = plan_versions.next_status(key, version, found.status, action)
            if to is PlanStatus.APPROVED:
                previous = await plans_store.approved_of(work.conn, key)
                if previous is not None:
                    await plans_store.set_status(
                        work.conn, previous, PlanStatus.RETIRED, actor, work.now
                    )
                    old = await self._by_id(work.conn, key, previous)
                    work.emit(plan_event("version_retired", old, actor, replaced_by=version))
            await plans_store.set_status(work.conn, found.id, to, actor, work.now)
            if PlanStatus.APPROVED in (found.status, to):
                await plans_store.bump_generation(work.conn)
            saved = await plans_store.get_version(work.conn, key, version, self.vocabulary)
            work.emit(
                plan_event(
                    f"version_{to.value}" if to is not PlanStatus.DRAFT else "version_sent_back",
                    saved,
                    actor,
                    **{"from": found.status.value},
                    status=to.value,
                )
            )
        self.changed()  # committed: the next match rebuilds the index
        return saved

    async def _by_id(self, conn: AsyncConnection, key: str, version_id: int) -> PlanVersion:
        for v in await plans_store.versions_of(conn, key, self.vocabulary):
            if v.id == version_id:
                return v
        raise AssertionError(f"version id {version_id} of {key} vanished under its lock")

    async def approve(self, key: str, version: int, actor: str) -> PlanVersion:
        """Submit a draft for review if need be, then approve it (the command line's way)."""
        found = await self.version(key, version)
        if found.status is PlanStatus.DRAFT:
            await self.act(key, version, "submit", actor)
        return await self.act(key, version, "approve", actor)

    # ------------------------------------------------------------------ matching

    def follow(self, following: bool) -> None:
        """Told by the event follower whether it runs (then ``changed`` keeps us fresh)."""
        self._following = following
        self._stale = True

    def changed(self) -> None:
        """The set of approved versions changed (an event of this or another process)."""
        self._stale = True

    async def index(self, conn: AsyncConnection) -> PlanIndex:
        """The approved plans, by incident type; rebuilt when the approved set changed.

        While events are followed, a change arrives as an event and nothing is read per
        match; otherwise the library's generation is read (one primary-key row) each time.
        """
        cached = self._cached
        if self._following and not self._stale and cached is not None:
            return cached.index
        self._stale = False
        stamp = await plans_store.approved_stamp(conn)
        if cached is not None and cached.stamp == stamp:
            return cached.index
        async with self._rebuild:
            cached = self._cached
            if cached is not None and cached.stamp == stamp:
                return cached.index
            # Versions never change: only those approved since the last build are read and
            # compiled; the index is filed again from the compiled plans.
            ids = await plans_store.approved_ids(conn)
            missing = [i for i in ids if i not in self._compiled]
            for v in await plans_store.versions_by_id(conn, missing, self.vocabulary):
                self._compiled[v.id] = CompiledPlan.of(v.id, v.version, v.plan)
            wanted = set(ids)
            for gone in [i for i in self._compiled if i not in wanted]:
                del self._compiled[gone]
            index = PlanIndex.of(self._compiled[i] for i in sorted(ids))
            self._cached = _Cached(stamp, index)
            return index
