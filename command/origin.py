"""Who asks for a change and from where: what every audited action carries down to its service."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    """``actor`` as the audit and event logs name it (``user:alice``, ``device:E1``), and the
    client's address."""

    actor: str
    source: str
