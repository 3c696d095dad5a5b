"""The demo: users for each role (printed), and later the region, calls and vehicles."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from command.auth import service
from command.settings import Settings
from command.tables import users

# Demo accounts only: a real deployment adds its people with `cad user add`.
DEMO_USERS = (
    ("calltaker", "call_taker", "接警员 Call-taker"),
    ("dispatcher", "dispatcher", "调度员 Dispatcher"),
    ("leader", "leader", "领导 Leader"),
    ("supervisor", "supervisor", "班长 Supervisor"),
    ("admin", "admin", "管理员 Admin"),
)
DEMO_PASSWORD = "demo-pass-112"  # noqa: S105 (printed for the demo)


async def seed_demo(engine: AsyncEngine, settings: Settings) -> None:
    async with engine.begin() as conn:
        existing = set((await conn.execute(select(users.c.username))).scalars())
        for username, role, name in DEMO_USERS:
            if username not in existing:
                await service.create_user(conn, username, DEMO_PASSWORD, role, name)
    print(f"demo users (password for all: {DEMO_PASSWORD}):")
    for username, role, _ in DEMO_USERS:
        print(f"  {username:<12} {role}")
