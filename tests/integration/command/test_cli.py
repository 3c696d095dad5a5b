"""The `cad` command line: users, and the clear one-line errors people get for bad input."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from command.tables import audit_log, users
from tests.support.cli import cad


async def test_user_add_list_disable(engine: AsyncEngine, database_url: str) -> None:
    db = {"CAD_DATABASE_URL": database_url}
    added = cad(
        "user",
        "add",
        "li.wei",
        "--roles",
        "call_taker,dispatcher",
        CAD_NEW_PASSWORD="a good password",
        **db,
    )
    assert added.returncode == 0, added.stderr
    listed = cad("user", "list", **db)
    assert "li.wei" in listed.stdout
    assert "call_taker,dispatcher" in listed.stdout
    assert cad("user", "disable", "li.wei", **db).returncode == 0
    assert "disabled" in cad("user", "list", **db).stdout
    async with engine.connect() as conn:
        actions = (await conn.execute(select(audit_log.c.action))).scalars().all()
    assert actions == ["user.add", "user.disable"]


async def test_bad_input_is_one_clear_line_and_changes_nothing(
    engine: AsyncEngine, database_url: str
) -> None:
    db = {"CAD_DATABASE_URL": database_url}
    cases = [
        (
            cad("user", "add", "x", "--roles", "pilot", CAD_NEW_PASSWORD="long enough", **db),
            "unknown role pilot",
        ),
        (
            cad("user", "add", "x", "--roles", "leader", CAD_NEW_PASSWORD="short", **db),
            "at least 8 characters",
        ),
        (cad("user", "disable", "nobody", **db), "no user named nobody"),
        (cad("db", "status", CAD_PORT="99999", **db), "CAD_PORT"),
        (cad("db", "status", CAD_DATABASE_URL="mysql://somewhere/db"), "CAD_DATABASE_URL"),
        (cad("db", "stop", **db), "embedded cluster"),
    ]
    for result, message in cases:
        assert result.returncode == 2, result
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(users)) == 0
        assert await conn.scalar(select(func.count()).select_from(audit_log)) == 0
