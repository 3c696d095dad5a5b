"""The relay's payloads: compact, under PostgreSQL's limit, and read back as they were sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from command.tracking.relay_pg import PAYLOAD_LIMIT, decode, encode
from dispatch.avl.fixes import Fix

T0 = datetime(2026, 5, 1, 8, 0, 0, 123000, tzinfo=UTC)


def _fixes(n: int, unit: str = "E{i}") -> list[Fix]:
    return [
        Fix(
            unit.format(i=i),
            9.5212345 + i / 1e6,
            47.1412345,
            T0 + timedelta(seconds=i),
            T0 + timedelta(seconds=i, milliseconds=250),
            "terminal",
            accuracy_m=4.5,
            speed_mps=13.25,
            heading_deg=271.0,
            altitude_m=455.0,
            battery_pct=None,
        )
        for i in range(n)
    ]


def test_a_fix_reads_back_as_it_was_sent() -> None:
    [sent] = _fixes(1)
    [payload] = encode("abc", [sent])
    origin, [got] = decode(payload)
    assert origin == "abc"
    assert got == sent


def test_many_fixes_share_a_notification_and_none_reaches_the_limit() -> None:
    fixes = _fixes(1000)
    payloads = encode("0123456789ab", fixes)
    assert all(len(p.encode()) < PAYLOAD_LIMIT for p in payloads)
    assert len(payloads) <= 1000 * 100 // PAYLOAD_LIMIT + 1  # about 70 bytes a fix
    # Coordinates travel to 1e-7 degree (about 1 cm).
    sent = [replace(f, lon=round(f.lon, 7), lat=round(f.lat, 7)) for f in fixes]
    assert [f for p in payloads for f in decode(p)[1]] == sent


def test_long_unit_ids_in_any_script_still_fit() -> None:
    fixes = _fixes(300, unit="消防中队-{i}-" + "车" * 40)
    payloads = encode("o", fixes)
    assert all(len(p.encode()) < 8000 for p in payloads)
    assert [f.unit_id for p in payloads for f in decode(p)[1]] == [f.unit_id for f in fixes]


def test_a_payload_that_is_not_ours_is_refused() -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        decode('{"hello": 1}')
