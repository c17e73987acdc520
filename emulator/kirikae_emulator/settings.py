"""Settings shared by the emulator's extensions: where the data plane's databases live and how
this emulator instance names what it creates there (so parallel instances never collide)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field


@dataclass
class EmulatorSettings:
    # A short random id; every database and database user this instance creates starts with
    # `db_prefix`, so parallel emulators (parallel tests) never touch each other's data.
    instance_id: str = field(default_factory=lambda: secrets.token_hex(3))
    mysql_host: str = os.environ.get("KIRIKAE_EMU_MYSQL_HOST", "127.0.0.1")
    mysql_port: int = int(os.environ.get("KIRIKAE_EMU_MYSQL_PORT", "3306"))
    mysql_user: str = os.environ.get("KIRIKAE_EMU_MYSQL_USER", "root")
    mysql_password: str = os.environ.get("KIRIKAE_EMU_MYSQL_PASSWORD", "")
    pg_host: str = os.environ.get("KIRIKAE_EMU_PG_HOST", "127.0.0.1")
    pg_port: int = int(os.environ.get("KIRIKAE_EMU_PG_PORT", "5432"))
    pg_user: str = os.environ.get("KIRIKAE_EMU_PG_USER", "postgres")
    pg_password: str = os.environ.get("KIRIKAE_EMU_PG_PASSWORD", "")

    @property
    def db_prefix(self) -> str:
        return f"kemu_{self.instance_id}"
