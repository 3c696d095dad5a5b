"""The load generator's garbage collector, kept out of what a phase measures.

At 5,000 unit connections and 200 consoles, a full collection in the load generator walks
millions of objects and stops its event loop for up to a second: every position it sends or
receives meanwhile would count as the server's latency. :func:`frozen_heap` leaves what is alive
when a phase starts (the connections, opened before it) out of the collector until the phase
ends, so that its collections during the phase walk only what the phase allocates.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Within the block, the collector does not walk what was alive when it began (the load
    generator freezes nothing else: leaving the block unfreezes everything)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
