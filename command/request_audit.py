"""The audit row of the request being answered, written in the transaction that makes its change.

A state-changing request (an HTTP change, a terminal's frame) is expected to leave one audit row
(who, what, from where) committed together with its change: the role check
(``command.api.deps.require_roles``) and the websocket protocols ``expect`` it; the unit of work,
and the few services that open their own transaction, ``write`` it just before their commit and
call ``committed`` once that commit went through. A handler that audits its change itself, or
that changes nothing, says so (``handled``). An expectation still open at the end of a request
is a failure (rolled back: the catch-all audit records the refusal) or a bug (a success without
its row, which the catch-all logs as an error).

The expectation lives in a context variable: it belongs to the request or frame being answered
(each runs in its own context), so it is no state shared between requests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command import audit
from command.origin import Origin


@dataclass
class Expected:
    """The row a change owes: who, what, on which object; and whether it is settled."""

    origin: Origin
    action: str
    object_type: str
    object_id: str
    #: written in a transaction that committed
    done: bool = False
    #: audited by the handler itself, or nothing to audit (a read sent as POST)
    handled: bool = False
    #: the request was answered: a task it started (which copied its context) writes no row
    closed: bool = False

    @property
    def settled(self) -> bool:
        return self.done or self.handled


_EXPECTED: ContextVar[Expected | None] = ContextVar("expected_audit", default=None)


def expect(expected: Expected) -> Expected:
    """From now on in this context, the next committed change writes ``expected``'s row."""
    _EXPECTED.set(expected)
    return expected


def current() -> Expected | None:
    return _EXPECTED.get()


def handled() -> None:
    """The handler audits its change itself (or there is none): write no row for it."""
    expected = _EXPECTED.get()
    if expected is not None:
        expected.handled = True


def forget() -> None:
    """The request or frame was answered: nothing more writes its row."""
    expected = _EXPECTED.get()
    if expected is not None:
        expected.closed = True
    _EXPECTED.set(None)


def close(expected: Expected | None) -> None:
    """``forget`` from outside the request's context (the answer's middleware)."""
    if expected is not None:
        expected.closed = True


async def write(conn: AsyncConnection) -> Expected | None:
    """Write the expected row in ``conn``'s transaction, unless it is settled; returns what
    was written, to pass to ``committed`` after the commit."""
    expected = _EXPECTED.get()
    if expected is None or expected.settled or expected.closed:
        return None
    await audit.record(
        conn,
        actor=expected.origin.actor,
        action=expected.action,
        object_type=expected.object_type,
        object_id=expected.object_id,
        source=expected.origin.source,
        result="ok",
    )
    return expected


def committed(written: Expected | None) -> None:
    """The transaction that wrote the row committed: the change is audited."""
    if written is not None:
        written.done = True


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """``engine.begin()`` for a service outside the unit of work: the change commits with the
    audit row its request owes."""
    async with engine.begin() as conn:
        yield conn
        written = await write(conn)
    committed(written)
