"""The steady load: clients over real HTTP and websockets, each recording what it sent and what
was acknowledged (``tests.faults.ledger``), retrying with the same key until answered.

- intake: incidents created, then a narrative note on each (``Idempotency-Key`` on both);
- dispatch: a unit assigned to a new incident, then released (``Idempotency-Key``);
- terminals: a unit's GPS fixes and text messages over the unit protocol, kept in an offline
  buffer until acknowledged and replayed after a reconnect with their own keys;
- consoles: the event stream, resumed after a drop from the last sequence number seen;
- callers: emergency calls into a real Asterisk's queue, which the app's bridge records.

Each client paces itself by waiting on the stop signal with a time-out, so that it stops at
once when told.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from telephony.ami_client import AmiClient
from tests.faults.ledger import Item, Ledger

#: answers after which the same request is sent again with the same key
RETRY_CODES = {"request.in_progress"}
RETRY_STATUSES = {502, 503, 504}
VADUZ = (9.5209, 47.1410)


@dataclass
class Run:
    """What every client of one run shares: where the app is, the ledger, the signals."""

    base_url: str
    ws_url: str
    ledger: Ledger
    prefix: str
    #: set to stop making new items
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    #: set to stop retrying what is still unanswered (the end of the drain)
    give_up: asyncio.Event = field(default_factory=asyncio.Event)
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def key(self, kind: str) -> str:
        return f"fl-{kind}-{self.prefix}-{next(self.numbers)}"


async def pause(event: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` or until ``event`` is set; whether it was set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
    return event.is_set()


async def keyed(
    run: Run,
    http: httpx.AsyncClient,
    item: Item,
    path: str,
    headers: dict[str, str],
    body: dict[str, Any],
) -> httpx.Response | None:
    """POST ``body`` with the item's key until it is answered; the answer, or None when the
    outcome is unknown or the run gave up."""
    sent = {**headers, "Idempotency-Key": item.key}
    while True:
        try:
            response: httpx.Response | None = await http.post(
                path, headers=sent, json=body, timeout=20
            )
        except httpx.TransportError:
            response = None
        if response is not None:
            code = _code(response)
            if response.status_code < 300:
                item.acked_at = time.monotonic()
                return response
            if response.status_code == 503 and "Retry-After" not in response.headers:
                run.ledger.server_errors.append(f"503 without Retry-After: {path}")
            elif response.status_code >= 500 and response.status_code not in RETRY_STATUSES:
                run.ledger.server_errors.append(f"{response.status_code} {path}: {response.text}")
            if code == "request.outcome_unknown":
                item.unknown = True
                return None
            if response.status_code < 500 and code not in RETRY_CODES:
                item.refused = code or str(response.status_code)
                return response
        run.ledger.retries += 1
        if await pause(run.give_up, 0.2):
            return None


def _code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


async def intake(
    run: Run, http: httpx.AsyncClient, headers: dict[str, str], created: asyncio.Queue[int]
) -> None:
    """Incidents, one after another, each with a note; their ids go to the dispatchers."""
    while not run.stop.is_set():
        item = run.ledger.add("incident", run.key("inc"), "")
        item.subject = item.key
        body = {"type": "medical", "lon": VADUZ[0], "lat": VADUZ[1], "summary": item.key}
        answer = await keyed(run, http, item, "/api/v1/incidents", headers, body)
        if answer is None or not item.acked:
            continue
        incident_id = int(answer.json()["incident"]["id"])
        note = run.ledger.add("note", run.key("note"), "")
        note.subject = note.key
        await keyed(
            run, http, note, f"/api/v1/incidents/{incident_id}/narrative", headers,
            {"text": note.key},
        )
        created.put_nowait(incident_id)
        await pause(run.stop, 0.05)


async def dispatch(
    run: Run,
    http: httpx.AsyncClient,
    headers: dict[str, str],
    created: asyncio.Queue[int],
    units: asyncio.Queue[str],
) -> None:
    """A free unit assigned to the next new incident, then released again."""
    while not run.stop.is_set():
        try:
            incident_id = await asyncio.wait_for(created.get(), 0.5)
        except TimeoutError:
            continue
        unit = await units.get()
        pair = f"{incident_id}:{unit}"
        item = run.ledger.add("assignment", run.key("asg"), pair)
        await keyed(
            run, http, item, f"/api/v1/incidents/{incident_id}/assignments", headers,
            {"unit_ids": [unit]},
        )
        if item.acked:
            release = run.ledger.add("release", run.key("rel"), pair)
            await keyed(
                run, http, release,
                f"/api/v1/incidents/{incident_id}/assignments/{unit}/cancel", headers,
                {"reason": release.key},
            )
            if not release.acked:
                continue  # the unit stays out of the pool: its state is not known
        units.put_nowait(unit)


@dataclass
class Sent:
    """A terminal frame waiting for its answer."""

    frame: dict[str, Any]
    items: list[Item]


@dataclass
class TerminalClient:
    """A unit's terminal: a fix every ``period`` s and a text message every tenth; what is not
    acknowledged stays in the buffer and goes again after a reconnect (fixes as one batch,
    messages with their own keys)."""

    run: Run
    unit: str
    token: str
    period: float = 0.2
    buffer: list[Sent] = field(default_factory=list)
    connects: int = 0
    _fixes: int = 0
    _last: datetime | None = None

    def _fix(self) -> Sent:
        now = datetime.now(UTC)
        if self._last is not None and now <= self._last:  # one fix per device time
            now = self._last + timedelta(milliseconds=1)
        self._last = now
        self._fixes += 1
        key = f"fl-pos-{self.run.prefix}-{self.unit}-{self._fixes}"
        item = self.run.ledger.add("position", key, f"{self.unit}@{now.isoformat()}")
        position = {"lat": VADUZ[1] + self._fixes * 1e-6, "lon": VADUZ[0], "time": now.isoformat()}
        return Sent({"v": 1, "type": "position", "key": key, "position": position}, [item])

    def _message(self) -> Sent:
        key = f"fl-msg-{self.run.prefix}-{self.unit}-{self._fixes}"
        item = self.run.ledger.add("message", key, key)
        return Sent({"v": 1, "type": "message", "key": key, "text": key}, [item])

    def _replay(self) -> list[Sent]:
        """The buffer as it goes after a reconnect: messages one by one, fixes in batches."""
        messages = [s for s in self.buffer if s.frame["type"] == "message"]
        fixes = [i for s in self.buffer if s.frame["type"] != "message" for i in s.items]
        positions = [
            p
            for s in self.buffer
            if s.frame["type"] != "message"
            for p in ([s.frame["position"]] if "position" in s.frame else s.frame["positions"])
        ]
        batches = [
            Sent(
                {
                    "v": 1,
                    "type": "positions",
                    "key": f"fl-batch-{self.run.prefix}-{self.unit}-{self.connects}-{n}",
                    "positions": positions[n : n + 500],
                },
                fixes[n : n + 500],
            )
            for n in range(0, len(positions), 500)
        ]
        return messages + batches

    async def _exchange(self, ws: ClientConnection, sent: Sent) -> None:
        await ws.send(json.dumps(sent.frame))
        while True:
            answer = json.loads(await asyncio.wait_for(ws.recv(), 20))
            if answer.get("type") in ("ack", "error"):
                break
        if answer["type"] == "error":
            for item in sent.items:
                item.refused = str(answer.get("code"))
            return
        refused = {r["index"]: r["code"] for r in answer.get("refused", [])}
        now = time.monotonic()
        for index, item in enumerate(sent.items):
            if index in refused:
                item.refused = refused[index]
            else:
                item.acked_at = now

    async def _session(self) -> None:
        url = f"{self.run.ws_url}/api/v1/units/ws?token={self.token}"
        async with websockets.connect(url, open_timeout=5, close_timeout=1) as ws:
            self.connects += 1
            for _ in range(2):  # hello, the current assignment
                await asyncio.wait_for(ws.recv(), 10)
            replay = self._replay()
            self.buffer = list(replay)
            for sent in replay:
                await self._exchange(ws, sent)
                self.buffer.remove(sent)
            while not self.run.stop.is_set():
                new = [self._fix()]
                if self._fixes % 10 == 0:
                    new.append(self._message())
                self.buffer.extend(new)
                for sent in new:
                    await self._exchange(ws, sent)
                    self.buffer.remove(sent)
                await pause(self.run.stop, self.period)

    async def __call__(self) -> None:
        while not self.run.give_up.is_set():
            if self.run.stop.is_set() and not self.buffer:
                return
            with contextlib.suppress(OSError, TimeoutError, websockets.WebSocketException):
                await self._session()
            if self.run.stop.is_set() and not self.buffer:
                return
            # Offline: fixes keep coming and wait in the buffer.
            if not self.run.stop.is_set():
                self.buffer.append(self._fix())
            self.run.ledger.retries += 1
            await pause(self.run.give_up, 0.2)


@dataclass
class ConsoleClient:
    """An event-stream console: every sequence number it received, in order; after a drop it
    resumes from the last one."""

    run: Run
    token: str
    after: int
    seen: list[int] = field(default_factory=list)
    connects: int = 0
    #: set when the console should stop once it has reached this sequence number
    target: int | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def last(self) -> int:
        return self.seen[-1] if self.seen else self.after

    async def _session(self) -> None:
        url = f"{self.run.ws_url}/api/v1/events/ws?after={self.last}&token={self.token}"
        async with websockets.connect(url, open_timeout=5, close_timeout=1) as ws:
            self.connects += 1
            while not self._reached():
                with contextlib.suppress(TimeoutError):
                    event = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                    self.seen.append(int(event["seq"]))

    def _reached(self) -> bool:
        return self.run.give_up.is_set() or (self.target is not None and self.last >= self.target)

    async def __call__(self) -> None:
        while not self._reached():
            with contextlib.suppress(OSError, TimeoutError, websockets.WebSocketException):
                await self._session()
            if not self._reached():
                await pause(self.run.give_up, 0.2)
        self.done.set()


@dataclass
class Probe:
    """A read through the database every tenth of a second: when the app served, when not."""

    run: Run
    path: str
    headers: dict[str, str]
    answers: list[tuple[float, bool]] = field(default_factory=list)
    #: when the health said the Asterisk link was up, when not
    telephony: list[tuple[float, bool]] = field(default_factory=list)

    async def __call__(self, http: httpx.AsyncClient) -> None:
        while not self.run.give_up.is_set():
            try:
                ok = (await http.get(self.path, headers=self.headers, timeout=2)).status_code == 200
                health = (await http.get("/api/v1/health", timeout=2)).json()
                linked = health["parts"]["telephony"]["status"] == "ok"
            except (httpx.TransportError, ValueError, KeyError):
                ok = linked = False
            self.answers.append((time.monotonic(), ok))
            self.telephony.append((time.monotonic(), linked))
            await pause(self.run.give_up, 0.1)

    def served_after(self, moment: float) -> float | None:
        """The first time at or after ``moment`` when a read was answered."""
        return next((t for t, ok in self.answers if t >= moment and ok), None)

    def linked_after(self, moment: float) -> float | None:
        """The first time at or after ``moment`` when the Asterisk link was up."""
        return next((t for t, ok in self.telephony if t >= moment and ok), None)

    def linked(self) -> bool:
        return bool(self.telephony) and self.telephony[-1][1]


@dataclass
class CallerClient:
    """Emergency calls into Asterisk's queue, one every ``period`` s from its own AMI session
    (not through the app's link); each call Asterisk took is an item the bridge must record
    once. While the app's link is down, no new call starts: a call it never saw is not the
    bridge's to record."""

    run: Run
    ami: AmiClient
    link_up: Callable[[], bool]
    #: a number of this run's own, for its callers' numbers (the calls table outlives a run)
    series: int = 0
    period: float = 0.5
    hold_s: float = 4.0

    async def __call__(self) -> None:
        while not self.run.stop.is_set():
            if self.link_up():
                number = f"77{self.series:02d}{next(self.run.numbers):06d}"
                item = self.run.ledger.add("call", number, number)
                answer = await self.ami.send(
                    "Originate", ("Variable", f"HOLDFOR={self.hold_s:g}"),
                    Channel="Local/112@incoming", Context="caller", Exten="s", Priority="1",
                    CallerID=f'"Caller" <{number}>', Async="true",
                )
                if answer.get("Response") == "Success":
                    item.acked_at = time.monotonic()
                else:
                    item.refused = str(answer.get("Message"))
            await pause(self.run.stop, self.period)
