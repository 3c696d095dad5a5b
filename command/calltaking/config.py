"""What call-taking is told: the AMI link and the screen pop's look-back windows."""

from __future__ import annotations

from dataclasses import dataclass

from command.settings import Settings
from telephony.bridge import AmiSettings


@dataclass(frozen=True)
class TelephonyConfig:
    ami: AmiSettings
    enabled: bool = True
    history_days: float = 30.0
    location_minutes: float = 60.0


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
        ),
        enabled=settings.ami_enabled,
        history_days=settings.telephony_history_days,
        location_minutes=settings.telephony_location_minutes,
    )
