"""The demo's accounts: one per role as the README says, each signing in with the printed
password (and, for the roles that need one, a code from the printed TOTP secret), the field
unit's being the terminal of one demo unit."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from command.auth import totp
from command.auth.roles import DEVICE_ONLY_ROLES, Role
from command.demo import seed_demo
from command.settings import Settings
from tests.support.live import LiveApp


def _accounts(printed: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """The password, the accounts (username: role) and their TOTP secrets from the demo's
    printout."""
    password = re.search(r"password for all: (\S+)\)", printed)
    assert password, printed
    rows = [line.split() for line in printed.splitlines() if line.startswith("  ")]
    secrets = {row[0]: row[-1] for row in rows if "secret" in row}
    return password[1], {row[0]: row[1] for row in rows}, secrets


async def test_one_working_account_per_role(
    map_url: str, map_engine: AsyncEngine, app: LiveApp, capsys: pytest.CaptureFixture[str]
) -> None:
    await seed_demo(map_engine, Settings(database_url=map_url))
    password, accounts, secrets = _accounts(capsys.readouterr().out)
    # One per role a person holds (an intake device is not someone who signs in).
    assert sorted(accounts.values()) == sorted(r.value for r in Role if r not in DEVICE_ONLY_ROLES)
    assert sorted(secrets) == ["admin", "leader", "supervisor"]
    bearers = {}
    for username, role in accounts.items():
        body = {"username": username, "password": password}
        if username in secrets:
            body["totp"] = totp.code_at(secrets[username], datetime.now(UTC))
        login = await app.http.post("/api/v1/auth/login", json=body)
        assert login.status_code == 200, (username, login.text)
        assert login.json()["roles"] == [role]
        assert login.json()["limited_to"] is None
        bearers[role] = {"Authorization": f"Bearer {login.json()['token']}"}

    # The field unit reports for its own unit, a real one of the demo fleet, and no other.
    unit = next(u for u, r in accounts.items() if r == Role.FIELD_UNIT)
    board = await app.http.get("/api/v1/units/board", headers=bearers[Role.DISPATCHER])
    fleet = [u["id"] for u in board.json()["units"]]
    assert unit in fleet
    mine = await app.http.get(f"/api/v1/units/{unit}/assignment", headers=bearers[Role.FIELD_UNIT])
    assert mine.status_code == 200
    other = next(u for u in fleet if u != unit)
    theirs = await app.http.get(
        f"/api/v1/units/{other}/assignment", headers=bearers[Role.FIELD_UNIT]
    )
    assert theirs.status_code == 403

    # A second run finds everything in place and prints the same accounts.
    await seed_demo(map_engine, Settings(database_url=map_url))
    assert _accounts(capsys.readouterr().out) == (password, accounts, secrets)
