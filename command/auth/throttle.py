"""How many failed sign-ins are allowed, and how long a caller then waits (pure; no I/O).

Two counters are kept for every failed sign-in (wrong password, wrong or missing second factor,
unknown account), each a fixed window that starts at its first failure:

- per **source address**: ``source_failures`` failures within ``source_window`` make that address
  wait until its window ends, whatever account it names. A flood from one address, and password
  spraying across many accounts from it, stop there, before any password is hashed;
- per **(account, source)**: ``pair_failures`` failures within ``pair_window`` lock that account
  *from that address only*, for ``pair_lock``.

Why a lock per (account, source) and not per account: a lock on the account is the denial of
service the old design had -- five anonymous requests locked a chosen dispatcher out for ten
minutes. With the lock on the pair, a stranger at address A locks only A's attempts at the
account; the dispatcher at her console (address B) signs in as before. Guessing one account from
many addresses is slowed by the per-address counters (each address gets ``pair_failures``
guesses per window), by the list of common and breached passwords every new password is checked
against, and, for the privileged roles, by the second factor; every failure is in the audit log.

Unknown accounts are counted and locked exactly like existing ones, and both answer with the
same code (``auth.credentials_wrong``, then ``auth.throttled``), so the answers do not tell
which accounts exist. The counters live in PostgreSQL (``signin_failures``): they survive a
restart and hold across every ``cad serve`` process. A supervisor's unlock clears an account's
counters from every address.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

#: the account part of the per-address counter's key (no account name is empty)
ANY_ACCOUNT = ""


@dataclass(frozen=True)
class Limit:
    """``failures`` within ``window`` lock the key for ``lock``."""

    failures: int
    window: timedelta
    lock: timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    per_source: Limit
    per_account_source: Limit


@dataclass(frozen=True)
class Counter:
    """One key's failures in its current window, and the lock they led to."""

    failures: int
    window_start: datetime
    locked_until: datetime | None = None


@dataclass(frozen=True)
class Wait:
    """A refusal: the caller must wait ``seconds``; ``scope`` says which counter refused."""

    seconds: int
    scope: str  # source | account


def _wait(counter: Counter | None, now: datetime, scope: str) -> Wait | None:
    if counter is None or counter.locked_until is None or counter.locked_until <= now:
        return None
    return Wait(max(1, math.ceil((counter.locked_until - now).total_seconds())), scope)


def refusal(source: Counter | None, pair: Counter | None, now: datetime) -> Wait | None:
    """Whether an attempt must wait, before any password is looked at (the longer wait wins)."""
    waits = [w for w in (_wait(source, now, "source"), _wait(pair, now, "account")) if w]
    return max(waits, key=lambda w: w.seconds, default=None)


def after_failure(counter: Counter | None, now: datetime, limit: Limit) -> Counter:
    """The counter after one more failure: a new window when the last one is over, and the
    lock once the window holds ``limit.failures``."""
    if counter is None or counter.window_start + limit.window <= now:
        counter = Counter(failures=0, window_start=now)
    failures = counter.failures + 1
    locked = now + limit.lock if failures >= limit.failures else counter.locked_until
    return Counter(failures=failures, window_start=counter.window_start, locked_until=locked)
