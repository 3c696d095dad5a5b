"""The governance rules: nobody disables or demotes themselves, the last active admin stays,
device tokens carry device roles only, people hold no device-only role."""

from __future__ import annotations

import pytest

from command.auth.governance import (
    Account,
    actor_username,
    check_device_roles,
    check_disable,
    check_roles,
    check_user_roles,
)
from command.auth.roles import Role
from command.errors import CadError

ADMIN = Account("root", frozenset({Role.ADMIN}), disabled=False)
OTHER = Account("ops", frozenset({Role.ADMIN, Role.SUPERVISOR}), disabled=False)
DISPATCHER = Account("anna", frozenset({Role.DISPATCHER}), disabled=False)
FORMER = Account("old", frozenset({Role.ADMIN}), disabled=True)


def _code(call: object) -> str:
    assert callable(call)
    with pytest.raises(CadError) as refused:
        call()
    return refused.value.code


def test_disabling() -> None:
    assert _code(lambda: check_disable("root", ADMIN, 2)) == "user.disable_self"
    assert _code(lambda: check_disable("anna", DISPATCHER, 1)) == "user.disable_self"
    assert _code(lambda: check_disable("ops", ADMIN, 1)) == "user.last_admin"
    assert _code(lambda: check_disable(None, ADMIN, 1)) == "user.last_admin"
    check_disable("ops", ADMIN, 2)
    check_disable("root", DISPATCHER, 1)
    check_disable(None, FORMER, 1)  # not active: disabling again takes no admin away


def test_role_changes() -> None:
    keep = frozenset({Role.ADMIN, Role.LEADER})
    drop = frozenset({Role.LEADER})
    check_roles("root", ADMIN, keep, 1)  # its own other roles, even as the last admin
    assert _code(lambda: check_roles("root", ADMIN, drop, 2)) == "user.demote_self"
    assert _code(lambda: check_roles("ops", ADMIN, drop, 1)) == "user.last_admin"
    check_roles("ops", ADMIN, drop, 2)
    check_roles(None, FORMER, drop, 1)
    check_roles("root", DISPATCHER, frozenset({Role.ADMIN}), 1)
    intake = frozenset({Role.INTAKE})
    assert _code(lambda: check_roles("root", DISPATCHER, intake, 1)) == "user.role_device_only"


def test_device_and_user_roles() -> None:
    check_device_roles({Role.FIELD_UNIT})
    check_device_roles({Role.INTAKE, Role.FIELD_UNIT})
    for role in (Role.ADMIN, Role.DISPATCHER, Role.CALL_TAKER, Role.SUPERVISOR, Role.LEADER):
        assert _code(lambda r=role: check_device_roles({Role.FIELD_UNIT, r})) == (
            "device.role_not_allowed"
        )
    check_user_roles({Role.FIELD_UNIT, Role.DISPATCHER})
    assert _code(lambda: check_user_roles({Role.INTAKE})) == "user.role_device_only"


def test_actor_names() -> None:
    assert actor_username("user:alice") == "alice"
    assert actor_username("user:a:b") == "a:b"
    assert actor_username("os:root") is None
    assert actor_username("device:E1") is None
