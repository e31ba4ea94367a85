from __future__ import annotations

import email
import re
from email.message import Message
from pathlib import Path

import httpx
import pytest

from boxoffice.settings import Settings

ORIGIN = "http://localhost:8080"


class Site:
    """A browser on the venue's website, calling web mode with credentials (cookies)."""

    def __init__(self, client: httpx.AsyncClient, tenant: str) -> None:
        self.client = client
        self.tenant = tenant

    def url(self, path: str) -> str:
        return f"/{self.tenant}/api/v3/{path.lstrip('/')}"

    async def get(self, path: str, **kw: object) -> httpx.Response:
        return await self.client.get(self.url(path), headers={"Origin": ORIGIN}, **kw)  # type: ignore[arg-type]

    async def send(
        self, method: str, path: str, json: object = None, **kw: object
    ) -> httpx.Response:
        headers = {"Origin": ORIGIN, **kw.pop("headers", {})}  # type: ignore[dict-item]
        return await self.client.request(method, self.url(path), json=json, headers=headers, **kw)  # type: ignore[arg-type]

    async def post(self, path: str, json: object = None, **kw: object) -> httpx.Response:
        return await self.send("POST", path, json, **kw)


@pytest.fixture
def site(http: httpx.AsyncClient, tenant: tuple[str, int]) -> Site:
    return Site(http, tenant[0])


def outbox(settings: Settings) -> list[Message]:
    directory = Path(settings.var_dir) / "outbox"
    if not directory.exists():
        return []
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(directory.glob("*.eml"))]


def mailed_link(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode()  # type: ignore[union-attr]
            match = re.search(r"https?://\S+", text)
            assert match, text
            return match.group(0)
    raise AssertionError("no text part")


def token_of(link: str) -> str:
    match = re.search(r"token=([A-Za-z0-9_\-]+)", link)
    assert match, link
    return match.group(1)
