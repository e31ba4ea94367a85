"""Configuration from the ``BOXOFFICE_*`` environment."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigurationError(RuntimeError):
    """The installation is not set up for what was asked (no secret key, no database, an old
    schema...): the message says what to do. The CLI prints it as one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOXOFFICE_", extra="ignore")

    #: ``sqlite:///path`` (default: ``./var/boxoffice.db``) or ``postgresql://...``.
    database_url: str = ""
    #: PostgreSQL: the role the application's queries run as (``SET ROLE`` on connect), so
    #: that row-level security applies. Unset: ``boxoffice_app`` when the login role is a
    #: superuser or has BYPASSRLS, else the login role itself (a non-superuser, not the owner).
    database_role: str | None = None
    #: Optional: shared rate-limit and replay state across workers and hosts.
    redis_url: str | None = None
    #: Signs cookies and encrypts stored secrets. Required outside ``demo``.
    secret_key: str | None = None
    #: Outgoing mail; unset means mail is written to ``./var/outbox/``.
    smtp_url: str | None = None
    #: Where ``var`` files live (SQLite database, generated secret, outbox).
    var_dir: Path = Path("var")
    #: Accepted clock skew for signed (System Owner) requests, in seconds.
    signature_window_seconds: int = Field(default=15 * 60, ge=1)
    #: Public base URLs (``https://tickets.example.org``) clients may sign against.
    public_urls: list[str] = Field(default_factory=list)
    #: Largest accepted request body, in bytes.
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    #: Web-mode sessions end after this long without a request...
    session_idle_seconds: int = Field(default=2 * 3600, ge=60)
    #: ...and at the latest this long after login.
    session_absolute_seconds: int = Field(default=24 * 3600, ge=60)
    #: CareCloud device tokens end after this long without a request (30 days)...
    device_token_idle_seconds: int = Field(default=30 * 86400, ge=60)
    #: ...and at the latest this long after they were issued (a year).
    device_token_absolute_seconds: int = Field(default=365 * 86400, ge=60)
    #: Trust ``X-Forwarded-Proto``/``X-Forwarded-For`` (behind a proxy you run).
    trust_proxy_headers: bool = False
    #: Log level for the structured logs.
    log_level: str = "INFO"

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'boxoffice.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The configured secret, else the one generated under ``var`` (demo installs)."""
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        raise ConfigurationError(
            "BOXOFFICE_SECRET_KEY is not set: set it (docs/deploying.md shows how to make one),"
            f" or run `boxoffice demo` to generate one under {self.var_dir}/"
        )

    def ensure_secret_key(self) -> str:
        """Return the secret key, generating one under ``var`` when none is configured."""
        import secrets

        try:
            return self.resolved_secret_key()
        except ConfigurationError:
            self.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = self.var_dir / "secret_key"
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(48) + "\n")
            return path.read_text().strip()
