"""``cad ami-sim``: the AMI simulator, serving AMI on a TCP port like Asterisk 22 would, with a
steady flow of calls or a replay of a recorded transcript."""

from __future__ import annotations

import argparse
import asyncio

from command.settings import Settings
from telephony.simulator import AmiSimulator

FIXTURES = ("basic", "busy")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = sub.add_parser("ami-sim", help="run the AMI simulator (Asterisk 22 call centre)")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=5038)
    sim.add_argument("--username", default=None, help="default CAD_AMI_USERNAME")
    sim.add_argument("--secret", default=None, help="default CAD_AMI_SECRET, else cadsecret")
    sim.add_argument("--queue", default=None, help="default: first of CAD_AMI_QUEUES")
    sim.add_argument(
        "--seats",
        default="",
        help="comma list of seat interfaces to sign in at start, e.g. "
        "Local/1001@agents,Local/1002@agents",
    )
    sim.add_argument("--calls-per-minute", type=float, default=6.0)
    sim.add_argument("--abandon", type=float, default=0.1, help="share of callers who give up")
    sim.add_argument("--talk", type=float, default=20.0, help="mean talk seconds")
    sim.add_argument("--speed", type=float, default=1.0, help="time acceleration")
    sim.add_argument("--replay", choices=FIXTURES, help="replay a recorded transcript instead")
    sim.add_argument("--replay-speed", type=float, default=1.0, help="0 = as fast as possible")
    sim.set_defaults(handler=ami_sim_cmd)


# ------------------------------------------------------------------ cad ami-sim


def ami_sim_cmd(args: argparse.Namespace, settings: Settings) -> int:
    queues = [q.strip() for q in settings.ami_queues.split(",") if q.strip()] or ["emergency"]
    queue = args.queue or queues[0]
    username = args.username or settings.ami_username
    secret = args.secret or settings.ami_secret or "cadsecret"
    transcript = (
        settings.shared_dir / "fixtures" / "ami" / f"{args.replay}.jsonl" if args.replay else None
    )
    if transcript is not None and not transcript.exists():
        raise FileNotFoundError(f"no transcript at {transcript} (set CAD_SHARED_DIR)")

    async def run() -> None:
        sim = AmiSimulator(args.host, args.port, username, secret, [queue], speed=args.speed)
        port = await sim.start()
        print(f"AMI simulator on {args.host}:{port} (user {username}, queue {queue})", flush=True)
        for n, interface in enumerate(s for s in args.seats.split(",") if s.strip()):
            sim.add_member(interface.strip(), f"Seat {n + 1}", queue)
        try:
            if transcript is not None:
                print(f"replaying {transcript.name} once a client is connected", flush=True)
                await sim.connected.wait()
                await sim.replay(transcript, args.replay_speed or None)
                await asyncio.Event().wait()
            else:
                await sim.flow(
                    args.calls_per_minute / 60.0, abandon_ratio=args.abandon, talk=args.talk
                )
        finally:
            await sim.stop()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return 130
    return 0
