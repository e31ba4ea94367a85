"""The reference: a bare ASGI app answering a small JSON object, nothing else.

Served by the same server (uvicorn, uvloop, httptools) with the same worker count as
boxoffice, it is the ceiling any Python service reaches on this machine.
"""

from __future__ import annotations

from typing import Any

BODY = b'{"id":"I-AK11-1ATK","firstName":"Ada","lastName":"Lovelace"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
