"""The ledger against the database: every acknowledged item present exactly once (lost = 0,
doubled = 0), nothing unacknowledged present twice; and each console's events against the log
(none missed, none twice)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.faults.ledger import Item, Ledger
from tests.faults.load import ConsoleClient

TOKEN = re.compile(r"fl-[a-z]+-[\w.-]+")

# Where each kind of item is found, as (query, how a row names the item).
_TEXTS = {
    "incident": "SELECT summary FROM incidents",
    "note": "SELECT text FROM incident_narrative",
    "message": "SELECT data->>'text' FROM events WHERE type = 'unit.message_received'",
}

#: the kinds found by what they are about rather than by their key
_BY_SUBJECT = {"assignment", "release", "position", "call"}


@dataclass
class Found:
    """What the check found, per kind of item."""

    acked: Counter[str] = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    events_missed: int = 0
    events_twice: int = 0
    #: the rows of calls recorded more than once, to tell how
    doubled_calls: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.doubled or self.events_missed or self.events_twice)


async def _counts(engine: AsyncEngine, ledger: Ledger) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    async with engine.connect() as conn:
        for kind, query in _TEXTS.items():
            found: Counter[str] = Counter()
            for (value,) in await conn.execute(text(query)):
                found.update(TOKEN.findall(value or ""))
            counts[kind] = found
        rows = await conn.execute(
            text("SELECT incident_id, unit_id, ended_at IS NOT NULL FROM dispatch_assignments")
        )
        assigned: Counter[str] = Counter()
        released: Counter[str] = Counter()
        for incident_id, unit_id, ended in rows:
            assigned[f"{incident_id}:{unit_id}"] += 1
            released[f"{incident_id}:{unit_id}"] += int(ended)
        counts["assignment"], counts["release"] = assigned, released
        units = sorted({i.subject.split("@")[0] for i in ledger.of("position")})
        fixes = await conn.execute(
            text(
                "SELECT unit_id, device_time FROM unit_positions WHERE unit_id = ANY(:units)"
            ),
            {"units": units},
        )
        counts["position"] = Counter(f"{u}@{t.isoformat()}" for u, t in fixes)
        numbers = await conn.execute(text("SELECT number FROM calls"))
        counts["call"] = Counter(re.sub(r"\D", "", n or "") for (n,) in numbers)
    return counts


def _look(found: Found, item: Item, present: int) -> None:
    if item.acked:
        found.acked[item.kind] += 1
        if present == 0:
            found.lost.append(f"{item.kind} {item.key}")
    if present > 1:
        found.doubled.append(f"{item.kind} {item.key} x{present}")


async def calls_recorded(engine: AsyncEngine, ledger: Ledger) -> bool:
    """Whether every call Asterisk took is in the calls table (the bridge writes behind)."""
    async with engine.connect() as conn:
        numbers = {re.sub(r"\D", "", n or "") for (n,) in await conn.execute(
            text("SELECT number FROM calls")
        )}
    return all(i.subject in numbers for i in ledger.of("call") if i.acked)


async def check(engine: AsyncEngine, ledger: Ledger, consoles: list[ConsoleClient]) -> Found:
    counts = await _counts(engine, ledger)
    found = Found()
    for item in ledger.items:
        key = item.subject if item.kind in _BY_SUBJECT else item.key
        _look(found, item, counts[item.kind][key])
    async with engine.connect() as conn:
        twice = [d.split()[1] for d in found.doubled if d.startswith("call ")]
        if twice:
            rows = await conn.execute(
                text(
                    "SELECT number, id, linkedid, channel, state, recovered, queued_at FROM calls "
                    "WHERE regexp_replace(number, '\\D', '', 'g') = ANY(:n) ORDER BY number"
                ),
                {"n": twice},
            )
            found.doubled_calls = [" ".join(map(str, r)) for r in rows]
        for console in consoles:
            logged = {
                seq
                for (seq,) in await conn.execute(
                    text("SELECT seq FROM events WHERE seq > :a AND seq <= :b"),
                    {"a": console.after, "b": console.last},
                )
            }
            got = Counter(console.seen)
            found.events_twice += sum(n - 1 for n in got.values())
            found.events_missed += len(logged - set(got))
    return found
