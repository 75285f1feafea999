"""One settings object for the whole platform; nothing else reads os.environ."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Platform settings, read from DOUDI_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="DOUDI_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where the embedded database, uploads and logs live.")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means a SQLite file under data_dir.")
    secret_key: str = Field(default="", description="Signing key; empty means a random key kept in data_dir.")
    audit_key: str = Field(default="", description="Key of the audit chain's HMAC; empty means a random key kept "
                                                   "in data_dir (never in the database).")
    demo: bool = Field(default=False, description="Demo mode: one-time codes go to the log.")
    log_level: str = "INFO"
    session_minutes: int = Field(default=30, description="Idle web session lifetime.")
    token_minutes: int = Field(default=60, description="API bearer token lifetime.")
    max_failed_logins: int = Field(default=5, description="Failed logins before an account locks.")
    lockout_minutes: int = Field(default=15)
    secure_cookies: bool = Field(default=False, description="Set the Secure flag; turn on behind HTTPS.")
    otp_provider: str = Field(default="log", description="One-time code sender: 'log' or a dotted path.")
    timezone: str = Field(default="Asia/Shanghai", description="Times are stored in UTC and shown in this zone.")
    feed_max_rows: int = Field(default=20_000_000, gt=0, description="Data rows one feed file may hold through "
                               "the command line (a year of a large county's monthly tax rows).")
    feed_upload_max_rows: int = Field(default=1_000_000, gt=0, description="Data rows one feed uploaded through "
                                      "the console or API may hold; a compressed Parquet or XLSX can carry "
                                      "far more rows than its size suggests.")
    web_threads: int = Field(default=12, ge=1, le=200, description="Requests one server process works on at "
                             "once (its thread pool); more wait their turn in order. Python runs one thread at a time, "
                             "so beyond a few per core more threads only lengthen the slowest answers.")
    keepalive_requests: int = Field(default=20, ge=0, description="Answers on one kept-alive connection before "
                                    "the server asks the client to reconnect, so that the worker processes share "
                                    "the clients evenly (0: never).")
    audit_seal_seconds: float = Field(default=5, ge=0, description="How often each server process signs new "
                                      "audit entries into a sealed batch (0: only the daily job, backups and "
                                      "`doudi audit verify` seal).")
    host: str = "127.0.0.1"
    port: int = 8000

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'doudi.db').as_posix()}"

    def resolved_secret_key(self) -> str:
        """The signing key; a random one is created once and kept outside the repository."""
        return self.secret_key or self._kept_key("secret_key")

    def resolved_audit_key(self) -> str:
        """The audit chain's HMAC key: DOUDI_AUDIT_KEY, or a random one created once beside the database (a
        production installation sets it, and keeps it away from the database and its backups)."""
        return self.audit_key or self._kept_key("audit_key")

    def _kept_key(self, name: str) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / name
        if not path.exists():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others
            except FileExistsError:  # another process created it first
                return path.read_text().strip()
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached)."""
    return Settings()
