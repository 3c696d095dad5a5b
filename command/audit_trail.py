"""The audit trail as the service holds it: the chain key and checkpoints bound to one engine.

Built once at start-up (the key read, or made on first use, under the audit directory) and
handed to whatever seals or verifies.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from command import audit
from command.audit_checkpoints import Checkpoints
from command.audit_keys import ChainKey, load
from command.settings import Settings


class AuditTrail:
    def __init__(self, engine: AsyncEngine, settings: Settings, *, create_key: bool) -> None:
        self.engine = engine
        self.key = load(settings.audit_path / "chain.key", create=create_key)
        self.checkpoints = Checkpoints(settings.audit_path, self.key, settings.audit_syslog)
        self.checkpoint_every = settings.audit_checkpoint_s

    @staticmethod
    def key_of(settings: Settings) -> ChainKey:
        return load(settings.audit_path / "chain.key", create=False)

    def sealer(self) -> audit.Sealer:
        return audit.Sealer(
            self.engine, self.key, self.checkpoints, checkpoint_every=self.checkpoint_every
        )

    async def seal(self) -> None:
        async with self.engine.connect() as conn:
            await audit.seal(conn, self.key, self.checkpoints)

    async def verify(self, max_unsealed: timedelta = audit.MAX_UNSEALED) -> audit.Verification:
        async with self.engine.connect() as conn:
            return await audit.verify(conn, self.key, self.checkpoints, max_unsealed=max_unsealed)
