"""Configuration from the ``BOXOFFICE_*`` environment."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator
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
    #: Public base URLs (``https://tickets.example.org``): clients may sign against them, links
    #: in mail are built from them, and their hosts are accepted in ``Host`` (decision 0090).
    public_urls: list[str] = Field(default_factory=list)
    #: More host names accepted in ``Host`` (e.g. the name a proxy or a partner's server uses),
    #: besides the public URLs' hosts and the loopback names; never used for links when
    #: ``public_urls`` is set. Any other host gets a 400.
    allowed_hosts: list[str] = Field(default_factory=list)
    #: Your reverse proxies (IP addresses or CIDR networks): from them, and only them,
    #: ``X-Forwarded-For``/``-Proto``/``-Host`` are read (decision 0090).
    trusted_proxies: list[str] = Field(default_factory=list)
    #: Largest accepted request body, in bytes.
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    #: Every this many seconds each serving process gives back what expired baskets hold
    #: (``services/baskets.release_expired``; several processes may: decision 0124); 0: never.
    basket_expiry_seconds: float = Field(default=30, ge=0)
    #: Web-mode sessions end after this long without a request...
    session_idle_seconds: int = Field(default=2 * 3600, ge=60)
    #: ...and at the latest this long after login.
    session_absolute_seconds: int = Field(default=24 * 3600, ge=60)
    #: CareCloud device tokens end after this long without a request (30 days)...
    device_token_idle_seconds: int = Field(default=30 * 86400, ge=60)
    #: ...and at the latest this long after they were issued (a year).
    device_token_absolute_seconds: int = Field(default=365 * 86400, ge=60)
    #: Deprecated (``trusted_proxies`` replaces it): trust the connecting peer as a proxy,
    #: whatever its address; its ``X-Forwarded-For`` entries count as clients.
    trust_proxy_headers: bool = False
    #: Log level for the structured logs.
    log_level: str = "INFO"

    @field_validator("public_urls")
    @classmethod
    def _public_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or host_name(parts.netloc) is None:
                raise ValueError(f"not an http(s) base URL: {url!r}")
        return urls

    @field_validator("allowed_hosts")
    @classmethod
    def _allowed_hosts(cls, hosts: list[str]) -> list[str]:
        names = [host_name(host) for host in hosts]
        for host, name in zip(hosts, names, strict=True):
            if name is None:
                raise ValueError(f"not a host name: {host!r}")
        return [name for name in names if name is not None]

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy.strip(), strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or network: {proxy!r}") from None
        return [proxy.strip() for proxy in proxies]

    def accepted_hosts(self) -> frozenset[str]:
        """The host names a request may be addressed to (``Host``), lower case."""
        names = set(LOOPBACK_HOSTS) | set(self.allowed_hosts)
        names.update(host_name(urlsplit(url).netloc) or "" for url in self.public_urls)
        names.discard("")
        return frozenset(names)

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


#: Always accepted in ``Host``: the machine itself (``make demo``, probes on the host).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_HOST = re.compile(r"(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+))(?::[0-9]{1,5})?")


def host_name(value: str) -> str | None:
    """The host name in a ``Host`` value (``name[:port]`` or ``[v6][:port]``), lower case and
    without a trailing dot; None when the value is anything else."""
    found = _HOST.fullmatch(value.strip())
    if found is None:
        return None
    name = (found.group(1) or found.group(2)).lower().rstrip(".")
    return name or None
