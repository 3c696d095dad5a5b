"""An AMI server that behaves like Asterisk 22 with the ``emergency`` queue of the fixtures.

It speaks AMI over real TCP: the banner, ``Login`` (and its failure, which closes the session),
``Events``, ActionID echo, list actions answered as a ``Response`` with ``EventList: start``, the
items and a ``…Complete`` event, and the call-centre actions (QueueAdd/Remove/Pause, Originate,
Redirect, Atxfer, Hangup, MixMonitor/StopMixMonitor, ChanSpy through Originate).

Its model (queues, members, channels, waiting callers) is updated only by *observing the events
it emits*, so that replayed transcripts (``../shared/fixtures/ami/*.jsonl``) and generated calls
leave the same picture, and ``QueueStatus``/``CoreShowChannels`` tell what a real Asterisk would.

Calls follow the dialplan the transcripts were recorded with: callers are ``Local/112@incoming``
pairs (``;1`` waits ``HOLDFOR`` seconds in context ``caller``; ``;2`` answers and runs
``Queue(emergency,,,,120)``); seats are ``Local/<seat>@agents`` that answer after one second and
hang up after ``TALK`` seconds (default 4). A session whose output backs up is dropped, as
Asterisk drops slow AMI readers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from telephony.ami_protocol import AmiMessage, Parser, encode

log = logging.getLogger(__name__)

BANNER = "Asterisk Call Manager/13.0.0"
MAX_SESSION_BUFFER = 4 * 1024 * 1024
RING_TIMEOUT = 10.0  # queues.conf of the fixtures: timeout = 10
CAUSES = {16: "Normal Clearing", 17: "User busy", 19: "User alerting, no answer"}
STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
CALLERID = re.compile(r'^\s*"?(?P<name>[^"<]*?)"?\s*<(?P<num>[^>]*)>\s*$')
Pairs = list[tuple[str, str]]
FEATURES_SHOW = (
    "Builtin Feature           Default Current",
    "---------------           ------- -------",
    "Pickup                    *8      *8     ",
    "Blind Transfer            #       #      ",
    "Attended Transfer                 *2     ",
    "Disconnect Call           *       *      ",
)


@dataclass
class Member:
    queue: str
    interface: str
    name: str
    state_interface: str
    login_time: int
    paused: bool = False
    reason: str = ""
    last_pause: int = 0
    in_call: bool = False
    ringing: bool = False
    calls_taken: int = 0
    last_call: int = 0
    penalty: int = 0
    answers: bool = True  # False: the phone rings out (AgentRingNoAnswer)


@dataclass
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    state: int = 0
    priority: int = 1
    cid_num: str = "<unknown>"
    cid_name: str = "<unknown>"
    con_num: str = "<unknown>"
    con_name: str = "<unknown>"
    application: str = ""
    appdata: str = ""
    created: float = field(default_factory=time.monotonic)
    bridge: str = ""


@dataclass
class Entry:
    uniqueid: str
    joined: float
    original_position: int


@dataclass
class Queue:
    name: str
    strategy: str = "rrmemory"
    entries: list[Entry] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    holdtime: int = 0
    talktime: int = 0
    last_member: int = -1


@dataclass
class Call:
    """A generated caller: its two Local halves, and the seat channels once offered."""

    number: str
    name: str
    hold_for: float
    talk: float
    one: Channel
    two: Channel
    queue: str
    joined: float = 0.0
    member: Member | None = None
    agent_one: Channel | None = None
    agent_two: Channel | None = None
    bridge: str = ""
    connected: float = 0.0
    done: bool = False
    redirected: bool = False
    task: asyncio.Task[None] | None = None


class Session:
    """One AMI client connection."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.authenticated = False
        self.events = True
        self.closed = False

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        transport = self.writer.transport
        if transport.get_write_buffer_size() > MAX_SESSION_BUFFER:
            log.warning("AMI simulator: dropping a client that does not read (like Asterisk)")
            self.close()
            return
        self.writer.write(data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.writer.close()


class AmiSimulator:
    """The server. ``await start()``, then drive calls with ``originate_caller``, ``flow`` or
    ``replay``; ``await stop()`` closes every session (what an Asterisk restart looks like)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "cad",
        secret: str = "cadsecret",  # noqa: S107 - the fixture's documented test account
        queues: Iterable[str] = ("emergency",),
        speed: float = 1.0,
        seed: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.secret = secret
        self.queues: dict[str, Queue] = {q: Queue(q) for q in queues}
        self.members: dict[tuple[str, str], Member] = {}
        self.channels: dict[str, Channel] = {}
        self.by_name: dict[str, Channel] = {}
        self.calls: dict[str, Call] = {}
        self.speed = speed
        self.sessions: set[Session] = set()
        self.connected = asyncio.Event()  # set once a client has connected
        self.events_sent = 0
        self._server: asyncio.Server | None = None
        self._epoch = int(time.time())
        self._uid = itertools.count()
        self._local = itertools.count()
        self._tasks: set[asyncio.Task[None]] = set()
        self._clients: set[asyncio.Task[None]] = set()
        self._random = random.Random(seed)  # noqa: S311 - simulation, not security
        self._mixmonitors: dict[str, str] = {}
        self._spies: dict[str, str] = {}

    # ------------------------------------------------------------------ server

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._client, self.host, self.port)
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        return self.port

    async def stop(self) -> None:
        """Close the listener and every session, and cancel running calls."""
        for task in list(self._tasks):
            task.cancel()
        for session in list(self.sessions):
            session.close()
        self.sessions.clear()
        if self._clients:
            await asyncio.wait(list(self._clients), timeout=2)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def drop_clients(self) -> None:
        """Close every session but keep the model and the listener (a network cut)."""
        for session in list(self.sessions):
            session.close()
        self.sessions.clear()
        if self._clients:
            await asyncio.wait(list(self._clients), timeout=2)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(writer)
        self.sessions.add(session)
        self.connected.set()
        current = asyncio.current_task()
        if current is not None:
            self._clients.add(current)
            current.add_done_callback(self._clients.discard)
        writer.write((BANNER + "\r\n").encode())
        parser = Parser(expect_banner=False)
        try:
            while not session.closed:
                data = await reader.read(65536)
                if not data:
                    break
                for msg in parser.feed(data):
                    self._action(session, msg)
                    if session.closed:
                        break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.sessions.discard(session)
            session.close()

    # ------------------------------------------------------------------ output

    def _reply(self, session: Session, msg: AmiMessage, response: str, **fields: str) -> None:
        pairs: Pairs = [("Response", response)]
        if msg.action_id:
            pairs.append(("ActionID", msg.action_id))
        pairs.extend(fields.items())
        session.send(encode(pairs))

    def _send_to(self, session: Session, pairs: Pairs) -> None:
        session.send(encode(pairs))

    def emit(self, event: str, pairs: Pairs, privilege: str = "call,all") -> None:
        """Broadcast an event to every session that wants events, and observe it."""
        full: Pairs = [("Event", event), ("Privilege", privilege), *pairs]
        self._broadcast(full)

    def _broadcast(self, full: Pairs) -> None:
        msg = AmiMessage(tuple(full))
        self.observe(msg)
        data = encode(full)
        self.events_sent += 1
        for session in list(self.sessions):
            if session.authenticated and session.events:
                session.send(data)

    # ------------------------------------------------------------------ model

    def observe(self, msg: AmiMessage) -> None:
        """Update the model from an event (emitted here or replayed from a transcript)."""
        name = msg.event
        if name == "Newchannel":
            new = Channel(
                name=msg["Channel"],
                uniqueid=msg["Uniqueid"],
                linkedid=msg.get("Linkedid", msg["Uniqueid"]),
                context=msg.get("Context"),
                exten=msg.get("Exten"),
                state=int(msg.get("ChannelState", "0") or 0),
                cid_num=msg.get("CallerIDNum", "<unknown>"),
                cid_name=msg.get("CallerIDName", "<unknown>"),
            )
            self.channels[new.uniqueid] = new
            self.by_name[new.name] = new
            return
        if name == "QueueMemberAdded":
            q = msg.get("Queue")
            self.queues.setdefault(q, Queue(q))
            self.members[(q, msg["Interface"])] = Member(
                queue=q,
                interface=msg["Interface"],
                name=msg.get("MemberName", msg["Interface"]),
                state_interface=msg.get("StateInterface", msg["Interface"]),
                login_time=int(msg.get("LoginTime", "0") or 0),
                paused=msg.get("Paused") == "1",
                reason=msg.get("PausedReason"),
            )
            return
        if name == "QueueMemberRemoved":
            self.members.pop((msg.get("Queue"), msg.get("Interface")), None)
            return
        if name == "QueueMemberPause":
            m = self.members.get((msg.get("Queue"), msg.get("Interface")))
            if m is not None:
                m.paused = msg.get("Paused") == "1"
                m.reason = msg.get("PausedReason")
                m.last_pause = int(msg.get("LastPause", "0") or 0)
            return
        uid = msg.get("Uniqueid")
        ch = self.channels.get(uid) if uid else None
        if name == "Hangup":
            if ch is not None:
                del self.channels[uid]
                self.by_name.pop(ch.name, None)
            return
        if ch is not None and name in ("Newstate", "NewCallerid", "Newexten", "NewConnectedLine"):
            ch.state = int(msg.get("ChannelState", str(ch.state)) or ch.state)
            ch.cid_num = msg.get("CallerIDNum", ch.cid_num)
            ch.cid_name = msg.get("CallerIDName", ch.cid_name)
            ch.con_num = msg.get("ConnectedLineNum", ch.con_num)
            ch.con_name = msg.get("ConnectedLineName", ch.con_name)
            ch.context = msg.get("Context", ch.context)
            ch.exten = msg.get("Exten", ch.exten)
            ch.priority = int(msg.get("Priority", str(ch.priority)) or ch.priority)
            if name == "Newexten":
                ch.application = msg.get("Application")
                ch.appdata = msg.get("AppData")
            return
        queue = self.queues.get(msg.get("Queue"))
        if name == "QueueCallerJoin" and queue is not None and uid:
            queue.entries.append(Entry(uid, time.monotonic(), int(msg.get("Position", "0") or 0)))
            if ch is not None:
                ch.application, ch.appdata = "Queue", f"{queue.name},,,,120"
            return
        if name == "QueueCallerLeave" and queue is not None:
            queue.entries = [e for e in queue.entries if e.uniqueid != uid]
            return
        if name == "QueueCallerAbandon" and queue is not None:
            queue.abandoned += 1
            return
        member = self.members.get((msg.get("Queue"), msg.get("Interface")))
        if name == "AgentCalled" and member is not None:
            member.ringing = True
            return
        if name == "AgentRingNoAnswer" and member is not None:
            member.ringing = False
            return
        if name == "AgentConnect" and member is not None:
            member.ringing = False
            member.in_call = True
            if queue is not None:
                hold = int(msg.get("HoldTime", "0") or 0)
                queue.holdtime = (queue.holdtime * 3 + hold) // 4
            return
        if name == "AgentComplete" and member is not None:
            member.in_call = False
            member.calls_taken += 1
            member.last_call = int(time.time())
            if queue is not None:
                queue.completed += 1
                talk = int(msg.get("TalkTime", "0") or 0)
                queue.talktime = (queue.talktime * 3 + talk) // 4
            return
        if name == "BridgeEnter" and ch is not None:
            ch.bridge = msg.get("BridgeUniqueid")
            return
        if name == "BridgeLeave" and ch is not None:
            ch.bridge = ""

    # ------------------------------------------------------------------ actions

    def _action(self, session: Session, msg: AmiMessage) -> None:
        name = (msg.action or "").lower()
        if not name:
            self._reply(session, msg, "Error", Message="Missing action in request")
            return
        if name == "login":
            self._login(session, msg)
            return
        if not session.authenticated:
            self._reply(session, msg, "Error", Message="Permission denied")
            return
        handler = getattr(self, f"_a_{name}", None)
        if handler is None:
            self._reply(session, msg, "Error", Message="Invalid/unknown command")
            return
        handler(session, msg)

    def _login(self, session: Session, msg: AmiMessage) -> None:
        if msg.get("Username") == self.username and msg.get("Secret") == self.secret:
            session.authenticated = True
            events = msg.get("Events", "on").lower()
            session.events = events not in ("off", "no", "false", "0")
            self._reply(session, msg, "Success", Message="Authentication accepted")
            if session.events:
                uptime = str(int(time.time()) - self._epoch)
                self._send_to(session, [
                    ("Event", "FullyBooted"), ("Privilege", "system,all"), ("Uptime", uptime),
                    ("LastReload", uptime), ("Status", "Fully Booted"),
                ])
            return
        self._reply(session, msg, "Error", Message="Authentication failed")
        session.close()

    def _a_logoff(self, session: Session, msg: AmiMessage) -> None:
        self._reply(session, msg, "Goodbye", Message="Thanks for all the fish.")
        session.close()

    def _a_ping(self, session: Session, msg: AmiMessage) -> None:
        self._reply(session, msg, "Success", Ping="Pong", Timestamp=f"{time.time():.6f}")

    def _a_events(self, session: Session, msg: AmiMessage) -> None:
        mask = msg.get("EventMask", "on").lower()
        session.events = mask not in ("off", "no", "false", "0")
        self._reply(session, msg, "Success", Events="On" if session.events else "Off")

    def _list(self, session: Session, msg: AmiMessage, start: str, items: list[Pairs],
              complete: str) -> None:
        self._reply(session, msg, "Success", EventList="start", Message=start)
        aid = [("ActionID", msg.action_id)] if msg.action_id else []
        for item in items:
            self._send_to(session, item + aid)
        self._send_to(session, [("Event", complete), *aid, ("EventList", "Complete"),
                                ("ListItems", str(len(items)))])

    def _a_queuestatus(self, session: Session, msg: AmiMessage) -> None:
        wanted = msg.get("Queue")
        items: list[Pairs] = []
        now = time.monotonic()
        for queue in self.queues.values():
            if wanted and queue.name != wanted:
                continue
            items.append([
                ("Event", "QueueParams"), ("Queue", queue.name), ("Max", "0"),
                ("Strategy", queue.strategy), ("Calls", str(len(queue.entries))),
                ("Holdtime", str(queue.holdtime)), ("TalkTime", str(queue.talktime)),
                ("Completed", str(queue.completed)), ("Abandoned", str(queue.abandoned)),
                ("ServiceLevel", "0"), ("ServicelevelPerf", "0.0"), ("ServicelevelPerf2", "0.0"),
                ("Weight", "0"),
            ])
            for m in self.members.values():
                if m.queue != queue.name:
                    continue
                items.append([
                    ("Event", "QueueMember"), ("Queue", queue.name), ("Name", m.name),
                    ("Location", m.interface), ("StateInterface", m.state_interface),
                    ("Membership", "dynamic"), ("Penalty", str(m.penalty)),
                    ("CallsTaken", str(m.calls_taken)), ("LastCall", str(m.last_call)),
                    ("LastPause", str(m.last_pause)), ("LoginTime", str(m.login_time)),
                    ("InCall", "1" if m.in_call else "0"), ("Status", "0"),
                    ("Paused", "1" if m.paused else "0"), ("PausedReason", m.reason),
                    ("Wrapuptime", "0"),
                ])
            for pos, entry in enumerate(queue.entries, start=1):
                ch = self.channels.get(entry.uniqueid)
                if ch is None:
                    continue
                items.append([
                    ("Event", "QueueEntry"), ("Queue", queue.name), ("Position", str(pos)),
                    ("Channel", ch.name), ("Uniqueid", ch.uniqueid),
                    ("CallerIDNum", ch.cid_num), ("CallerIDName", ch.cid_name),
                    ("ConnectedLineNum", ch.con_num), ("ConnectedLineName", ch.con_name),
                    ("Wait", str(int(now - entry.joined))), ("Priority", "0"),
                ])
        self._list(session, msg, "Queue status will follow", items, "QueueStatusComplete")

    def _a_coreshowchannels(self, session: Session, msg: AmiMessage) -> None:
        now = time.monotonic()
        items: list[Pairs] = []
        for ch in list(self.channels.values())[::-1]:
            secs = int(now - ch.created)
            items.append([
                ("Event", "CoreShowChannel"), *_snapshot(ch),
                ("Application", ch.application), ("ApplicationData", ch.appdata),
                ("Duration", f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"),
                ("BridgeId", ch.bridge),
            ])
        self._list(session, msg, "Channels will follow", items, "CoreShowChannelsComplete")

    def _a_queueadd(self, session: Session, msg: AmiMessage) -> None:
        qname, interface = msg.get("Queue"), msg.get("Interface")
        if not qname or not interface:
            self._reply(session, msg, "Error", Message="'Queue' and 'Interface' not specified.")
            return
        if qname not in self.queues:
            self._reply(session, msg, "Error",
                        Message="Unable to add interface to queue: No such queue")
            return
        if (qname, interface) in self.members:
            self._reply(session, msg, "Error", Message="Unable to add interface: Already there")
            return
        paused = msg.get("Paused", "false").lower() in ("true", "yes", "1")
        self._reply(session, msg, "Success", Message="Added interface to queue")
        now = str(int(time.time()))
        self.emit("QueueMemberAdded", [
            ("Queue", qname), ("MemberName", msg.get("MemberName", interface)),
            ("Interface", interface), ("StateInterface", msg.get("StateInterface", interface)),
            ("Membership", "dynamic"), ("Penalty", msg.get("Penalty", "0") or "0"),
            ("CallsTaken", "0"), ("LastCall", "0"), ("LastPause", "0"), ("LoginTime", now),
            ("InCall", "0"), ("Status", "0"), ("Paused", "1" if paused else "0"),
            ("PausedReason", msg.get("Reason")), ("Ringinuse", "0"), ("Wrapuptime", "0"),
        ], privilege="agent,all")
        self._distribute(qname)

    def _member_fields(self, m: Member) -> Pairs:
        return [
            ("Queue", m.queue), ("MemberName", m.name), ("Interface", m.interface),
            ("StateInterface", m.state_interface), ("Membership", "dynamic"),
            ("Penalty", str(m.penalty)), ("CallsTaken", str(m.calls_taken)),
            ("LastCall", str(m.last_call)), ("LastPause", str(m.last_pause)),
            ("LoginTime", str(m.login_time)), ("InCall", "1" if m.in_call else "0"),
            ("Status", "0"), ("Paused", "1" if m.paused else "0"), ("PausedReason", m.reason),
            ("Ringinuse", "0"), ("Wrapuptime", "0"),
        ]

    def _a_queueremove(self, session: Session, msg: AmiMessage) -> None:
        qname, interface = msg.get("Queue"), msg.get("Interface")
        if qname not in self.queues:
            self._reply(session, msg, "Error",
                        Message="Unable to remove interface from queue: No such queue")
            return
        m = self.members.get((qname, interface))
        if m is None:
            self._reply(session, msg, "Error", Message="Unable to remove interface: Not there")
            return
        self._reply(session, msg, "Success", Message="Removed interface from queue")
        self.emit("QueueMemberRemoved", self._member_fields(m), privilege="agent,all")

    def _a_queuepause(self, session: Session, msg: AmiMessage) -> None:
        interface = msg.get("Interface")
        paused = msg.get("Paused", "").lower() in ("true", "yes", "1")
        if not interface or msg.get("Paused") == "":
            self._reply(session, msg, "Error", Message="Need 'Interface' and 'Paused' parameters.")
            return
        targets = [m for (q, i), m in self.members.items()
                   if i == interface and (not msg.get("Queue") or q == msg.get("Queue"))]
        if not targets:
            self._reply(session, msg, "Error", Message="Interface not found")
            return
        word = "paused" if paused else "unpaused"
        self._reply(session, msg, "Success", Message=f"Interface {word} successfully")
        for m in targets:
            fields = self._member_fields(m)
            stamp = str(int(time.time())) if paused else str(m.last_pause)
            fields = [
                (k, "1" if paused else "0") if k == "Paused"
                else (k, msg.get("Reason") if paused else "") if k == "PausedReason"
                else (k, stamp) if k == "LastPause"
                else (k, v)
                for k, v in fields
            ]
            self.emit("QueueMemberPause", fields, privilege="agent,all")
        if not paused:
            for m in targets:
                self._distribute(m.queue)

    def _a_originate(self, session: Session, msg: AmiMessage) -> None:
        channel = msg.get("Channel")
        if not channel:
            self._reply(session, msg, "Error", Message="Channel not specified")
            return
        if not (msg.get("Exten") or msg.get("Application")):
            self._reply(session, msg, "Error", Message="Exten not specified")
            return
        self._reply(session, msg, "Success", Message="Originate successfully queued")
        self._spawn(self._originate(msg))

    def _a_command(self, session: Session, msg: AmiMessage) -> None:
        """Only ``features show``, as the shared build prints it with the fixtures' config."""
        if msg.get("Command").strip() != "features show":
            self._reply(session, msg, "Error", Message="Command not supported here")
            return
        pairs: Pairs = [("Response", "Success")]
        if msg.action_id:
            pairs.append(("ActionID", msg.action_id))
        pairs.append(("Message", "Command output follows"))
        pairs += [("Output", line) for line in FEATURES_SHOW]
        self._send_to(session, pairs)

    def _a_redirect(self, session: Session, msg: AmiMessage) -> None:
        ch = self.by_name.get(msg.get("Channel"))
        if not msg.get("Exten") or not msg.get("Context"):
            self._reply(session, msg, "Error", Message="Context and Exten are required")
            return
        if ch is None:
            self._reply(session, msg, "Error", Message="Channel does not exist: "
                        + msg.get("Channel"))
            return
        self._reply(session, msg, "Success", Message="Redirect successful")
        self._spawn(self._redirect(ch, msg.get("Context"), msg.get("Exten")))

    def _a_atxfer(self, session: Session, msg: AmiMessage) -> None:
        ch = self.by_name.get(msg.get("Channel"))
        if ch is None:
            self._reply(session, msg, "Error", Message="No such channel")
            return
        call = self._call_of_agent(ch)
        if call is None or not call.bridge:
            self._reply(session, msg, "Error", Message="Channel is not in a bridge")
            return
        self._reply(session, msg, "Success", Message="Atxfer successfully queued")
        self._spawn(self._atxfer(call, ch, msg.get("Context"), msg.get("Exten")))

    def _a_hangup(self, session: Session, msg: AmiMessage) -> None:
        ch = self.by_name.get(msg.get("Channel"))
        if ch is None:
            self._reply(session, msg, "Error", Message="No such channel")
            return
        self._reply(session, msg, "Success", Message="Channel Hungup")
        self._spawn(self._hangup_channel(ch, int(msg.get("Cause", "16") or 16)))

    def _a_mixmonitor(self, session: Session, msg: AmiMessage) -> None:
        ch = self.by_name.get(msg.get("Channel"))
        if ch is None:
            self._reply(session, msg, "Error", Message="No such channel")
            return
        file = msg.get("File") or f"{ch.uniqueid}.wav"
        self._mixmonitors[ch.name] = file
        self._reply(session, msg, "Success", MixMonitorID=f"0x{id(ch):x}")
        # as Asterisk: the file is named only by the variable set just before the start
        self.emit("VarSet", [*_snapshot(ch), ("Variable", "MIXMONITOR_FILENAME"),
                             ("Value", file)], privilege="dialplan,all")
        self.emit("MixMonitorStart", _snapshot(ch))

    def _a_stopmixmonitor(self, session: Session, msg: AmiMessage) -> None:
        ch = self.by_name.get(msg.get("Channel"))
        if ch is None:
            self._reply(session, msg, "Error", Message="No such channel")
            return
        if self._mixmonitors.pop(ch.name, None) is None:
            self._reply(session, msg, "Error", Message="Could not stop MixMonitor")
            return
        self._reply(session, msg, "Success", Message="Stopped MixMonitor")
        self.emit("MixMonitorStop", _snapshot(ch))

    # ------------------------------------------------------------------ call flow

    def _spawn(self, coro: object) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed if self.speed > 0 else 0)

    def _new_uid(self) -> str:
        return f"{self._epoch}.{next(self._uid)}"

    def _local_pair(self, exten: str, context: str, linkedid: str | None,
                    num: str = "<unknown>", name: str = "<unknown>") -> tuple[Channel, Channel]:
        base = f"Local/{exten}@{context}-{next(self._local):08x}"
        uid1 = self._new_uid()
        link = linkedid or uid1
        one = Channel(f"{base};1", uid1, link, context, exten, 0, cid_num=num, cid_name=name)
        two = Channel(f"{base};2", self._new_uid(), link, context, exten, 4, cid_num=num,
                      cid_name=name)
        for ch in (one, two):
            self.emit("Newchannel", _snapshot(ch, cid=("<unknown>", "<unknown>")))
        return self.channels.get(one.uniqueid, one), self.channels.get(two.uniqueid, two)

    def _set_cid(self, ch: Channel, num: str, name: str) -> None:
        ch.cid_num, ch.cid_name = num, name
        self.emit("NewCallerid", [*_snapshot(ch),
                                  ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")])

    def _newexten(self, ch: Channel, context: str, exten: str, priority: int, app: str,
                  data: str) -> None:
        ch.context, ch.exten, ch.priority = context, exten, priority
        self.emit("Newexten", [*_snapshot(ch), ("Extension", exten), ("Application", app),
                               ("AppData", data)], privilege="dialplan,all")

    def _newstate(self, ch: Channel, state: int) -> None:
        ch.state = state
        self.emit("Newstate", _snapshot(ch))

    def _hangup_events(self, ch: Channel, cause: int = 16, request: bool = True) -> None:
        if ch.uniqueid not in self.channels:
            return
        if request:
            self.emit("SoftHangupRequest", [*_snapshot(ch), ("Cause", str(cause))])
        self.emit("Hangup", [*_snapshot(ch), ("Cause", str(cause)),
                             ("Cause-txt", CAUSES.get(cause, "Unknown"))])
        self._spies_of(ch)

    def _spies_of(self, ch: Channel) -> None:
        for spy_name, spyee in list(self._spies.items()):
            if spyee == ch.name or spy_name == ch.name:
                del self._spies[spy_name]
                spy = self.by_name.get(spy_name)
                if spy is not None and ch.name == spyee:
                    self.emit("ChanSpyStop", _snapshot(spy, "Spyer") + _snapshot(ch, "Spyee"))
                    self._hangup_events(spy)

    async def _originate(self, msg: AmiMessage) -> None:
        channel = msg.get("Channel")
        match = re.fullmatch(r"Local/(?P<exten>[^@]+)@(?P<ctx>[^/]+)", channel)
        cid = CALLERID.match(msg.get("CallerID"))
        num = cid.group("num") if cid else (msg.get("CallerID") or "<unknown>")
        name = cid.group("name").strip() if cid else "<unknown>"
        variables = dict(v.split("=", 1) for v in msg.all("Variable") if "=" in v)
        if match and match.group("ctx") == "incoming":
            await self._caller(num, name, float(variables.get("HOLDFOR", "8")),
                               float(variables.get("TALK", "4")), msg)
            return
        exten, ctx = (match.group("exten"), match.group("ctx")) if match else (channel, "")
        one, two = self._local_pair(exten, ctx, None, num, name)
        self._newstate(two, 6)
        self._newstate(one, 6)
        self._originate_response(msg, one, "Success", 4)
        if msg.get("Application").lower() == "chanspy":
            target = msg.get("Data").split(",")[0]
            spyee = next((c for c in self.channels.values() if c.name.startswith(target)), None)
            if spyee is None:
                self._hangup_events(one)
                self._hangup_events(two)
                return
            self._spies[one.name] = spyee.name
            self._newexten(one, ctx, exten, 1, "ChanSpy", msg.get("Data"))
            self.emit("ChanSpyStart", _snapshot(one, "Spyer") + _snapshot(spyee, "Spyee"))
            return
        # a call back: the seat's phone rings, then the dialled number; it lasts until hung up
        self._newexten(one, msg.get("Context"), msg.get("Exten"), 1, "Dial",
                       f"{msg.get('Exten')}@{msg.get('Context')}")

    def _originate_response(self, msg: AmiMessage, ch: Channel, response: str,
                            reason: int) -> None:
        pairs: Pairs = [("Event", "OriginateResponse"), ("Privilege", "call,all")]
        if msg.action_id:
            pairs.append(("ActionID", msg.action_id))
        pairs += [("Response", response), ("Channel", ch.name), ("Context", msg.get("Context")),
                  ("Exten", msg.get("Exten")), ("Reason", str(reason)),
                  ("Uniqueid", ch.uniqueid), ("CallerIDNum", ch.cid_num),
                  ("CallerIDName", ch.cid_name)]
        self._broadcast(pairs)

    def originate_caller(self, number: str, name: str = "", hold_for: float = 8.0,
                         talk: float = 4.0, queue: str | None = None,
                         variables: dict[str, str] | None = None) -> None:
        """An emergency call arrives (what ``Originate Local/112@incoming`` did in capture)."""
        pairs = (("Channel", "Local/112@incoming"), ("Context", "caller"), ("Exten", "s"),
                 ("Variable", f"HOLDFOR={hold_for:g}"),
                 *(("Variable", f"{k}={v}") for k, v in (variables or {}).items()))
        self._spawn(self._caller(number, name or number, hold_for, talk,
                                 AmiMessage(pairs), queue))

    async def _caller(self, num: str, name: str, hold_for: float, talk: float,
                      msg: AmiMessage, queue: str | None = None) -> None:
        qname = queue or next(iter(self.queues))
        one, two = self._local_pair("112", "incoming", None)
        call = Call(num, name, hold_for, talk, one, two, qname)
        self.calls[two.uniqueid] = call
        try:
            # the originate's channel variables are set on both halves (VarSet), as captured
            for pair in msg.all("Variable"):
                var, _, value = pair.partition("=")
                for ch in (one, two):
                    self.emit("VarSet", [*_snapshot(ch), ("Variable", var), ("Value", value)],
                              privilege="dialplan,all")
            self._set_cid(one, num, name)
            self._set_cid(two, num, name)
            self.emit("DialBegin", [*_snapshot(one, "Dest"), ("DialString", "112@incoming")])
            self._newstate(two, 6)
            self._newstate(one, 6)
            self.emit("DialEnd", [*_snapshot(one, "Dest"), ("DialStatus", "ANSWER")])
            if msg.action_id:
                self._originate_response(msg, one, "Success", 4)
            self._newexten(one, "caller", "s", 2, "Wait", f"{hold_for:g}")
            call.task = asyncio.current_task()
            caller_gone = self._spawn(self._caller_side(call))
            await self._sleep(0.5)
            self._newexten(two, "incoming", "112", 4, "Queue", f"{qname},,,,120")
            q = self.queues[qname]
            call.joined = time.monotonic()
            self.emit("QueueCallerJoin", [*_snapshot(two), ("Queue", qname),
                                          ("Position", str(len(q.entries) + 1)),
                                          ("Count", str(len(q.entries) + 1))],
                      privilege="agent,all")
            self._distribute(qname)
            await caller_gone
        finally:
            self.calls.pop(two.uniqueid, None)

    async def _caller_side(self, call: Call) -> None:
        """The ``;1`` half waits HOLDFOR, then hangs up (unless the call ended first)."""
        await self._sleep(call.hold_for)
        if call.done or call.redirected:
            while not call.done:
                await self._sleep(0.5)
            return
        if call.connected:
            # the caller hangs up during the conversation
            await self._end_connected(call, reason="caller")
            return
        self._abandon(call)

    def _abandon(self, call: Call) -> None:
        q = self.queues[call.queue]
        pos = next((i for i, e in enumerate(q.entries, 1) if e.uniqueid == call.two.uniqueid), 1)
        entry = next((e for e in q.entries if e.uniqueid == call.two.uniqueid), None)
        call.done = True
        if call.member is not None and call.agent_one is not None:
            # the seat was ringing: its dial is cancelled
            self.emit("AgentRingNoAnswer", [*_snapshot(call.two), ("Queue", call.queue),
                                            ("Interface", call.member.interface),
                                            ("MemberName", call.member.name),
                                            ("RingTime", "0")], privilege="agent,all")
            for ch in (call.agent_two, call.agent_one):
                if ch is not None:
                    self._hangup_events(ch)
        self.emit("SoftHangupRequest", [*_snapshot(call.one), ("Cause", "16")])
        self.emit("HangupRequest", [*_snapshot(call.two), ("Cause", "16")])
        self._hangup_events(call.one, request=False)
        hold = int(time.monotonic() - call.joined)
        self.emit("QueueCallerAbandon", [*_snapshot(call.two), ("Queue", call.queue),
                                         ("Position", str(pos)),
                                         ("OriginalPosition",
                                          str(entry.original_position if entry else pos)),
                                         ("HoldTime", str(hold))], privilege="agent,all")
        self._leave(call, pos)
        self._hangup_events(call.two)
        self._distribute(call.queue)

    def _leave(self, call: Call, pos: int) -> None:
        q = self.queues[call.queue]
        self.emit("QueueCallerLeave", [*_snapshot(call.two), ("Queue", call.queue),
                                       ("Position", str(pos)),
                                       ("Count", str(max(len(q.entries) - 1, 0)))],
                  privilege="agent,all")

    def _distribute(self, qname: str) -> None:
        """rrmemory: offer waiting callers, head first, to free unpaused members in turn."""
        q = self.queues.get(qname)
        if q is None:
            return
        members = [m for m in self.members.values() if m.queue == qname]
        for entry in list(q.entries):
            call = self.calls.get(entry.uniqueid)
            if call is None or call.member is not None or call.done:
                continue
            free = [m for m in members if not m.paused and not m.in_call and not m.ringing]
            if not free:
                return
            idx = members.index(free[0])
            for offset in range(1, len(members) + 1):
                cand = members[(q.last_member + offset) % len(members)]
                if cand in free:
                    idx = members.index(cand)
                    break
            q.last_member = idx
            member = members[idx]
            call.member = member
            member.ringing = True
            self._spawn(self._ring(call, member))

    def _agent_exten(self, member: Member) -> tuple[str, str]:
        m = re.fullmatch(r"Local/(?P<exten>[^@]+)@(?P<ctx>[^/]+)", member.interface)
        return (m.group("exten"), m.group("ctx")) if m else (member.interface, "agents")

    async def _ring(self, call: Call, member: Member) -> None:
        exten, ctx = self._agent_exten(member)
        a1, a2 = self._local_pair(exten, ctx, call.two.linkedid)
        call.agent_one, call.agent_two = a1, a2
        self._set_cid(a1, call.number, call.name)
        self.emit("AgentCalled", [*_snapshot(call.two), *_snapshot(a1, "Dest"),
                                  ("Queue", call.queue), ("Interface", member.interface),
                                  ("MemberName", member.name)], privilege="agent,all")
        self.emit("DialBegin", [*_snapshot(call.two), *_snapshot(a1, "Dest"),
                                ("DialString", member.interface.split("/", 1)[-1])])
        self._newexten(a2, ctx, exten, 1, "NoOp", f"Agent {exten} phone rings")
        if not member.answers:
            # queues.conf timeout=10, retry=1: the phone rings out, the next member is tried
            await self._sleep(RING_TIMEOUT)
            if call.done or call.redirected:
                return
            self.emit("DialEnd", [*_snapshot(call.two), *_snapshot(a1, "Dest"),
                                  ("DialStatus", "NOANSWER")])
            self.emit("AgentRingNoAnswer", [*_snapshot(call.two), *_snapshot(a1, "Dest"),
                                            ("Queue", call.queue),
                                            ("Interface", member.interface),
                                            ("MemberName", member.name),
                                            ("RingTime", str(int(RING_TIMEOUT)))],
                      privilege="agent,all")
            for ch in (a2, a1):
                self._hangup_events(ch, cause=19)
            call.member = call.agent_one = call.agent_two = None
            await self._sleep(1.0)
            if not call.done and not call.redirected:
                self._distribute(call.queue)
            return
        await self._sleep(1.0)
        if call.done or call.redirected:
            return
        self._newstate(a2, 6)
        self._newstate(a1, 6)
        self.emit("DialEnd", [*_snapshot(call.two), *_snapshot(a1, "Dest"),
                              ("DialStatus", "ANSWER")])
        q = self.queues[call.queue]
        pos = next((i for i, e in enumerate(q.entries, 1) if e.uniqueid == call.two.uniqueid), 1)
        self._leave(call, pos)
        hold = int(time.monotonic() - call.joined)
        call.connected = time.monotonic()
        self.emit("AgentConnect", [*_snapshot(call.two), *_snapshot(a1, "Dest"),
                                   ("Queue", call.queue), ("Interface", member.interface),
                                   ("MemberName", member.name), ("HoldTime", str(hold)),
                                   ("RingTime", "1")], privilege="agent,all")
        self._bridge(call, a1, call.two)
        self._newexten(a2, ctx, exten, 4, "Wait", f"{call.talk:g}")
        await self._sleep(call.talk)
        if call.done or call.redirected:
            return
        await self._end_connected(call, reason="agent")

    def _bridge(self, call: Call, *chans: Channel) -> None:
        call.bridge = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
        base = [("BridgeUniqueid", call.bridge), ("BridgeType", "basic"),
                ("BridgeTechnology", "simple_bridge"), ("BridgeCreator", "<unknown>"),
                ("BridgeName", "<unknown>")]
        self.emit("BridgeCreate", [*base, ("BridgeNumChannels", "0"),
                                   ("BridgeVideoSourceMode", "none")])
        for n, ch in enumerate(chans, start=1):
            self.emit("BridgeEnter", [*base, ("BridgeNumChannels", str(n)),
                                      ("BridgeVideoSourceMode", "none"), *_snapshot(ch)])

    def _unbridge(self, call: Call, *chans: Channel) -> None:
        if not call.bridge:
            return
        base = [("BridgeUniqueid", call.bridge), ("BridgeType", "basic"),
                ("BridgeTechnology", "simple_bridge"), ("BridgeCreator", "<unknown>"),
                ("BridgeName", "<unknown>")]
        for ch in chans:
            if ch.uniqueid in self.channels and ch.bridge == call.bridge:
                self.emit("BridgeLeave", [*base, ("BridgeNumChannels", "1"),
                                          ("BridgeVideoSourceMode", "none"), *_snapshot(ch)])
        self.emit("BridgeDestroy", [*base, ("BridgeNumChannels", "0"),
                                    ("BridgeVideoSourceMode", "none")])
        call.bridge = ""

    async def _end_connected(self, call: Call, reason: str) -> None:
        """A queue call ends: the seat side (reason agent) or the caller (reason caller)."""
        if call.done:
            return
        call.done = True
        member = call.member
        a1, a2 = call.agent_one, call.agent_two
        talk = int(time.monotonic() - call.connected)
        hold = int(call.connected - call.joined)
        complete = [*_snapshot(call.two), *(_snapshot(a1, "Dest") if a1 else []),
                    ("Queue", call.queue),
                    ("Interface", member.interface if member else ""),
                    ("MemberName", member.name if member else ""),
                    ("HoldTime", str(hold)), ("TalkTime", str(talk)), ("Reason", reason)]
        if reason == "agent" and a1 is not None and a2 is not None:
            self.emit("SoftHangupRequest", [*_snapshot(a2), ("Cause", "16")])
            self.emit("HangupRequest", [*_snapshot(a1), ("Cause", "16")])
            self._hangup_events(a2, request=False)
            if self._random.random() < 0.5:
                # as in the capture, AgentComplete may come before the caller side is torn down
                self.emit("AgentComplete", complete, privilege="agent,all")
                self._unbridge(call, a1, call.two)
                self._hangup_events(a1, request=False)
                self._hangup_events(call.two)
                self._hangup_events(call.one)
            else:
                # ... or after every channel is gone, then without the caller's fields
                self._unbridge(call, a1, call.two)
                self._hangup_events(a1, request=False)
                self._hangup_events(call.two)
                self._hangup_events(call.one)
                self.emit("AgentComplete", complete[-6:], privilege="agent,all")
        else:
            self.emit("SoftHangupRequest", [*_snapshot(call.one), ("Cause", "16")])
            self._hangup_events(call.one, request=False)
            self.emit("AgentComplete", complete, privilege="agent,all")
            if a1 is not None:
                self._unbridge(call, a1, call.two)
            self._hangup_events(call.two)
            for ch in (a1, a2):
                if ch is not None:
                    self._hangup_events(ch)
        if member is not None:
            self._distribute(call.queue)

    def _call_of(self, ch: Channel) -> Call | None:
        for call in self.calls.values():
            if ch.uniqueid in (call.one.uniqueid, call.two.uniqueid):
                return call
        return None

    def _call_of_agent(self, ch: Channel) -> Call | None:
        for call in self.calls.values():
            agents = (call.agent_one, call.agent_two)
            if any(a is not None and a.uniqueid == ch.uniqueid for a in agents):
                return call
        return None

    async def _hangup_channel(self, ch: Channel, cause: int) -> None:
        call = self._call_of(ch) or self._call_of_agent(ch)
        if call is None or call.done:
            self._hangup_events(ch, cause)
            return
        if call.redirected:
            call.done = True
            for c in (call.agent_one, call.agent_two, call.two, call.one):
                if c is not None:
                    self._hangup_events(c, cause)
            return
        if call.connected:
            is_agent = ch in (call.agent_one, call.agent_two)
            await self._end_connected(call, "agent" if is_agent else "caller")
            return
        self._abandon(call)

    async def _redirect(self, ch: Channel, context: str, exten: str) -> None:
        """As a real Asterisk does it: a waiting caller abandons the queue; a connected one
        leaves the bridge for the new place, the seat's leg hangs up, and no transfer event
        is sent: ``AgentComplete`` comes when the caller finally hangs up, naming the first
        seat with a talk time that covers the next party's."""
        call = self._call_of(ch)
        if call is None:
            self._newexten(ch, context, exten, 1, "NoOp", "redirected")
            return
        call.redirected = True
        q = self.queues[call.queue]
        waiting = any(e.uniqueid == call.two.uniqueid for e in q.entries)
        first: Member | None = None
        if waiting:
            pos = next(i for i, e in enumerate(q.entries, 1) if e.uniqueid == call.two.uniqueid)
            if call.agent_one is not None and call.member is not None:
                self.emit("AgentRingNoAnswer", [*_snapshot(call.two), ("Queue", call.queue),
                                                ("Interface", call.member.interface),
                                                ("MemberName", call.member.name),
                                                ("RingTime", "0")], privilege="agent,all")
                for a in (call.agent_two, call.agent_one):
                    if a is not None:
                        self._hangup_events(a)
                call.member = None
            self.emit("QueueCallerAbandon", [
                *_snapshot(call.two), ("Queue", call.queue), ("Position", str(pos)),
                ("OriginalPosition", str(pos)),
                ("HoldTime", str(int(time.monotonic() - call.joined)))], privilege="agent,all")
            self._leave(call, pos)
            self._newexten(call.two, context, exten, 1, "Dial", f"Local/{exten}@{context}")
        elif call.connected and call.agent_one is not None:
            first = call.member
            a1, a2 = call.agent_one, call.agent_two
            self._newexten(call.two, context, exten, 1, "Dial", f"Local/{exten}@{context}")
            self._unbridge(call, call.two, a1)
            if a2 is not None:
                self._hangup_events(a2)
            self._hangup_events(a1)
            if first is not None:
                first.in_call = False  # its leg is gone: free for the next caller
                self._distribute(call.queue)
        else:
            self._newexten(call.two, context, exten, 1, "Dial", f"Local/{exten}@{context}")
        t1, t2 = self._local_pair(exten, context, call.two.linkedid, call.number, call.name)
        await self._sleep(1.0)
        if call.done:
            return
        self._newstate(t2, 6)
        self._newstate(t1, 6)
        call.agent_one, call.agent_two = t1, t2
        self._bridge(call, t1, call.two)
        await self._sleep(call.talk)
        if call.done:
            return
        call.done = True
        self._unbridge(call, t1, call.two)
        if first is not None and call.connected:
            self.emit("AgentComplete", [
                *_snapshot(call.two), ("Queue", call.queue), ("Interface", first.interface),
                ("MemberName", first.name),
                ("HoldTime", str(int(call.connected - call.joined))),
                ("TalkTime", str(int(time.monotonic() - call.connected))),
                ("Reason", "caller")], privilege="agent,all")
        for c in (t2, t1, call.two, call.one):
            self._hangup_events(c)

    async def _atxfer(self, call: Call, agent: Channel, context: str, exten: str) -> None:
        member = call.member
        c1, c2 = self._local_pair(exten, context or "agents", agent.linkedid)
        self.emit("DialBegin", [*_snapshot(agent), *_snapshot(c1, "Dest"),
                                ("DialString", f"{exten}@{context}")])
        await self._sleep(1.0)
        if call.done:
            return
        self._newstate(c2, 6)
        self._newstate(c1, 6)
        self.emit("DialEnd", [*_snapshot(agent), *_snapshot(c1, "Dest"),
                              ("DialStatus", "ANSWER")])
        await self._sleep(1.0)
        if call.done:
            return
        call.redirected = True
        old_bridge = call.bridge
        self.emit("AttendedTransfer", [
            ("Result", "Success"), *_snapshot(agent, "OrigTransferer"),
            ("OrigBridgeUniqueid", old_bridge), *_snapshot(c1, "SecondTransferer"),
            ("DestType", "Bridge"), ("DestBridgeUniqueid", old_bridge),
            ("IsExternal", "No"), *_snapshot(call.two, "Transferee"),
            *_snapshot(c2, "TransferTarget"),
        ])
        self.emit("AgentComplete", [
            *_snapshot(call.two), ("Queue", call.queue),
            ("Interface", member.interface if member else ""),
            ("MemberName", member.name if member else ""),
            ("HoldTime", str(int(call.connected - call.joined))),
            ("TalkTime", str(int(time.monotonic() - call.connected))),
            ("Reason", "transfer")], privilege="agent,all")
        for a in (call.agent_one, call.agent_two):
            if a is not None:
                self._hangup_events(a)
        call.agent_one, call.agent_two = c1, c2
        await self._sleep(call.talk)
        if call.done:
            return
        call.done = True
        self._unbridge(call, c1, call.two)
        for c in (c2, c1, call.two, call.one):
            self._hangup_events(c)

    # ------------------------------------------------------------------ drivers

    async def flow(self, calls_per_second: float, duration: float | None = None,
                   abandon_ratio: float = 0.1, talk: float = 4.0, hold_for: float = 30.0,
                   first_number: int = 4237770000) -> int:
        """A steady stream of calls (Poisson arrivals); returns how many were started."""
        started = 0
        t0 = time.monotonic()
        n = first_number
        while duration is None or time.monotonic() - t0 < duration:
            gap = self._random.expovariate(calls_per_second) if calls_per_second > 0 else 1.0
            await asyncio.sleep(gap)
            n += 1
            patience = (self._random.uniform(1.0, 3.0) if self._random.random() < abandon_ratio
                        else hold_for)
            self.originate_caller(f"+{n}", f"Caller {n % 1000}", hold_for=patience,
                                  talk=talk * self._random.uniform(0.5, 1.5))
            started += 1
        return started

    async def replay(self, transcript: Path, speed: float | None = 1.0) -> int:
        """Send the unsolicited events of a recorded session (``.jsonl``), observing each.

        Responses and list items answered the capturing client's own ActionIDs: they are not
        replayed (our clients get their own answers from the model). ``speed=None`` sends as
        fast as possible; otherwise the recorded gaps are divided by ``speed``.
        """
        records = []
        text = await asyncio.to_thread(transcript.read_text)
        for line in text.splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("dir") != "in" or "msg" not in rec:
                continue
            pairs = [(str(k), str(v)) for k, v in rec["msg"]]
            msg = AmiMessage(tuple(pairs))
            if msg.event is None or msg.action_id or msg.event in ("FullyBooted",
                                                                   "SuccessfulAuth"):
                continue
            records.append((float(rec["t"]), pairs))
        t_start = time.monotonic()
        first = records[0][0] if records else 0.0
        for n, (t, pairs) in enumerate(records):
            if speed is not None:
                delay = (t - first) / speed - (time.monotonic() - t_start)
                if delay > 0:
                    await asyncio.sleep(delay)
            elif n % 200 == 0:
                await asyncio.sleep(0)
            self._broadcast(pairs)
        return len(records)

    def set_answering(self, interface: str, answers: bool) -> None:
        """Whether a seat's phone is picked up when it rings (for ring-out scenarios)."""
        for (_, iface), member in self.members.items():
            if iface == interface:
                member.answers = answers

    def add_member(self, interface: str, name: str, queue: str | None = None) -> None:
        """Sign a seat in from the server side (as the capture client did with QueueAdd)."""
        q = queue or next(iter(self.queues))
        self.emit("QueueMemberAdded", [
            ("Queue", q), ("MemberName", name), ("Interface", interface),
            ("StateInterface", interface), ("Membership", "dynamic"), ("Penalty", "0"),
            ("CallsTaken", "0"), ("LastCall", "0"), ("LastPause", "0"),
            ("LoginTime", str(int(time.time()))), ("InCall", "0"), ("Status", "0"),
            ("Paused", "0"), ("PausedReason", ""), ("Ringinuse", "0"), ("Wrapuptime", "0"),
        ], privilege="agent,all")
        self._distribute(q)


def _snapshot(ch: Channel, prefix: str = "",
              cid: tuple[str, str] | None = None) -> Pairs:
    """The channel snapshot fields, named as Asterisk names them (optionally ``Dest…``)."""
    num, name = cid or (ch.cid_num, ch.cid_name)
    con_num = ch.con_num if ch.con_num != "<unknown>" or cid else num
    con_name = ch.con_name if ch.con_name != "<unknown>" or cid else name
    if cid:
        con_num, con_name = "<unknown>", "<unknown>"
    chan_key = f"{prefix}Channel" if prefix else "Channel"
    return [
        (chan_key, ch.name), (f"{prefix}ChannelState", str(ch.state)),
        (f"{prefix}ChannelStateDesc", STATE_DESC.get(ch.state, "Unknown")),
        (f"{prefix}CallerIDNum", num), (f"{prefix}CallerIDName", name),
        (f"{prefix}ConnectedLineNum", con_num), (f"{prefix}ConnectedLineName", con_name),
        (f"{prefix}Language", "en"), (f"{prefix}AccountCode", ""),
        (f"{prefix}Context", ch.context), (f"{prefix}Exten", ch.exten),
        (f"{prefix}Priority", str(ch.priority)), (f"{prefix}Uniqueid", ch.uniqueid),
        (f"{prefix}Linkedid", ch.linkedid),
    ]
