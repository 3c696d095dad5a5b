"""Breadcrumbs written in batches: the ``PositionWriter`` of the running service.

``write`` only queues (it never waits for the database) and hands back a future that is
resolved once the fixes are committed: that is when a terminal gets its ack. One task takes
the queue out in batches of at most ``batch_size`` fixes, each batch one multi-row insert and
the update of its units' latest positions in one transaction, committed synchronously (the
WAL on disk before the ack: neither the death of this process nor a crash of the database
server loses what was acknowledged; one flush covers the whole batch). With ``interval_s`` 0
(the default) this is a group commit: whatever queued while one batch was written is the next
batch, written at once, so batches grow with the load and an ack waits about one batch's round
trip.

Nothing queued is dropped while the database is away: the batch stays at the head of the queue
and is retried, with a growing pause, until it is written. The queue is bounded
(``queue_limit`` fixes): when it is full, ``write`` refuses the new fixes with
``positions.overloaded`` instead of accepting what it cannot keep, so the device keeps them in
its buffer and sends them again (the unit terminal protocol buffers offline fixes anyway).
A batch the database refuses for its content (it cannot happen to checked fixes, but a bug must
not stall every unit) is written fix by fix and only the refused ones are dropped, and logged.
``stop`` writes what is queued, waiting at most ``stop_timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from command.errors import Unavailable
from command.health import PartHealth
from dispatch.avl import store
from dispatch.avl.fixes import Fix
from dispatch.avl.partitions import PARENT

log = logging.getLogger(__name__)


class PositionsOverloaded(Unavailable):
    """The writer's queue is full: the fixes were not taken; send them again later."""

    code = "positions.overloaded"


class WriterStopped(Unavailable):
    """The service is shutting down and takes no more positions."""

    code = "positions.writer_stopped"


@dataclass(frozen=True)
class WriterPolicy:
    batch_size: int = 5_000
    #: the longest the first queued fix waits for its batch to fill (0: not at all)
    interval_s: float = 0.0
    queue_limit: int = 200_000
    retry_first_s: float = 0.05
    retry_max_s: float = 2.0
    stop_timeout_s: float = 10.0


@dataclass(eq=False)
class _Waiter:
    """One ``write`` call's fixes (ordinals ``start`` to ``end``) and its future."""

    start: int
    end: int
    stored: asyncio.Future[int] = field(repr=False)


class BatchedPositionWriter:
    """Queues fixes and writes them in batches; built once by the bootstrap."""

    def __init__(
        self,
        engine: AsyncEngine,
        policy: WriterPolicy = WriterPolicy(),
        *,
        table: str = PARENT,
        update_latest: bool = True,
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.table = table
        self.update_latest = update_latest
        self._queue: deque[Fix] = deque()
        self._wake = asyncio.Event()
        self._progressed = asyncio.Event()
        self._oldest_at = 0.0
        self._taken = 0  # fixes accepted by write, ever
        self._done = 0  # fixes written or dropped, ever
        self._flush_to = 0
        self._waiters: deque[_Waiter] = deque()
        #: ordinals of fixes dropped as refused, not yet counted against their waiter
        self._dropped_at: list[int] = []
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        #: counters for health and benchmarks
        self.written = 0
        self.refused = 0
        self.dropped = 0
        self.retries = 0
        self.batches = 0
        self.failing = False

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="positions writer")

    async def write(self, fixes: Sequence[Fix]) -> asyncio.Future[int]:
        """Queue ``fixes`` for the next batch, or refuse them all when the queue is full.

        The future returned is resolved once they are committed, with how many of them were
        stored (a fix the database refused for its content is not), or fails with
        ``WriterStopped`` when the service stopped before it could write them."""
        stored: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if not fixes:
            stored.set_result(0)
            return stored
        if self._stopping:
            raise WriterStopped("the service is stopping and takes no more positions")
        limit = self.policy.queue_limit
        if len(self._queue) + len(fixes) > limit:
            self.refused += len(fixes)
            raise PositionsOverloaded(
                f"{len(self._queue)} positions wait to be stored (at most {limit}): "
                f"{len(fixes)} refused, send them again later",
                queued=len(self._queue),
                limit=limit,
                refused=len(fixes),
            )
        if not self._queue:
            self._oldest_at = asyncio.get_running_loop().time()
            self._wake.set()
        self._queue.extend(fixes)
        self._waiters.append(_Waiter(self._taken, self._taken + len(fixes), stored))
        self._taken += len(fixes)
        if len(self._queue) >= self.policy.batch_size or self.policy.interval_s <= 0:
            self._wake.set()
        return stored

    async def flush(self) -> None:
        """Return once every fix queued before the call is written (or dropped as refused)."""
        target = self._taken
        self._flush_to = max(self._flush_to, target)
        self._wake.set()
        while self._done < target:
            if self._task is None or self._task.done():
                raise WriterStopped("the positions writer is not running")
            self._progressed.clear()
            await self._progressed.wait()

    async def stop(self) -> None:
        """Take no more fixes, write what is queued (within ``stop_timeout_s``), stop."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), self.policy.stop_timeout_s)
        except TimeoutError:
            log.error("positions writer stopped with %d positions not written", len(self._queue))
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            self._abandon()

    def _abandon(self) -> None:
        """Fail the futures of fixes that were not written: their senders get no ack."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.stored.done():
                waiter.stored.set_exception(
                    WriterStopped("the service stopped before these positions were stored")
                )

    async def health(self) -> PartHealth:
        if self.failing:
            return PartHealth("degraded", f"retrying; {len(self._queue)} positions queued")
        return PartHealth("ok", f"{len(self._queue)} positions queued")

    # -- the batching task ---------------------------------------------------------------------

    def _due(self) -> float:
        """Seconds until the queue must be written (0: now)."""
        if (
            self._stopping
            or len(self._queue) >= self.policy.batch_size
            or self._done < self._flush_to
        ):
            return 0.0
        waited = asyncio.get_running_loop().time() - self._oldest_at
        return max(0.0, self.policy.interval_s - waited)

    async def _run(self) -> None:
        pause = self.policy.retry_first_s
        while True:
            if not self._queue:
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            due = self._due()
            if due > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), due)
                continue
            batch = list(itertools.islice(self._queue, self.policy.batch_size))
            try:
                try:
                    await self._store(batch)
                except (DataError, IntegrityError):
                    log.exception("a batch of %d positions was refused: one by one", len(batch))
                    await self._one_by_one(batch)
                else:
                    self._done_with(len(batch))
                    self.written += len(batch)
            except Exception as exc:  # the database is away: keep the batch, try again
                self.retries += 1
                if not self.failing:
                    log.warning("positions not written, retrying: %s", exc)
                self.failing = True
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.policy.retry_max_s)
                continue
            if self.failing:
                log.info("positions written again after %d retries", self.retries)
            self.failing = False
            pause = self.policy.retry_first_s

    async def _store(self, batch: Sequence[Fix]) -> None:
        async with self.engine.begin() as conn:
            await store.write_batch(conn, batch, self.table, self.update_latest)
        self.batches += 1

    async def _one_by_one(self, batch: Sequence[Fix]) -> None:
        """Each fix in its own transaction; the ones refused for their content are dropped."""
        for fix in batch:
            try:
                await self._store([fix])
            except (DataError, IntegrityError) as exc:
                self.dropped += 1
                self._dropped_at.append(self._done)
                log.error("position of %s at %s dropped: %s", fix.unit_id, fix.device_time, exc)
            else:
                self.written += 1
            self._done_with(1)

    def _done_with(self, n: int) -> None:
        for _ in range(n):
            self._queue.popleft()
        self._done += n
        self._oldest_at = asyncio.get_running_loop().time()
        self._progressed.set()
        while self._waiters and self._waiters[0].end <= self._done:
            waiter = self._waiters.popleft()
            dropped = sum(1 for at in self._dropped_at if waiter.start <= at < waiter.end)
            if dropped:
                self._dropped_at = [at for at in self._dropped_at if at >= waiter.end]
            if not waiter.stored.done():
                waiter.stored.set_result(waiter.end - waiter.start - dropped)
