"""The roles people and devices act in."""

from __future__ import annotations

from enum import StrEnum

from command.errors import InvalidInput


class Role(StrEnum):
    CALL_TAKER = "call_taker"
    DISPATCHER = "dispatcher"
    FIELD_UNIT = "field_unit"
    LEADER = "leader"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    #: a device that reports emergencies: an SMS gateway or an alarm panel (intake routes only)
    INTAKE = "intake"


ALL_ROLES = frozenset(Role)
#: what a device token may carry: a unit's terminal, or an intake device
DEVICE_ROLES = frozenset({Role.FIELD_UNIT, Role.INTAKE})
#: roles no person holds: an intake device is not someone who signs in
DEVICE_ONLY_ROLES = frozenset({Role.INTAKE})


def parse_roles(values: str | list[str] | tuple[str, ...]) -> frozenset[Role]:
    """Roles from a comma list or a sequence; an unknown name is a clear error."""
    items = values.split(",") if isinstance(values, str) else list(values)
    names = [v.strip() for v in items if v.strip()]
    known = [r.value for r in Role]
    if not names:
        raise InvalidInput(
            "at least one role is needed: " + ", ".join(known), code="role.missing", known=known
        )
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidInput(
            f"unknown role {', '.join(unknown)}; roles are: " + ", ".join(known),
            code="role.unknown",
            unknown=unknown,
            known=known,
        )
    return frozenset(Role(n) for n in names)
