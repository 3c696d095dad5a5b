"""Which passwords are accepted (NIST SP 800-63B, 5.1.1.2); pure once built.

At least 8 characters and at most 128 (long passphrases welcome, no composition rules); refused
when it is in a list of common and breached passwords, or is or contains the user's name (in any
case; a name of one or two characters only as the whole password). The list is the password
frequency list shipped inside the ``zxcvbn`` package (MIT licence; 30,000 passwords from breach
corpora), read once by the bootstrap: nothing is downloaded at run time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from command.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 128
#: names at least this long are refused anywhere inside a password
MIN_NAME = 3


@dataclass(frozen=True)
class PasswordPolicy:
    common: frozenset[str]

    @classmethod
    def of(cls, common: Iterable[str]) -> PasswordPolicy:
        return cls(frozenset(p.lower() for p in common))

    @classmethod
    def shipped(cls) -> PasswordPolicy:
        """The policy with zxcvbn's list of common passwords."""
        return cls.of(FREQUENCY_LISTS["passwords"])

    def check(self, username: str, password: str) -> None:
        """Refuse ``password`` for ``username`` with a specific code, or return."""
        if len(password) < MIN_LENGTH:
            raise InvalidInput(
                f"a password needs at least {MIN_LENGTH} characters",
                code="user.password_short",
                min=MIN_LENGTH,
            )
        if len(password) > MAX_LENGTH:
            raise InvalidInput(
                f"a password has at most {MAX_LENGTH} characters",
                code="user.password_long",
                max=MAX_LENGTH,
            )
        if password.lower() in self.common:
            raise InvalidInput(
                "this password is in a list of common or breached passwords: choose another",
                code="user.password_common",
            )
        name = username.strip().lower()
        # A name of one or two letters would refuse half of all passwords: only as a whole.
        if name and (
            name == password.lower() or (len(name) >= MIN_NAME and name in password.lower())
        ):
            raise InvalidInput(
                "a password may not contain the user name", code="user.password_has_name"
            )
