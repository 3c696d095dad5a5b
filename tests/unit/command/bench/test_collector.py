"""The load generator's collector: what is alive when a phase starts is left out of it."""

from __future__ import annotations

import gc

from command.bench.collector import frozen_heap


def test_what_is_alive_at_the_start_is_not_walked_until_the_block_ends() -> None:
    before = gc.get_freeze_count()
    connections = [{"socket": n} for n in range(1_000)]
    with frozen_heap():
        assert gc.get_freeze_count() >= before + len(connections)
        assert not any(o is connections for o in gc.get_objects())
        made_during = [{"frame": n} for n in range(10)]
        assert any(o is made_during for o in gc.get_objects())
    assert gc.get_freeze_count() == 0
    assert any(o is connections for o in gc.get_objects())
