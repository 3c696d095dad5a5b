"""The simulator answers like Asterisk 22 over real TCP: login, list actions, errors."""

from __future__ import annotations

import asyncio

import pytest

from telephony.ami_client import AmiClient
from telephony.ami_protocol import AmiMessage
from telephony.errors import ActionFailed
from telephony.simulator import AmiSimulator


async def test_login_failure_is_refused_and_closed(sim: AmiSimulator) -> None:
    with pytest.raises(ActionFailed, match="Authentication failed"):
        await AmiClient.open("127.0.0.1", sim.port, "cad", "wrong", lambda m, s: None)


async def test_list_actions_and_errors(sim: AmiSimulator) -> None:
    events: list[AmiMessage] = []
    client = await AmiClient.open(
        "127.0.0.1", sim.port, "cad", "cadsecret", lambda m, s: events.append(m)
    )
    try:
        added = await client.send(
            "QueueAdd", Queue="emergency", Interface="Local/1001@agents", MemberName="Seat 1001"
        )
        assert added.get("Message") == "Added interface to queue"
        again = await client.send("QueueAdd", Queue="emergency", Interface="Local/1001@agents")
        assert again.get("Response") == "Error"
        assert again.get("Message") == "Unable to add interface: Already there"
        nosuch = await client.send("QueueAdd", Queue="nosuch", Interface="Local/1@agents")
        assert nosuch.get("Message") == "Unable to add interface to queue: No such queue"
        unknown = await client.send("Frobnicate")
        assert unknown.get("Message") == "Invalid/unknown command"
        sim.originate_caller("+4237771001", "Caller A", hold_for=60, talk=60)
        for _ in range(100):
            if any(m.event == "AgentConnect" for m in events):
                break
            await asyncio.sleep(0.05)
        status = await client.send_list("QueueStatus", Queue="emergency")
        assert status.response.get("EventList") == "start"
        assert status.complete is not None
        assert status.complete.get("ListItems") == str(len(status.items))
        member = next(i for i in status.items if i.event == "QueueMember")
        assert (member["Location"], member["InCall"]) == ("Local/1001@agents", "1")
        channels = await client.send_list("CoreShowChannels")
        names = sorted(c["Channel"] for c in channels.items)
        assert len(names) == 4
        caller = next(c for c in channels.items if c["Application"] == "Queue")
        agent = next(
            c
            for c in channels.items
            if c["Channel"].startswith("Local/1001@agents") and c["Channel"].endswith(";1")
        )
        assert caller["BridgeId"]
        assert caller["BridgeId"] == agent["BridgeId"]
        assert caller["Linkedid"] == agent["Linkedid"]
        hung = await client.send("Hangup", Channel=caller["Channel"])
        assert hung.get("Message") == "Channel Hungup"
        for _ in range(100):
            if any(m.event == "AgentComplete" for m in events):
                break
            await asyncio.sleep(0.05)
        done = next(m for m in events if m.event == "AgentComplete")
        assert done["Reason"] == "caller"
    finally:
        client.close()
