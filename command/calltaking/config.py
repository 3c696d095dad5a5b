"""What call-taking is told: the AMI link and the screen pop's look-back windows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from command.db_hosts import hosts_of
from command.settings import Settings
from telephony.bridge import AmiSettings


@dataclass(frozen=True)
class TelephonyConfig:
    ami: AmiSettings
    enabled: bool = True
    history_days: float = 30.0
    location_minutes: float = 60.0


def spool_path(settings: Settings) -> Path:
    """Where call events wait while the database is away: one file per database (named by
    its address, not its password), under ``CAD_VAR_DIR``."""
    if settings.database_url is None:
        where = f"embedded:{settings.embedded_port}".encode()
    else:
        url = make_url(settings.database_url)
        servers = hosts_of(settings.database_url)
        # One server keeps the name it always had; several are named by all of them.
        named = f"{url.host}:{url.port}" if len(servers) == 1 else ",".join(servers)
        where = f"{named}/{url.database}".encode()
    return settings.var_dir / "telephony" / f"spool-{hashlib.sha256(where).hexdigest()[:16]}.jsonl"


def config_from(settings: Settings) -> TelephonyConfig:
    """Plain values from the one Settings object."""
    queues = tuple(q.strip() for q in settings.ami_queues.split(",") if q.strip())
    return TelephonyConfig(
        ami=AmiSettings(
            host=settings.ami_host,
            port=settings.ami_port,
            username=settings.ami_username,
            secret=settings.ami_secret,
            queues=queues,
            transfer_context=settings.ami_transfer_context,
            outgoing_context=settings.ami_outgoing_context,
            recording_dir=settings.ami_recording_dir,
            spool_path=str(spool_path(settings)),
        ),
        enabled=settings.ami_enabled,
        history_days=settings.telephony_history_days,
        location_minutes=settings.telephony_location_minutes,
    )
