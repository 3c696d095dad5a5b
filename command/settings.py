"""Settings, built once at start-up from the environment (``CAD_`` prefix) and ``.env``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from command.db_hosts import sqlalchemy_form


class Settings(BaseSettings):
    """Everything the service can be told. Passed down from the wiring; never read globally."""

    model_config = SettingsConfigDict(env_prefix="CAD_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="postgresql+asyncpg://user:pass@host:port/db; unset = embedded cluster in "
        "var/. Several servers: user:pass@h1:p1,h2:p2/db?target_session_attrs=read-write",
    )
    database_admin_url: str | None = Field(
        default=None,
        description="the owner's URL, for migrations and audit archiving; unset = the embedded "
        "cluster's superuser, or CAD_DATABASE_URL itself (then the roles are not separated)",
    )
    var_dir: Path = Field(default=Path("var"), description="where the embedded cluster lives")
    backup_dir: Path | None = Field(
        default=None,
        description="base backups of the embedded cluster and its WAL archive (in wal/); "
        "unset = var/backups",
    )
    embedded_port: int = Field(default=54329, ge=1024, le=65535)
    supervisor_state: Path | None = Field(
        default=None,
        description="set by `cad serve`'s supervisor for its app worker: the supervisor's state "
        "file, read by the health; unset = not supervised by cad (systemd restarts it)",
    )
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_statement_timeout_ms: int = Field(default=10_000, ge=100)
    db_connect_timeout_s: float = Field(
        default=5.0, gt=0, description="a new connection, and a free one from the pool"
    )

    # What one request may carry: bodies per route (a small one for sign-in), the time a body
    # has to arrive, and the size of one websocket message.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_login_body_bytes: int = Field(default=16_384, ge=1024)
    body_timeout_s: float = Field(default=10.0, gt=0)
    max_ws_message_bytes: int = Field(default=1_048_576, ge=1024)
    # A websocket whose peer vanished without closing (a vehicle in a tunnel) is found by its
    # pings: one that is not answered in ws_ping_timeout_s closes it.
    ws_ping_interval_s: float = Field(
        default=3.0, gt=0, le=300, description="how often every websocket is pinged"
    )
    ws_ping_timeout_s: float = Field(
        default=4.0, gt=0, le=300, description="how long a ping may wait for its answer"
    )
    import_statement_timeout_ms: int = Field(
        default=600_000, ge=1_000, description="one statement of `cad gis import-osm` at most"
    )
    geocode_snapshots: bool = Field(
        default=True,
        description="share each region's built address index with other processes as a file"
        " mapped from var/geocode/ (written once per import)",
    )

    def for_import(self) -> Settings:
        """These settings for a process that imports a region: the database client's deadline
        (statement timeout + 2 s) must outlast the import's own, longer, statement timeout."""
        return self.model_copy(update={"db_statement_timeout_ms": self.import_statement_timeout_ms})

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    session_idle_minutes: float = Field(default=30.0, gt=0)
    lockout_failures: int = Field(
        default=5, ge=1, description="failed sign-ins locking an account from one address"
    )
    lockout_minutes: float = Field(default=10.0, gt=0)
    device_token_days: float = Field(
        default=365.0, gt=0, le=3650, description="how long a new device token is valid"
    )
    allowed_origins: str = Field(
        default="",
        description="comma-separated browser origins besides the service's own that may open "
        "its websockets, e.g. https://cad.example",
    )
    tls_cert: Path | None = Field(default=None, description="PEM certificate: cad serve on TLS")
    tls_key: Path | None = Field(
        default=None, validate_default=True, description="PEM private key of CAD_TLS_CERT"
    )
    login_source_failures: int = Field(
        default=30, ge=1, description="failed sign-ins from one address before it must wait"
    )
    login_source_minutes: float = Field(
        default=10.0, gt=0, description="the window of an address's failures, and its wait"
    )
    auth_hash_concurrency: int = Field(
        default=2, ge=1, le=64, description="password hashes at once (each in its own thread)"
    )
    auth_hash_wait_s: float = Field(
        default=2.0, gt=0, le=60, description="how long a sign-in waits for a hashing slot"
    )
    auth_hash_inline: bool = Field(
        default=False,
        description="hash on the event loop (the old design; only for `cad bench login`)",
    )
    totp_required_roles: str = Field(
        default="admin,supervisor,leader",
        description="comma list of roles that must sign in with a second factor (TOTP)",
    )

    event_queue_size: int = Field(default=10_000, ge=10)
    tracking_rate_hz: float = Field(
        default=0.0,
        ge=0,
        le=50,
        description="at most this many position batches a second to each console "
        "(0: as fast as its socket takes them, coalescing only while it is busy)",
    )

    # The Asterisk AMI link and the screen pop windows.
    ami_enabled: bool = Field(default=True, description="connect to Asterisk AMI")
    ami_host: str = "127.0.0.1"
    ami_port: int = Field(default=5038, ge=1, le=65535)
    ami_username: str = "cad"
    ami_secret: str = Field(default="", description="AMI secret (manager.conf)")
    ami_queues: str = Field(default="emergency", description="comma-separated queue names")
    ami_transfer_context: str = "agents"
    ami_outgoing_context: str = "outgoing"
    ami_recording_dir: str = "/var/spool/asterisk/monitor"
    telephony_history_days: float = Field(default=30.0, gt=0, description="screen pop history")
    telephony_location_minutes: float = Field(default=60.0, gt=0, description="pushed location age")
    incidents_config: Path | None = Field(
        default=None,
        description="JSON file: incident taxonomy, run cards, duplicate window, timers, targets",
    )

    # Live unit tracking: positions from terminals and trackers, geofences.
    arrival_radius_m: float = Field(
        default=80.0, gt=0, le=5000, description="a unit this close to its incident has arrived"
    )
    arrival_sets_on_scene: bool = Field(
        default=False, description="arrival by geofence reports on scene (else only suggests)"
    )
    hazard_zone_kinds: str = Field(
        default="hazard,chemical_site,flood,fire",
        description="comma-separated zone kinds whose entry is an event for dispatchers",
    )
    position_tolerance_s: float = Field(
        default=30.0, ge=0, le=600, description="how long late positions are waited for"
    )
    position_max_future_s: float = Field(
        default=120.0, gt=0, le=3600, description="device times further ahead are refused"
    )
    osmand_port: int | None = Field(
        default=None, ge=1, le=65535, description="also take OsmAnd reports at / on this port"
    )
    terminal_rate_per_s: float = Field(
        default=20.0, gt=0, le=10_000, description="messages a second one terminal may send"
    )
    terminal_burst: float = Field(
        default=60.0, ge=1, le=100_000, description="messages a terminal may send at once"
    )
    terminal_key_days: float = Field(
        default=7.0, gt=0, description="how long terminal idempotency keys are kept"
    )
    terminal_recent_keys: int = Field(
        default=64,
        ge=1,
        le=1_000_000,
        description="position keys remembered per device to answer a replay as a duplicate",
    )
    idempotency_running_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="after this, a retry of a keyed request whose first attempt never reported "
        "back (its process died) is told the outcome is unknown",
    )
    # Breadcrumbs: batched writes, daily partitions, retention.
    position_batch_size: int = Field(default=5_000, ge=1, le=50_000)
    position_flush_ms: float = Field(
        default=0.0,
        ge=0,
        le=60_000,
        description="the longest a position waits for its batch to fill (0: group commit)",
    )
    position_queue_limit: int = Field(
        default=200_000, ge=1, description="positions waiting to be stored; beyond, refused"
    )
    position_retention_days: float = Field(
        default=90.0, gt=0, description="positions older are dropped (not those on incidents)"
    )
    position_partitions_ahead_days: int = Field(default=3, ge=1, le=60)
    position_maintenance_minutes: float = Field(default=60.0, gt=0)
    position_compact_after_hours: float = Field(
        default=6.0, ge=0, description="a day over this long is rewritten in (unit, time) order"
    )
    track_max_window_hours: float = Field(
        default=7 * 24.0, gt=0, description="the longest time window one playback may read"
    )

    plans_timezone: str = Field(
        default="Europe/Vaduz", description="local time of plans' time windows (night, weekend)"
    )
    demo_calls_per_minute: float = Field(default=4.0, gt=0, le=600)
    demo_vehicles: int = Field(
        default=8, ge=0, le=5000, description="simulated vehicles the demo drives (0: none)"
    )
    demo_position_s: float = Field(
        default=3.0, gt=0, le=60, description="how often a simulated vehicle reports"
    )
    demo_on_scene_s: float = Field(
        default=90.0, ge=0, description="how long a simulated vehicle stays on scene"
    )
    region: str = Field(default="liechtenstein", description="the region this centre covers")
    shared_dir: Path = Field(
        default=Path("../shared"), description="shared data: OSM extracts, AMI fixtures"
    )

    # Recordings and stills attached to incidents (command.consulting.files).
    attachment_dir: Path | None = Field(
        default=None,
        description="recordings and stills, named by checksum; unset = var/attachments",
    )
    attachment_max_mb: int = Field(
        default=4096, ge=1, le=1_000_000, description="the largest file attached to an incident"
    )
    consultation_bitrate_kbps: int = Field(
        default=1500,
        ge=64,
        le=20_000,
        description="what each participant of a consultation may send, unless the host says",
    )
    # The media plane (video.janus): a Janus reached over its websocket API.
    janus_url: str | None = Field(
        default=None, description="Janus's websocket API (ws://host:8188); unset = no video"
    )
    janus_private: bool = Field(
        default=True,
        description="with no CAD_JANUS_URL, the supervisor runs a private Janus under var/janus",
    )
    janus_api_secret: str = Field(
        default="", description="Janus's API secret (its janus.jcfg api_secret)"
    )
    janus_recordings_dir: Path | None = Field(
        default=None,
        description="where Janus writes recordings, as this host sees the folder (Janus on "
        "another host: a shared folder); unset = consultations are not recorded",
    )
    video_max_publishers: int = Field(
        default=12, ge=2, le=64, description="how many participants of a room may send at once"
    )
    video_stun: str = Field(
        default="", description="STUN servers for participants, comma-separated stun: URLs"
    )
    video_turn: str = Field(
        default="", description="TURN servers for participants, comma-separated turn: URLs"
    )
    video_turn_secret: str = Field(
        default="", description="the secret shared with the TURN server (use-auth-secret)"
    )
    video_turn_ttl_s: int = Field(
        default=12 * 3600, ge=60, le=7 * 86400,
        description="how long a participant's TURN credentials stay valid",
    )

    # The audit chain's key and checkpoints live outside the database (default under var/audit).
    audit_dir: Path | None = Field(
        default=None, description="the audit key and seal checkpoints; unset = var/audit"
    )
    audit_checkpoint_s: float = Field(
        default=1.0, gt=0, le=3600, description="how often the chain's head is sealed outside"
    )
    audit_retention_days: int = Field(
        default=366, ge=366, description="audit rows are kept at least this long before archiving"
    )
    audit_syslog: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9.\-]*:[0-9]{1,5}$",
        description="host:port of a syslog receiver (UDP) for the seal checkpoints",
    )

    @field_validator("database_url", "database_admin_url")
    @classmethod
    def _asyncpg_driver(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value.startswith(("postgresql://", "postgres://")):
            value = "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError("a database URL must be a postgresql:// URL")
        # Several servers (h1:p1,h2:p2), as libpq writes them: in the form SQLAlchemy reads.
        return sqlalchemy_form(value)

    @field_validator("tls_key")
    @classmethod
    def _tls_pair(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if (value is None) != (info.data.get("tls_cert") is None):
            raise ValueError("CAD_TLS_CERT and CAD_TLS_KEY go together: set both or neither")
        return value

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def cluster_dir(self) -> Path:
        return self.var_dir / "pg"

    @property
    def backup_path(self) -> Path:
        return self.backup_dir if self.backup_dir is not None else self.var_dir / "backups"

    @property
    def wal_archive_path(self) -> Path:
        return self.backup_path / "wal"

    @property
    def geocode_snapshot_dir(self) -> Path | None:
        return self.var_dir / "geocode" if self.geocode_snapshots else None

    @property
    def audit_path(self) -> Path:
        return self.audit_dir if self.audit_dir is not None else self.var_dir / "audit"

    @property
    def attachment_path(self) -> Path:
        if self.attachment_dir is not None:
            return self.attachment_dir
        return self.var_dir / "attachments"
