"""Password hashing (Argon2id) off the event loop, with a bound on concurrent hashes.

One Argon2 verify costs tens of milliseconds of CPU by design. Run on the event loop, a flood of
failed sign-ins stalls every other request of the process (incident creation slowed twenty-fold);
so hashes run in a small pool of threads (argon2-cffi releases the GIL while it hashes), at most
``concurrency`` at once. A sign-in that finds every slot taken waits up to ``wait_s`` for one,
then is refused with ``auth.busy`` (503, Retry-After) -- the loop itself never waits on a hash.
The pool's threads run at a lower CPU priority than the loop (Linux: a thread's own nice value,
inherited by Argon2's lane threads), so that on a busy machine the hashes yield to the requests
that direct units.

``inline=True`` verifies on the event loop instead: the design this one replaces, kept as a
real code path so that ``cad bench login`` can measure both in the same run (never for service).

An unknown user is checked against a dummy hash made at start-up, so that both cost the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from command.errors import Unavailable

log = logging.getLogger(__name__)

#: the nice value added to the hashing threads (0 is the loop's; higher yields to it)
HASH_NICENESS = 10


def _lower_priority() -> None:
    """Run in each new hashing thread: lower its own CPU priority (not the process's)."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or not permitted
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICENESS)


class Hasher:
    """Hash and verify passwords in a bounded thread pool (or inline, for the baseline)."""

    def __init__(self, concurrency: int, wait_s: float, inline: bool = False) -> None:
        self.concurrency = concurrency
        self.wait_s = wait_s
        self.inline = inline
        self._argon = PasswordHasher()
        self._dummy = self._argon.hash(secrets.token_urlsafe(16))
        self._slots = asyncio.Semaphore(concurrency)
        self._pool = ThreadPoolExecutor(
            max_workers=concurrency,
            thread_name_prefix="password-hash",
            initializer=_lower_priority,
        )
        #: hashes refused because every slot stayed taken (for the benchmark and logs)
        self.refused = 0

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._argon.verify(password_hash or self._dummy, password) and (
                password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; None (no such user) checks the dummy and is False."""
        if self.inline:
            return self._verify(password_hash, password)
        async with self._slot():
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, self._verify, password_hash, password)

    async def hash(self, password: str) -> str:
        if self.inline:
            return self._argon.hash(password)
        async with self._slot():
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, self._argon.hash, password)

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        acquire = asyncio.ensure_future(self._slots.acquire())
        done, _ = await asyncio.wait({acquire}, timeout=self.wait_s)
        if not done:
            acquire.cancel()
            try:
                await acquire
            except asyncio.CancelledError:
                pass
            else:  # it got a slot just as the wait ended: give it back
                self._slots.release()
            self.refused += 1
            raise Unavailable(
                "sign-in is busy: try again in a moment",
                code="auth.busy",
                retry_after_s=1,
            )
        try:
            yield
        finally:
            self._slots.release()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
