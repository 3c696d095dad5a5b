"""The password policy: length, the shipped list of common passwords, the user name."""

from __future__ import annotations

import pytest

from command.auth.password_policy import PasswordPolicy
from command.errors import InvalidInput


@pytest.fixture(scope="module")
def policy() -> PasswordPolicy:
    return PasswordPolicy.shipped()


@pytest.mark.parametrize(
    ("username", "password", "code"),
    [
        ("li.wei", "1234567", "user.password_short"),
        ("li.wei", "12345678", "user.password_common"),
        ("li.wei", "password", "user.password_common"),
        ("li.wei", "PASSWORD", "user.password_common"),
        ("li.wei", "iloveyou", "user.password_common"),
        ("li.wei", "qwertyuiop", "user.password_common"),
        ("dispatcher1", "dispatcher1", "user.password_has_name"),
        ("dispatcher1", "my Dispatcher1 pass", "user.password_has_name"),
        ("x", "x", "user.password_short"),
        ("li.wei", "y" * 129, "user.password_long"),
    ],
)
def test_refused_with_its_code(
    policy: PasswordPolicy, username: str, password: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        policy.check(username, password)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("li.wei", "correct horse battery"),
        ("li.wei", "y" * 128),
        ("h", "hammer and chisel"),  # a one-letter name refuses only itself
        ("li.wei", "长城长城长城长城"),
    ],
)
def test_accepted(policy: PasswordPolicy, username: str, password: str) -> None:
    policy.check(username, password)


def test_the_shipped_list_is_large(policy: PasswordPolicy) -> None:
    assert len(policy.common) > 20_000
