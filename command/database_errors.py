"""What the database's failures mean to a client: our errors, from the driver's.

A database that is restarting, unreachable, frozen past the deadline or out of connections is
a part that is down: 503, with a ``Retry-After``, never a server error. So is a server that is
no longer the primary (a standby, read-only, or none of the listed servers writable while a
standby is being promoted): ``database.not_primary``, and the pool drops such connections
(``command.db``). A value the database
refused (22xxx: out of range, bad text) that slipped past the edge is the client's input: 422.
Anything else is a bug, and stays a server error.
"""

from __future__ import annotations

import asyncpg
from sqlalchemy import exc as sa_exc

from command.errors import CadError, InvalidInput, Unavailable

RETRY_AFTER_S = 2

# SQLSTATE classes: 08 connection, 53 resources, 57 operator intervention (shutdown, cancel on
# the statement deadline, cannot connect now), 58 system error.
_DOWN_CLASSES = ("08", "53", "57", "58")
# 25006 read_only_sql_transaction: a write on a standby (or a demoted primary).
READ_ONLY = "25006"


def broken_connection(exc: BaseException) -> bool:
    """Whether the failure leaves the connection unusable, though the driver does not say
    it is closed (so the pool would otherwise hand it out again)."""
    return isinstance(_driver_error(exc), asyncpg.InternalClientError)


def not_primary(exc: BaseException) -> bool:
    """Whether the failure says the server written to is not (or no longer) the primary."""
    driver = _driver_error(exc)
    if isinstance(driver, asyncpg.TargetServerAttributeNotMatched):
        return True
    return getattr(driver, "sqlstate", None) == READ_ONLY


# InternalClientError: the driver's own state is broken ("cannot switch to state …; another
# operation is in progress" on a connection whose server vanished mid-statement); its subclass
# TargetServerAttributeNotMatched: no server of a multi-host URL is the primary.
_DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)


def _driver_error(exc: BaseException) -> BaseException | None:
    """The asyncpg exception under SQLAlchemy's wrapping, if there is one."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return None
        if isinstance(seen, _DRIVER_ERRORS):
            found: BaseException = seen
            return found
        orig = getattr(seen, "orig", None)
        seen = orig if isinstance(orig, BaseException) else seen.__cause__
    return None


def translate(exc: BaseException) -> CadError | None:
    """Our error for a database failure, or None when it is not one we can explain."""
    if isinstance(exc, sa_exc.TimeoutError):  # no connection free in the pool in time
        return Unavailable(
            "the database is busy: no connection came free in time",
            code="database.busy",
            retry_after_s=RETRY_AFTER_S,
        )
    if not_primary(exc):
        return Unavailable(
            "the database server is not the primary (a failover may be under way): try again "
            "shortly",
            code="database.not_primary",
            retry_after_s=RETRY_AFTER_S,
        )
    driver = _driver_error(exc)
    sqlstate = getattr(driver, "sqlstate", None) if driver is not None else None
    if isinstance(sqlstate, str) and sqlstate.startswith("22"):
        detail = str(getattr(driver, "message", driver))
        return InvalidInput(
            f"the database refused a value: {detail}",
            code="request.value_refused",
            sqlstate=sqlstate,
            detail=detail,
        )
    down = (isinstance(sqlstate, str) and sqlstate.startswith(_DOWN_CLASSES)) or isinstance(
        driver, asyncpg.InterfaceError | asyncpg.InternalClientError
    )
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        down = True
    if isinstance(exc, OSError | TimeoutError) or isinstance(driver, OSError | TimeoutError):
        down = True
    if down:
        return Unavailable(
            "the database is not answering: try again shortly",
            code="database.unavailable",
            retry_after_s=RETRY_AFTER_S,
        )
    return None
