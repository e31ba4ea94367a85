"""A request body size limit, answered in each dialect's own error shape."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class PayloadTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit


class BodyLimit:
    """Refuses bodies over ``limit`` bytes with ``render(limit)`` (the dialect's 413).

    At once when ``Content-Length`` says so; else (a chunked body, or a length that lies) while
    reading: the read raises :class:`PayloadTooLarge`, and whatever the application then
    answers (its own 413, or the 400 a framework makes of a failed form parse, or a 500) is
    replaced by the 413, so every dialect and page answers an oversized body the same way.
    """

    def __init__(self, app: ASGIApp, limit: int, render: Callable[[int], Response]) -> None:
        self.app = app
        self.limit = limit
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    await self.render(self.limit)(scope, receive, send)
                    return
        received = 0
        exceeded = False
        answered = False
        replaced = False  # the 413 was sent in place of the application's own answer

        async def limited() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    exceeded = True
                    raise PayloadTooLarge(self.limit)
            return message

        async def nothing() -> Message:
            return {"type": "http.disconnect"}

        async def guarded(message: Message) -> None:
            nonlocal answered, replaced
            if not exceeded:
                answered = answered or message["type"] == "http.response.start"
                await send(message)
            elif not answered:
                answered = replaced = True
                await self.render(self.limit)(scope, nothing, send)
            # else: the application's own answer to the oversized body is dropped.

        try:
            await self.app(scope, limited, guarded)
        except PayloadTooLarge:
            # Starlette answers an unhandled error with a 500 and raises it again; when that
            # answer was replaced by the 413, the error has been answered and ends here.
            if replaced:
                return
            if answered:
                raise
            answered = True
            await self.render(self.limit)(scope, nothing, send)
