"""The real Asterisk as the switch of ``cad bench ami --asterisk``, driven from its own process.

The driver unpacks the shared build, starts it with the fixture configuration, signs the seats
in with ``QueueAdd`` and, over a second AMI session, originates callers into ``112@incoming`` at
the asked rate (Poisson arrivals, one in ten hanging up before a seat answers). It watches the
events Asterisk sends to count what happened to every call, and the bridge reaches Asterisk
through a TCP relay that the driver cuts for the resync figure. It answers the same commands
over the pipe as the simulator's process does, so the bench measures both the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from command.bench.polling import until
from ops.asterisk import Installation
from ops.tcp_relay import LinkCut
from telephony.ami_client import AmiClient
from telephony.ami_protocol import AmiMessage

RING = 1.0  # the fixture dialplan's seats answer after a second
ABANDON_RATIO = 0.1


@dataclass
class _Calls:
    """What Asterisk reported about the callers this driver started, by caller number."""

    joined: set[str] = field(default_factory=set)
    answered: set[str] = field(default_factory=set)
    abandoned: set[str] = field(default_factory=set)
    ended: set[str] = field(default_factory=set)
    refused: int = 0  # OriginateResponse: Failure
    events: int = 0

    def seen(self, msg: AmiMessage) -> None:
        self.events += 1
        number = msg.get("CallerIDNum")
        match msg.event:
            case "QueueCallerJoin":
                self.joined.add(number)
            case "AgentConnect":
                self.answered.add(number)
            case "QueueCallerAbandon":
                self.abandoned.add(number)
            case "Hangup" if msg.get("Channel").startswith("Local/112@incoming"):
                self.ended.add(number)  # either half of the caller's channel: the call is over
            case "OriginateResponse" if msg.get("Response") != "Success":
                self.refused += 1


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Driver:
    def __init__(self, shared: Path, seats: int, talk: float) -> None:
        self.install = Installation(shared, prefix="cad-bench-asterisk-")
        # without autofill the queue offers one caller at a time, whatever the free seats
        self.pbx = self.install.asterisk(queue_options="autofill = yes\n")
        self.seats = seats
        self.talk = talk
        self.calls = _Calls()
        self.live_numbers: set[str] = set()
        self.client: AmiClient | None = None
        self.relay: LinkCut | None = None
        self._random = random.Random(7)  # noqa: S311 - arrivals, not secrets
        self._serial = 0

    async def start(self) -> int:
        await asyncio.to_thread(self.pbx.start)
        self.client = await AmiClient.open(
            "127.0.0.1", self.pbx.port, "cad", self.pbx.secret, lambda m, _: self.calls.seen(m)
        )
        for n in range(self.seats):
            await self.client.call(
                "QueueAdd", Queue="emergency", Interface=f"Local/{2000 + n}@agents",
                MemberName=f"Seat {2000 + n}",
            )
        self.relay = LinkCut(self.pbx.port)
        await self.relay.start()
        return self.relay.port

    async def _originate(self, number: str, hold_for: float, talk: float) -> None:
        assert self.client is not None
        answer = await self.client.send(
            "Originate", ("Variable", f"HOLDFOR={hold_for:.2f}"),
            ("Variable", f"__TALK={talk:.2f}"), Channel="Local/112@incoming", Context="caller",
            Exten="s", Priority="1", CallerID=f'"Caller" <{number}>', Async="true", wait=30,
        )
        if answer.get("Response") != "Success":
            self.calls.refused += 1

    def _number(self) -> str:
        self._serial += 1
        return f"+42379{self._serial:05d}"

    async def flow(self, rate: float, seconds: float) -> dict[str, Any]:
        """Originate callers for ``seconds``; return once every one of them has ended."""
        self.calls = _Calls()
        cpu0, t0 = _cpu_seconds(self._pid()), time.monotonic()
        sent: list[asyncio.Task[None]] = []
        numbers: list[str] = []
        due = t0
        while True:
            due += self._random.expovariate(rate)
            if due - t0 >= seconds:
                break
            await asyncio.sleep(max(due - time.monotonic(), 0))
            number = self._number()
            numbers.append(number)
            abandons = self._random.random() < ABANDON_RATIO
            # Answer() in the dialplan waits half a second for media before the queue; a seat
            # answers a second after it rings: these callers give up while it rings
            hold = self._random.uniform(0.7, 1.3) if abandons else 120.0
            talk = self.talk * self._random.uniform(0.5, 1.5)
            sent.append(asyncio.create_task(self._originate(number, hold, talk)))
        offered_in = time.monotonic() - t0
        await asyncio.gather(*sent)
        await until(
            lambda: len(self.calls.ended & set(numbers)) + self.calls.refused >= len(numbers),
            60 + 2 * self.talk, 0.1,
        )
        return {
            "calls": len(numbers),
            "events": self.calls.events,
            "offered_seconds": offered_in,
            "joined": len(self.calls.joined),
            "answered": len(self.calls.answered),
            "abandoned": len(self.calls.abandoned),
            "ended": len(self.calls.ended),
            "refused": self.calls.refused,
            "asterisk_cpu_seconds": _cpu_seconds(self._pid()) - cpu0,
            "seconds": time.monotonic() - t0,
        }

    async def hold_calls(self, n: int) -> None:
        """``n`` callers answered by a seat and staying on the line (for the resync figure)."""
        for _ in range(n):
            number = self._number()
            self.live_numbers.add(number)
            await self._originate(number, 3600, 3600)

    def live(self) -> int:
        return len((self.live_numbers & self.calls.answered) - self.calls.ended)

    async def drop(self) -> float:
        assert self.relay is not None
        at = time.monotonic()
        await self.relay.cut()
        await self.relay.restore()
        return at

    def _pid(self) -> int:
        assert self.pbx.process is not None
        return self.pbx.process.pid

    async def stop(self) -> None:
        if self.relay is not None:
            await self.relay.stop()
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.send("Command", Command="channel request hangup all")
            self.client.close()
        await asyncio.to_thread(self.install.cleanup)


def asterisk_process(conn: Connection, shared: str, seats: int, talk: float) -> None:
    """The driver in its own process, answering the simulator process's commands."""

    async def main() -> None:
        driver = _Driver(Path(shared), seats, talk)
        try:
            conn.send(await driver.start())
        except Exception as exc:
            conn.send(f"Asterisk did not start: {exc}")
            await driver.stop()
            return
        loop = asyncio.get_running_loop()
        flow: asyncio.Task[dict[str, Any]] | None = None
        try:
            while True:
                cmd, arg = await loop.run_in_executor(None, conn.recv)
                if cmd == "flow":
                    flow = asyncio.create_task(driver.flow(arg["rate"], arg["seconds"]))
                    conn.send("started")
                elif cmd == "flow_done":
                    conn.send(await flow if flow is not None else {"calls": 0, "events": 0})
                elif cmd == "calls":
                    await driver.hold_calls(arg["n"])
                    conn.send("ok")
                elif cmd == "live":
                    conn.send(driver.live())
                elif cmd == "drop":
                    conn.send(await driver.drop())
                elif cmd == "stop":
                    conn.send("stopped")
                    return
        finally:
            await driver.stop()

    asyncio.run(main())
